import Dispatch
import Glibc
import Logging
import RelayTransport
import Synchronization
import Testing

/// Counts ticks and echoes every message back; on the client side it sends `messages` texts once
/// open and signals when every echo is back.
///
/// `@unchecked Sendable`: its state is touched only on its loop's service thread, except the
/// atomics and the semaphore, which are thread-safe.
private final class EchoHandler: TransportHandler, @unchecked Sendable {
    let ticks = Atomic<Int>(0)
    let echoed = Atomic<Int>(0)
    let opened = Atomic<Int>(0)
    let allEchoed = DispatchSemaphore(value: 0)
    private let messages: Int
    private let isClient: Bool

    init(client messages: Int) {
        self.messages = messages
        isClient = true
    }

    init() {
        messages = 0
        isClient = false
    }

    func webSocketOpened(_ connection: WebSocketConnection, tag: UInt64) {
        opened.add(1, ordering: .relaxed)
        guard isClient else { return }
        for i in 0..<messages { connection.send(text: Array("message \(i)".utf8)) }
    }

    func webSocket(_ connection: WebSocketConnection, received message: UnsafeRawBufferPointer, binary: Bool) {
        guard isClient else {
            connection.send(text: Array(message))
            return
        }
        if echoed.add(1, ordering: .relaxed).newValue == messages { allEchoed.signal() }
    }

    func webSocketClosed(_ connection: WebSocketConnection) {}

    func tick(nowMillis: Int64) { ticks.add(1, ordering: .relaxed) }
}

/// Both event backends (lws's own poll loop and lws's libev plugin on our epoll loop) carry the
/// same traffic and fire the same timers: the backend is an operator's choice, not a behaviour.
@Suite("Service loop event backends")
struct EventBackendTests {
    private let logger = Logger(label: "event-backend-test")

    @Test(arguments: EventBackend.allCases)
    func anIdleLoopKeepsTicking(backend: EventBackend) throws {
        let handler = EchoHandler()
        let loop = ServiceLoop(
            listen: ListenConfiguration(host: "127.0.0.1", port: 0), limits: ConnectionLimits(), tickMillis: 10,
            backend: backend, logger: logger)
        _ = try loop.start(handler: handler)
        defer { loop.stop() }

        // No socket ever becomes ready: only the loop's timer can wake it. Wait (bounded) for ticks.
        var waited = 0
        while handler.ticks.load(ordering: .relaxed) < 5, waited < 500 {
            usleep(10_000)
            waited += 1
        }
        #expect(handler.ticks.load(ordering: .relaxed) >= 5)
    }

    @Test(arguments: EventBackend.allCases)
    func aClientAndAServerOnTheBackendExchangeEveryMessage(backend: EventBackend) throws {
        let server = EchoHandler()
        let serverLoop = ServiceLoop(
            listen: ListenConfiguration(host: "127.0.0.1", port: 0), limits: ConnectionLimits(), backend: backend,
            logger: logger)
        let port = try serverLoop.start(handler: server)
        defer { serverLoop.stop() }

        let client = EchoHandler(client: 500)
        let clientLoop = ServiceLoop(listen: nil, limits: ConnectionLimits(), backend: backend, logger: logger)
        _ = try clientLoop.start(handler: client)
        defer { clientLoop.stop() }
        // Work posted from this thread must wake the loop (lws_cancel_service) on either backend.
        clientLoop.execute { clientLoop.connect(to: ClientEndpoint(host: "127.0.0.1", port: port), tag: 1) }

        #expect(client.allEchoed.wait(timeout: .now() + 20) == .success)
        #expect(client.echoed.load(ordering: .relaxed) == 500)
        #expect(server.opened.load(ordering: .relaxed) == 1)
    }
}
