import RelayTransport

/// The test-only echo route (`windowrelay serve --conformance-echo`, docs/protocol.md §9): a
/// WebSocket on `/v1/echo` gets every message back verbatim (text as text, binary as binary), with
/// no hello, no rate limits and no session. It exists so that the Autobahn cases (Tests/e2e,
/// test_conformance.py) can test the transport; `limits.maxMessageBytes` still applies (1009).
public enum ConformanceEcho {
    /// The path of the echo route.
    public static let path = "/v1/echo"
}

extension Relay {
    /// Takes `connection` as an echo connection when it came in on the echo route (and the route
    /// is on); returns false for every other connection.
    func openEcho(_ connection: WebSocketConnection) -> Bool {
        guard settings.conformanceEcho, connection.path == ConformanceEcho.path else { return false }
        echoConnections[connection.id] = connection
        if !accepting { connection.close(code: 1001, reason: "server shutting down") }
        return true
    }

    /// Sends `message` back on an echo connection; false when `connection` is not one.
    func echo(_ connection: WebSocketConnection, message: UnsafeRawBufferPointer, binary: Bool) -> Bool {
        guard echoConnections[connection.id] != nil else { return false }
        if connection.isOpen { connection.send(OutboundFrame(copying: message, binary: binary), as: .message) }
        return true
    }

    /// Closes an echo connection whose message went past `limits.maxMessageBytes` (1009, RFC 6455
    /// §7.4.1); false when `connection` is not one.
    func echoTooLarge(_ connection: WebSocketConnection) -> Bool {
        guard echoConnections[connection.id] != nil else { return false }
        connection.close(code: 1009, reason: "message too large")
        return true
    }

    /// Forgets a closed echo connection; false when `connection` was not one.
    func closeEcho(_ connection: WebSocketConnection) -> Bool {
        guard echoConnections.removeValue(forKey: connection.id) != nil else { return false }
        checkDrained()
        return true
    }
}
