import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import RelayTransport
import Testing

/// One participant device on a real socket: requests with fresh ids, and every message it receives kept
/// (`log`, in arrival order) and readable once (`next`), so that no event is lost while awaiting a reply.
final class Device {
    let sub: String
    let connection: ClientConnection
    /// Every message received, in order.
    private(set) var log: [JSONValue] = []
    /// Messages received and not yet taken by `next` or a reply.
    private var unread: [JSONValue] = []
    private var counter = 0
    private(set) var helloResult: JSONValue = .null

    private init(sub: String, connection: ClientConnection) {
        self.sub = sub
        self.connection = connection
    }

    /// Connects to `port` on `client` and says hello with `token`; refuses to go on if hello fails.
    static func hello(client: ClientLoop, port: Int, sub: String, token: String) async throws -> Device {
        let connection = try await client.connect(ClientEndpoint(host: "127.0.0.1", port: port, tls: false))
        let device = Device(sub: sub, connection: connection)
        let reply = try await device.request("hello", ["token": .string(token), "client": "session-it/1"])
        guard reply["type"] == "ok", let result = reply["result"] else { throw TestFailure("hello refused: \(reply)") }
        device.helloResult = result
        return device
    }

    /// A device of `relay` with a token for `sub` signed by the test secret.
    static func hello(
        _ relay: TestRelay,
        _ sub: String,
        _ role: Role,
        unit: String? = nil,
        session: String? = nil,
        name: String? = nil
    ) async throws -> Device {
        try await hello(
            client: relay.client,
            port: relay.port,
            sub: sub,
            token: relay.token(sub, role, unit: unit, session: session, name: name)
        )
    }

    // MARK: Sending

    /// Sends a request of `type` with a fresh id; returns the id.
    @discardableResult
    func send(_ type: String, _ fields: [String: JSONValue] = [:]) -> String {
        counter += 1
        let id = "\(sub)#\(counter)"
        var body = fields
        body["type"] = .string(type)
        body["id"] = .string(id)
        connection.send(json: .object(body))
        return id
    }

    /// Sends a request and awaits its reply (`ok` or `error`); what arrives before it stays readable.
    func request(_ type: String, _ fields: [String: JSONValue] = [:], timeout: Double = 10) async throws -> JSONValue {
        let id = send(type, fields)
        return try await reply(to: id, timeout: timeout)
    }

    /// The reply to request `id`.
    func reply(to id: String, timeout: Double = 10) async throws -> JSONValue {
        try await next(timeout: timeout) { m in
            (m["type"] == "ok" || m["type"] == "error") && m["id"]?.stringValue == id
        }
    }

    /// Sends the requests back to back, then awaits their replies, in order.
    func pipelined(_ requests: [(String, [String: JSONValue])]) async throws -> [JSONValue] {
        let ids = requests.map { send($0.0, $0.1) }
        var replies: [JSONValue] = []
        for id in ids { replies.append(try await reply(to: id)) }
        return replies
    }

    /// The `result` of an `ok` reply; an `error` reply fails the test with its code and message.
    @discardableResult
    func ok(_ type: String, _ fields: [String: JSONValue] = [:]) async throws -> JSONValue {
        let reply = try await request(type, fields)
        guard reply["type"] == "ok" else { throw TestFailure("\(sub): \(type) refused: \(reply)") }
        return reply["result"] ?? .null
    }

    /// The error code of a reply that must be an `error`; nil when it was `ok`.
    func refusal(_ type: String, _ fields: [String: JSONValue] = [:]) async throws -> String? {
        let reply = try await request(type, fields)
        return reply["type"] == "error" ? reply["code"]?.stringValue : nil
    }

    /// A request of an unknown type: its `bad_request` reply is released behind everything already due to
    /// this connection, so once it is back every earlier event has arrived.
    func barrier() async throws {
        let reply = try await request("test.barrier")
        guard reply["code"] == "bad_request" else { throw TestFailure("barrier: unexpected \(reply)") }
    }

    func close(code: UInt16 = 1000) { connection.close(code: code, reason: "test") }

    // MARK: Receiving

    /// The first unread message that matches, waiting for it if needed; it is taken from the unread ones.
    func next(timeout: Double = 10, where match: (JSONValue) -> Bool) async throws -> JSONValue {
        if let i = unread.firstIndex(where: match) { return unread.remove(at: i) }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestFailure("\(sub): nothing matching within \(timeout) s") }
            let message = try await connection.nextJSON(timeout: left)
            log.append(message)
            if match(message) { return message }
            unread.append(message)
        }
    }

    /// The next unread message of `type` (of session `session` when given).
    func next(_ type: String, session: String? = nil, timeout: Double = 10) async throws -> JSONValue {
        try await next(timeout: timeout) { m in
            m["type"]?.stringValue == type && (session == nil || m["sessionId"]?.stringValue == session)
        }
    }

    /// The session events of `session` this connection received so far, in arrival order.
    func events(of session: String) -> [JSONValue] {
        log.filter { $0["sessionId"]?.stringValue == session && $0["seq"] != nil }
    }

    /// The messages received after the reply to `id`, in order.
    func received(after id: String) -> [JSONValue] {
        guard let i = log.firstIndex(where: { $0["id"]?.stringValue == id }) else { return [] }
        return Array(log[(i + 1)...])
    }

    /// Reads what arrives until the connection closes; returns the close code.
    func closeCode(timeout: Double = 10) async throws -> UInt16? {
        while true {
            switch try await connection.next(timeout: timeout) {
            case .closed(let code, _): return code
            case .text(let text): log.append(try JSONValue.parse(text))
            case .binary, .pong: continue
            }
        }
    }
}

