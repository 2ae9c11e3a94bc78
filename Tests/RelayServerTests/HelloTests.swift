import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Connection and identity (PROTOCOL §1, §2)")
struct HelloTests {
    @Test func helloWithAValidClerkTokenIsAccepted() async throws {
        let relay = try TestRelay()
        let c = try await relay.connect()
        let reply = try await c.request([
            "type": "hello", "id": "1", "token": .string(relay.token("clerk-1", .clerk, unit: "qd-xihaian")),
            "client": "test/1",
        ])
        #expect(reply["type"] == "ok")
        #expect(reply["id"] == "1")
        #expect(reply["result"]?["participant"] == "clerk-1")
        #expect(reply["result"]?["role"] == "clerk")
        #expect(reply["result"]?["unit"] == "qd-xihaian")
        #expect(reply["result"]?["heartbeatMs"] == 10000)
        #expect(reply["result"]?["server"]?.stringValue?.hasPrefix("windowrelay/") == true)
    }

    @Test func opsHelloHasNoUnit() async throws {
        let relay = try TestRelay()
        let c = try await relay.connect()
        let reply = try await c.request(["type": "hello", "id": "1", "token": .string(relay.token("ops-1", .ops))])
        #expect(reply["result"]?["role"] == "ops")
        #expect(reply["result"]?["unit"] == nil)
    }

    static let badTokens: [(String, @Sendable (TestRelay) -> String)] = [
        ("garbage", { _ in "not-a-jwt" }),
        ("alg none", { r in Self.unsigned(header: #"{"alg":"none","typ":"JWT"}"#, payload: Self.payload()) + "." }),
        ("wrong secret", { _ in
            TokenAuthority(secret: Array("another-secret-another-secret-another".utf8)).sign(
                TokenClaims(sub: "x", role: .clerk, unit: "qd-xihaian", exp: Self.now + 60, iat: Self.now))
        }),
        ("expired", { r in r.token("x", .clerk, unit: "qd-xihaian", ttl: -120) }),
        ("unknown role", { r in Self.signed(r, #"{"sub":"x","role":"mayor","exp":\#(Self.now + 60)}"#) }),
        ("missing sub", { r in Self.signed(r, #"{"role":"clerk","unit":"qd-xihaian","exp":\#(Self.now + 60)}"#) }),
        ("missing exp", { r in Self.signed(r, #"{"sub":"x","role":"clerk","unit":"qd-xihaian"}"#) }),
    ]

    @Test(arguments: badTokens.map(\.0))
    func aBadTokenGetsUnauthorizedThen4401(_ name: String) async throws {
        let relay = try TestRelay()
        let token = Self.badTokens.first { $0.0 == name }!.1(relay)
        let c = try await relay.connect()
        c.send(json: ["type": "hello", "id": "7", "token": .string(token)])
        let error = try await c.nextJSON()
        #expect(error["type"] == "error")
        #expect(error["code"] == "unauthorized")
        #expect(error["id"] == "7")
        #expect(try await c.closeCode() == 4401)
    }

    @Test func aFirstMessageThatIsNotHelloIsRefused() async throws {
        let relay = try TestRelay()
        let c = try await relay.connect()
        c.send(json: ["type": "chat.send", "id": "2", "sessionId": "s_x", "text": "hi"])
        let error = try await c.nextJSON()
        #expect(error["code"] == "unauthorized")
        #expect(error["id"] == "2")
        #expect(try await c.closeCode() == 4401)
    }

    @Test func noHelloInTimeIsClosedWith4401() async throws {
        let relay = try TestRelay { $0.sessions.helloTimeoutSeconds = 1 }
        let c = try await relay.connect()
        let error = try await c.nextJSON(timeout: 5)
        #expect(error["code"] == "unauthorized")
        #expect(try await c.closeCode() == 4401)
    }

    @Test func aSecondConnectionWithTheSameSubReplacesTheFirstWith4409() async throws {
        let relay = try TestRelay()
        let first = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        let second = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        #expect(try await first.closeCode() == 4409)
        // The new connection is the one that works.
        let reply = try await second.request(["type": "nope", "id": "3"])
        #expect(reply["code"] == "bad_request")
    }

    @Test func malformedJSONIsABadRequestAndTheConnectionStaysUsable() async throws {
        let relay = try TestRelay()
        let c = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        c.send(text: "{\"type\": \"chat.send\", ")
        let error = try await c.nextJSON()
        #expect(error["type"] == "error")
        #expect(error["code"] == "bad_request")
        #expect(error["id"] == nil)
        let reply = try await c.request(["type": "queue.watch", "id": "4"])
        #expect(reply["type"] == "ok")
    }

    @Test func anUnknownTypeIsABadRequestWithTheId() async throws {
        let relay = try TestRelay()
        let c = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        let reply = try await c.request(["type": "teleport", "id": "5"])
        #expect(reply["code"] == "bad_request")
        #expect(reply["message"]?.stringValue?.contains("teleport") == true)
    }

    @Test func aMessageOverTheLimitIsRefusedAndTheConnectionStaysUsable() async throws {
        let relay = try TestRelay { $0.limits.maxMessageBytes = 4096 }
        let c = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        c.send(text: "{\"type\":\"chat.send\",\"text\":\"" + String(repeating: "x", count: 10_000) + "\"}")
        let error = try await c.nextJSON()
        #expect(error["code"] == "too_large")
        let reply = try await c.request(["type": "queue.watch", "id": "6"])
        #expect(reply["type"] == "ok")
    }

    @Test func healthAndReadinessAnswerOverHTTPOnTheSamePort() async throws {
        let relay = try TestRelay()
        let health = try relay.get("/healthz")
        #expect(health.status == 200)
        #expect(String(decoding: health.body, as: UTF8.self) == "ok\n")
        #expect(try relay.get("/readyz").status == 200)
        #expect(try relay.get("/nothing-here").status == 404)
    }

    @Test func helloWorksOverTLSWithTheDevelopmentCertificate() async throws {
        let relay = try TestRelay(tls: true)
        let c = try await relay.connect()
        let reply = try await c.request(["type": "hello", "id": "1", "token": .string(relay.token("a-1", .approver, unit: "cd-gaoxin"))])
        #expect(reply["type"] == "ok")
        #expect(reply["result"]?["role"] == "approver")
    }

    // MARK: Token helpers

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    static func payload() -> String { #"{"sub":"x","role":"clerk","unit":"qd-xihaian","exp":\#(now + 60)}"# }

    static func base64url(_ s: String) -> String { base64url(Array(s.utf8)) }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unsigned(header: String, payload: String) -> String { base64url(header) + "." + base64url(payload) }

    /// A correctly signed HS256 token with an arbitrary payload.
    static func signed(_ relay: TestRelay, _ payload: String) -> String {
        let input = unsigned(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: payload)
        let mac = HMACSHA256.authenticate(key: Array(TestRelay.secret.utf8), message: Array(input.utf8))
        return input + "." + base64url(mac)
    }
}
