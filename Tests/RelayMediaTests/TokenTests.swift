import RelayCore
import RelayMedia
import Testing

@Suite struct TokenTests {
    let secret = Array("correct horse battery staple".utf8)
    let now: Int64 = 1_800_000_000
    var authority: TokenAuthority { TokenAuthority(secret: secret) }

    /// A token with any header and claims JSON, signed with `key`.
    func token(header: String = #"{"alg":"HS256","typ":"JWT"}"#, claims: String, key: [UInt8]? = nil) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let mac = HMACSHA256.authenticate(key: key ?? secret, message: Array(input.utf8))
        return input + "." + Base64URL.encode(mac)
    }

    func refusal(_ token: String, now: Int64? = nil) -> TokenError? {
        do {
            _ = try authority.verify(token, now: now ?? self.now)
            return nil
        } catch {
            return error
        }
    }

    @Test func signThenVerifyRoundTrip() throws {
        let claims = TokenClaims(
            sub: "u1", role: .clerk, unit: "qd-xihaian", window: "w3", name: "王 \"Li\"\n", exp: now + 3600, iat: now
        )
        let token = authority.sign(claims)
        #expect(token.split(separator: ".").count == 3)
        let back = try authority.verify(token, now: now)
        #expect(back == claims)
        let identity = Identity(sub: "u1", role: .clerk, unit: "qd-xihaian", window: "w3", name: "王 \"Li\"\n")
        #expect(back.identity == identity)
    }

    @Test func applicantTokenCarriesSessionScope() throws {
        let identity = Identity(sub: "a1", role: .applicant, sessionScope: "s_9")
        let claims = TokenClaims(identity: identity, issuedAt: now, ttlSeconds: 600)
        let back = try authority.verify(authority.sign(claims), now: now + 10)
        #expect(back.identity.sessionScope == "s_9")
        #expect(back.exp == now + 600)
    }

    @Test func refusesAlgNone() {
        let unsigned = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "."
            + Base64URL.encode(Array(#"{"sub":"u1","role":"ops","exp":1900000000}"#.utf8)) + "."
        #expect(refusal(unsigned) == .algorithmNone)
    }

    @Test func refusesOtherAlgorithms() {
        let t = token(header: #"{"alg":"HS512","typ":"JWT"}"#, claims: #"{"sub":"u1","role":"ops","exp":1900000000}"#)
        #expect(refusal(t) == .unsupportedAlgorithm("HS512"))
    }

    @Test func refusesBadSignature() {
        let t = token(claims: #"{"sub":"u1","role":"ops","exp":1900000000}"#, key: Array("other".utf8))
        #expect(refusal(t) == .badSignature)
        // A claims part swapped after signing.
        let good = authority.sign(TokenClaims(sub: "u1", role: .clerk, exp: now + 60))
        let parts = good.split(separator: ".")
        let forged = parts[0] + "." + Base64URL.encode(Array(#"{"sub":"u1","role":"ops","exp":1900000000}"#.utf8))
            + "." + parts[2]
        #expect(refusal(String(forged)) == .badSignature)
    }

    @Test func refusesMissingExpiry() {
        #expect(refusal(token(claims: #"{"sub":"u1","role":"ops"}"#)) == .missingExpiry)
    }

    @Test func expiryHonoursLeeway() {
        let t = authority.sign(TokenClaims(sub: "u1", role: .clerk, exp: now))
        #expect(refusal(t, now: now + 30) == nil)
        #expect(refusal(t, now: now + 31) == .expired(exp: now, now: now + 31))
    }

    @Test func acceptsFractionalNumericDate() throws {
        let t = token(claims: #"{"sub":"u1","role":"ops","exp":1800000100.5,"iat":1.8e9}"#)
        let claims = try authority.verify(t, now: now)
        #expect(claims.exp == 1_800_000_100)
        #expect(claims.iat == now)
    }

    @Test func refusesMissingSubjectAndRole() {
        #expect(refusal(token(claims: #"{"role":"ops","exp":1900000000}"#)) == .missingSubject)
        #expect(refusal(token(claims: #"{"sub":"","role":"ops","exp":1900000000}"#)) == .missingSubject)
        #expect(refusal(token(claims: #"{"sub":"u1","exp":1900000000}"#)) == .missingRole)
    }

    @Test func refusesUnknownRole() {
        #expect(refusal(token(claims: #"{"sub":"u1","role":"admin","exp":1900000000}"#)) == .unknownRole("admin"))
    }

    @Test func refusesGarbage() {
        for garbage in ["", "abc", "a.b", "a.b.c.d", "!!!.???.***", "e30.e30.", token(claims: "[1,2]")] {
            guard case .malformed = refusal(garbage) else {
                Issue.record("\(garbage) was not refused as malformed")
                continue
            }
        }
        #expect(refusal(token(claims: #"{"sub":1,"role":"ops","exp":1900000000}"#)) != nil)
        #expect(refusal(token(claims: #"{"sub":"u1","role":"ops","exp":"soon"}"#)) != nil)
    }

    @Test func refusalsMapToUnauthorized() {
        #expect(TokenError.badSignature.refusal.code == .unauthorized)
        #expect(!TokenError.unknownRole("x").description.isEmpty)
    }

    @Test func parsesTTL() {
        #expect(TokenAuthority.parseTTL("90s") == 90)
        #expect(TokenAuthority.parseTTL("30m") == 1800)
        #expect(TokenAuthority.parseTTL("8h") == 28800)
        #expect(TokenAuthority.parseTTL("2d") == 172_800)
        #expect(TokenAuthority.parseTTL("3600") == 3600)
        for bad in ["", "h", "0", "-5m", "5x", "1.5h", " 8h", "8 h", "99999999999999999999d"] {
            #expect(TokenAuthority.parseTTL(bad) == nil, "\(bad)")
        }
    }
}