extension TestRelay {
    /// A relay for the session suites, started on a thread of its own: opening its store blocks for a while,
    /// and many suites starting relays at once on the few threads of the cooperative pool stalled every test
    /// long enough for the server's hello time-out to close waiting connections (4401). The hello time-out is
    /// generous for the same reason.
    static func started(
        _ tweak: @escaping @Sendable (inout RelayConfiguration) -> Void = { _ in }
    ) async throws -> TestRelay {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do {
                    let relay = try TestRelay(tweak: { configuration in
                        configuration.sessions.helloTimeoutSeconds = 120
                        tweak(&configuration)
                    })
                    continuation.resume(returning: relay)
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }
}

/// Small readers of wire messages shared by the session suites.
enum Wire {
    static let service = "social-insurance-transfer"

    static func seq(_ m: JSONValue) -> Int { m["seq"]?.intValue ?? -1 }

    static func sessionId(_ result: JSONValue) throws -> String {
        guard let id = result["session"]?["id"]?.stringValue else { throw TestFailure("no session id in \(result)") }
        return id
    }

    /// `sessionId@position` for each entry of a `waiting` list.
    static func positions(_ message: JSONValue) -> [String] {
        (message["waiting"]?.arrayValue ?? []).map {
            "\($0["sessionId"]?.stringValue ?? "?")@\($0["position"]?.intValue ?? 0)"
        }
    }

    /// `session.create` fields for `toUnit`.
    static func create(_ toUnit: String, applicant: String? = nil) -> [String: JSONValue] {
        var fields: [String: JSONValue] = ["service": .string(service), "toUnit": .string(toUnit)]
        if let applicant { fields["applicant"] = ["name": .string(applicant), "idTail": "001X"] }
        return fields
    }
}

@Suite("Session events on the wire (PROTOCOL §2)")
struct SessionDeviceTests {
    @Test func anEventCarriesSessionSeqAtAndActorAndComesBeforeItsReply() async throws {
        let relay = try await TestRelay.started()
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let id = clerk.send("session.create", Wire.create("cd-gaoxin"))
        let reply = try await clerk.reply(to: id)
        let sid = try Wire.sessionId(reply["result"] ?? .null)
        // Both events of the create arrived before its ok.
        let before = clerk.log.prefix { $0["id"]?.stringValue != id }.filter { $0["id"] == nil }
        #expect(before.map { $0["type"]?.stringValue ?? "" } == ["session.state", "participant.joined"])
        for (i, event) in before.enumerated() {
            #expect(event["sessionId"]?.stringValue == sid)
            #expect(Wire.seq(event) == i + 1)
            #expect(event["actor"] == "clerk-qd")
            #expect(event["at"]?.stringValue?.count == 24)
        }
        #expect(before.first?["session"]?["state"] == "queued")
        #expect(before.last?["participant"]?["id"] == "clerk-qd")
    }

    @Test func aConnectionOutlivesManyHeartbeatsAndItsPongsGiveRoundTripTimes() async throws {
        // Pings every tick (100 ms): a pong the transport refused (libwebsockets closes with 1007 when a pong's
        // payload is not UTF-8) would end the connection within a few of them.
        let relay = try await TestRelay.started { $0.sessions.heartbeatMs = 50 }
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        var pongs = 0
        var rounds = 0
        while rounds < 20 || (pongs == 0 && rounds < 100) {
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await clerk.request("queue.watch")["type"] == "ok")
            pongs = Self.rttSamples(try relay.get("/metrics").body)
            rounds += 1
        }
        #expect(pongs > 0)
    }

    /// `windowrelay_rtt_seconds_count` from the metrics text.
    static func rttSamples(_ body: [UInt8]) -> Int {
        let line = String(decoding: body, as: UTF8.self).split(separator: "\n").first {
            $0.hasPrefix("windowrelay_rtt_seconds_count")
        }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    @Test func chatOverTheLimitIsTooLargeAndUnknownSessionsAreNotFound() async throws {
        let relay = try await TestRelay.started { $0.limits.maxChatLength = 10 }
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let sid = try Wire.sessionId(try await clerk.ok("session.create", Wire.create("cd-gaoxin")))
        #expect(
            try await clerk.refusal("chat.send", ["sessionId": .string(sid), "text": "01234567890"]) == "too_large"
        )
        try await clerk.ok("chat.send", ["sessionId": .string(sid), "text": "0123456789"])
        #expect(try await clerk.refusal("chat.send", ["sessionId": "s_nothing", "text": "hi"]) == "not_found")
        #expect(try await clerk.refusal("chat.send", ["sessionId": .string(sid)]) == "bad_request")
    }
}
