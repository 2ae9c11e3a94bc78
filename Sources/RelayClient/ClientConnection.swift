public import RelayCore

/// One client WebSocket with an async interface: send, and await what arrives.
public final class ClientConnection: Sendable {
    private let loop: ClientLoop
    private let tag: UInt64
    private let inbox: Inbox

    init(loop: ClientLoop, tag: UInt64, inbox: Inbox) {
        self.loop = loop
        self.tag = tag
        self.inbox = inbox
    }

    public func send(text: String) { loop.send(tag: tag, .text(Array(text.utf8))) }
    public func send(binary: [UInt8]) { loop.send(tag: tag, .binary(binary)) }
    public func send(json: JSONValue) { loop.send(tag: tag, .text(json.canonicalBytes)) }
    public func ping(_ payload: [UInt8]) { loop.send(tag: tag, .ping(payload)) }
    public func close(code: UInt16 = 1000, reason: String = "") { loop.send(tag: tag, .close(code, reason)) }

    /// The next event, or `timedOut` after `seconds`.
    public func next(timeout seconds: Double = 5) async throws(ClientError) -> ClientEvent {
        try await inbox.next(timeout: seconds)
    }

    /// The next text message parsed as JSON, skipping pongs; `closed` if the connection closes first.
    public func nextJSON(timeout seconds: Double = 5) async throws(ClientError) -> JSONValue {
        while true {
            switch try await next(timeout: seconds) {
            case .text(let text):
                do {
                    return try JSONValue.parse(text)
                } catch {
                    throw .unexpected("not JSON: \(text)")
                }
            case .binary, .pong:
                continue
            case .closed(let code, _):
                throw .closed(code: code)
            }
        }
    }

    /// The next JSON message whose `type` is `type` (others are skipped).
    public func next(type: String, timeout seconds: Double = 5) async throws(ClientError) -> JSONValue {
        while true {
            let message = try await nextJSON(timeout: seconds)
            if message["type"]?.stringValue == type { return message }
        }
    }

    /// Sends a request and returns its reply (`ok` or `error` with the same `id`); other messages
    /// that arrive first are skipped.
    public func request(_ body: JSONValue, timeout seconds: Double = 5) async throws(ClientError) -> JSONValue {
        guard let id = body["id"]?.stringValue else { throw .unexpected("request without id") }
        send(json: body)
        while true {
            let message = try await nextJSON(timeout: seconds)
            let type = message["type"]?.stringValue
            if (type == "ok" || type == "error") && message["id"]?.stringValue == id { return message }
        }
    }

    /// Waits for the close and returns the peer's code.
    public func closeCode(timeout seconds: Double = 5) async throws(ClientError) -> UInt16? {
        while true {
            if case .closed(let code, _) = try await next(timeout: seconds) { return code }
        }
    }
}

