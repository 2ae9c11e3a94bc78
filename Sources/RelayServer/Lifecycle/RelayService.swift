public import ServiceLifecycle
import UnixSignals

/// The relay as a swift-service-lifecycle `Service`: listens in `run()`, reloads its TLS
/// certificate on SIGHUP, and on graceful shutdown (SIGTERM, SIGINT) closes clients with 1001,
/// flushes the store and returns.
public struct RelayService: Service {
    let server: RelayServer
    let onListening: @Sendable (String) -> Void

    public init(server: RelayServer, onListening: @escaping @Sendable (String) -> Void) {
        self.server = server
        self.onListening = onListening
    }

    public func run() async throws {
        let port = try server.start()
        // SIGHUP is trapped before "listening" is printed: a supervisor that reloads right after
        // start must not hit the default action (terminate).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let host = server.configuration.listen.host
        onListening("\(server.configuration.scheme)://\(host):\(port)")
        let server = self.server
        let reloads = Task {
            for await _ in hangups { server.reloadCertificate() }
        }
        try? await gracefulShutdown()
        reloads.cancel()
        server.shutdown()
    }
}
