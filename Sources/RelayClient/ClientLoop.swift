public import Logging
public import RelayTransport
import Synchronization

/// What a client connection receives.
public enum ClientEvent: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    case pong([UInt8])
    /// The connection closed; `code` is the peer's close code when it sent one.
    case closed(code: UInt16?, reason: String)
}

/// Client errors.
public enum ClientError: Error, CustomStringConvertible, Equatable {
    case connectFailed(String)
    case timedOut(String)
    case closed(code: UInt16?)
    case unexpected(String)

    public var description: String {
        switch self {
        case .connectFailed(let r): "connect failed: \(r)"
        case .timedOut(let what): "timed out waiting for \(what)"
        case .closed(let code): "connection closed (code \(code.map(String.init) ?? "none"))"
        case .unexpected(let what): "unexpected: \(what)"
        }
    }
}

/// A libwebsockets client loop that can carry many connections (tests, the load generator).
///
/// Connections are opened with `connect`, which resumes once the WebSocket is open. Incoming
/// messages are delivered to each connection's async stream.
public final class ClientLoop: Sendable {
    public let loop: ServiceLoop
    private let hub: ClientHub

    /// - Parameter trustedCAPath: a PEM CA bundle to trust for `wss://` (for example certs/dev-ca.crt).
    public init(
        logger: Logger = Logger(label: "windowrelay.client"), limits: ConnectionLimits = ConnectionLimits(),
        trustedCAPath: String? = nil
    ) throws(TransportError) {
        loop = ServiceLoop(listen: nil, limits: limits, tickMillis: 1000, clientCAPath: trustedCAPath, logger: logger)
        hub = ClientHub()
        _ = try loop.start(handler: hub)
    }

    /// Opens a connection.
    public func connect(_ endpoint: ClientEndpoint) async throws(ClientError) -> ClientConnection {
        let tag = hub.nextTag()
        let inbox = Inbox()
        let result: Result<Void, ClientError> = await withCheckedContinuation { opened in
            hub.register(tag: tag, events: inbox, opened: opened)
            let loop = self.loop
            let hub = self.hub
            loop.execute { hub.connect(loop: loop, endpoint: endpoint, tag: tag) }
        }
        try result.get()
        return ClientConnection(loop: self, tag: tag, inbox: inbox)
    }

    func send(tag: UInt64, _ payload: ClientPayload) {
        let hub = self.hub
        loop.execute { hub.send(tag: tag, payload) }
    }

    /// Stops the loop; every connection is dropped without a close frame.
    public func shutdown() {
        loop.stop()
        hub.finishAll()
    }
}

enum ClientPayload: Sendable {
    case text([UInt8])
    case binary([UInt8])
    case ping([UInt8])
    case close(UInt16, String)
}

/// The loop-side bookkeeping of `ClientLoop`.
final class ClientHub: TransportHandler, @unchecked Sendable {
    // @unchecked Sendable: `pending` and `tags` are guarded by `lock`; `connections` is touched
    // only on the service thread.
    private struct Pending {
        var events: Inbox
        var opened: CheckedContinuation<Result<Void, ClientError>, Never>?
    }

    private let lock = Mutex<(next: UInt64, pending: [UInt64: Pending])>((1, [:]))
    private var connections: [UInt64: WebSocketConnection] = [:]

    func nextTag() -> UInt64 {
        lock.withLock { state in
            defer { state.next += 1 }
            return state.next
        }
    }

    func register(
        tag: UInt64, events: Inbox,
        opened: CheckedContinuation<Result<Void, ClientError>, Never>
    ) {
        lock.withLock { $0.pending[tag] = Pending(events: events, opened: opened) }
    }

    func connect(loop: ServiceLoop, endpoint: ClientEndpoint, tag: UInt64) {
        loop.connect(to: endpoint, tag: tag)
    }

    func send(tag: UInt64, _ payload: ClientPayload) {
        guard let connection = connections[tag] else { return }
        switch payload {
        case .text(let bytes): connection.send(OutboundFrame(bytes, binary: false), as: .message)
        case .binary(let bytes): connection.send(OutboundFrame(bytes, binary: true), as: .message)
        case .ping(let bytes): connection.ping(payload: bytes)
        case .close(let code, let reason): connection.close(code: code, reason: reason)
        }
    }

    private func events(_ tag: UInt64) -> Inbox? {
        lock.withLock { $0.pending[tag]?.events }
    }

    func webSocketOpened(_ connection: WebSocketConnection, tag: UInt64) {
        connections[tag] = connection
        connection.context = TagBox(tag)
        let opened = lock.withLock { state -> CheckedContinuation<Result<Void, ClientError>, Never>? in
            defer { state.pending[tag]?.opened = nil }
            return state.pending[tag]?.opened
        }
        opened?.resume(returning: .success(()))
    }

    func webSocketConnectFailed(tag: UInt64, reason: String) {
        let pending = lock.withLock { $0.pending.removeValue(forKey: tag) }
        pending?.opened?.resume(returning: .failure(.connectFailed(reason)))
        pending?.events.finish()
    }

    func webSocket(_ connection: WebSocketConnection, received message: UnsafeRawBufferPointer, binary: Bool) {
        guard let tag = (connection.context as? TagBox)?.tag else { return }
        let event: ClientEvent = binary ? .binary(Array(message)) : .text(String(decoding: message, as: UTF8.self))
        events(tag)?.push(event)
    }

    func webSocket(_ connection: WebSocketConnection, receivedPong payload: UnsafeRawBufferPointer) {
        guard let tag = (connection.context as? TagBox)?.tag else { return }
        events(tag)?.push(.pong(Array(payload)))
    }

    func webSocketClosed(_ connection: WebSocketConnection) {
        guard let tag = (connection.context as? TagBox)?.tag else { return }
        connections.removeValue(forKey: tag)
        let pending = lock.withLock { $0.pending.removeValue(forKey: tag) }
        pending?.events.push(.closed(code: connection.peerCloseCode, reason: connection.peerCloseReason ?? ""))
        pending?.events.finish()
    }

    func httpRequest(_ exchange: HTTPExchange) { exchange.respond(HTTPResponse(status: 404)) }

    func finishAll() {
        let all = lock.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
        for (_, p) in all {
            p.opened?.resume(returning: .failure(.connectFailed("client loop shut down")))
            p.events.push(.closed(code: nil, reason: "client loop shut down"))
            p.events.finish()
        }
    }
}

private final class TagBox {
    let tag: UInt64
    init(_ tag: UInt64) { self.tag = tag }
}
