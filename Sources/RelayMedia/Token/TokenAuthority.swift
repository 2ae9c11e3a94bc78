import Foundation
import RelayCore

/// Issues and checks the server's HS256 JWTs (RFC 7519) with the rules of PROTOCOL §1.
///
/// The secret is used as given (raw bytes, not decoded); trimming the secret file is the
/// caller's job. `typ` in the header is not checked (RFC 7519 §5.1 makes it advisory); a `crit`
/// header is refused since no extension is understood. Base64url parts must be unpadded and
/// canonical.
public struct TokenAuthority: Sendable {
    /// Tokens longer than this are refused unread.
    public static let maxTokenLength = 8192

    private let secret: [UInt8]
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    public let leewaySeconds: Int

    public init(secret: [UInt8], leewaySeconds: Int = 30) {
        self.secret = secret
        self.leewaySeconds = leewaySeconds
    }

    /// A compact JWT `header.claims.signature` carrying `claims`.
    public func sign(_ claims: TokenClaims) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let body = Base64URL.encode(Array(claims.json.utf8))
        let signingInput = header + "." + body
        let mac = HMACSHA256.authenticate(key: secret, message: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(mac)
    }

    /// The claims of `token` if it is a valid, unexpired HS256 token signed with our secret.
    ///
    /// - Parameter now: the current time in unix seconds.
    public func verify(_ token: String, now: Int64) throws(TokenError) -> TokenClaims {
        guard token.utf8.count <= Self.maxTokenLength else { throw .malformed("longer than 8 KiB") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("\(parts.count) parts instead of 3") }

        let header = try Self.object(parts[0], what: "header")
        guard let alg = header["alg"]?.stringValue else { throw .malformed("header has no alg") }
        guard alg.lowercased() != "none" else { throw .algorithmNone }
        guard alg == "HS256" else { throw .unsupportedAlgorithm(alg) }
        guard header["crit"] == nil else { throw .malformed("header has crit extensions, none are supported") }

        guard let signature = Base64URL.decode(parts[2]) else { throw .malformed("signature is not base64url") }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let expected = HMACSHA256.authenticate(key: secret, message: signingInput)
        guard ConstantTime.equals(signature, expected) else { throw .badSignature }

        let claims = try Self.object(parts[1], what: "claims")
        let leeway = Int64(leewaySeconds)
        guard let exp = try Self.seconds(claims, "exp") else { throw .missingExpiry }
        guard now <= exp.addingClamped(leeway) else { throw .expired(exp: exp, now: now) }
        if let nbf = try Self.seconds(claims, "nbf"), now.addingClamped(leeway) < nbf {
            throw .notYetValid(nbf: nbf, now: now)
        }
        guard let sub = try Self.string(claims, "sub"), !sub.isEmpty else { throw .missingSubject }
        guard let roleName = try Self.string(claims, "role") else { throw .missingRole }
        guard let role = Role(rawValue: roleName) else { throw .unknownRole(roleName) }
        return TokenClaims(
            sub: sub,
            role: role,
            unit: try Self.string(claims, "unit"),
            window: try Self.string(claims, "window"),
            name: try Self.string(claims, "name"),
            sid: try Self.string(claims, "sid"),
            exp: exp,
            iat: try Self.seconds(claims, "iat")
        )
    }

    /// Seconds in a TTL such as `90s`, `30m`, `8h`, `2d` or a bare `3600`; `nil` when it is not
    /// a positive whole number with one of those units (or none).
    public static func parseTTL(_ s: String) -> Int? {
        var digits = Substring(s)
        var unit = 1
        if let last = s.last, !last.isNumber {
            switch last {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let n = Int(digits), n > 0
        else { return nil }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? nil : seconds
    }

    // MARK: - Parsing parts

    private static func object(_ part: Substring, what: String) throws(TokenError) -> [String: JSONValue] {
        guard let bytes = Base64URL.decode(part) else { throw .malformed("\(what) is not base64url") }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)),
            let object = value.objectValue
        else { throw .malformed("\(what) is not a JSON object") }
        return object
    }

    /// A string claim; `nil` when absent or null.
    private static func string(_ claims: [String: JSONValue], _ key: String) throws(TokenError) -> String? {
        guard let value = claims[key], !value.isNull else { return nil }
        guard let s = value.stringValue else { throw .malformed("claim \(key) is not a string") }
        return s
    }

    /// A NumericDate claim (RFC 7519 §2) in whole seconds, fractions dropped; `nil` when absent.
    private static func seconds(_ claims: [String: JSONValue], _ key: String) throws(TokenError) -> Int64? {
        guard let value = claims[key], !value.isNull else { return nil }
        guard let n = value.doubleValue, n.isFinite, abs(n) < 9.0e15 else {
            throw .malformed("claim \(key) is not a number of seconds")
        }
        return Int64(n.rounded(.down))
    }
}

extension Int64 {
    fileprivate func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
