import RelayTransport

extension Relay {
    /// Stops accepting and asks every client to go (1001). `drained` runs once no connection is
    /// left (or at once when there are none); the caller bounds the wait.
    func beginShutdown(drained: @escaping () -> Void) {
        accepting = false
        for peer in peers.values { peer.connection.close(code: 1001, reason: "server shutting down") }
        for connection in echoConnections.values { connection.close(code: 1001, reason: "server shutting down") }
        shutdownDrained = drained
        checkDrained()
    }

    func checkDrained() {
        guard !accepting, peers.isEmpty, echoConnections.isEmpty, let drained = shutdownDrained else { return }
        shutdownDrained = nil
        flushRecordings()
        drained()
    }
}
