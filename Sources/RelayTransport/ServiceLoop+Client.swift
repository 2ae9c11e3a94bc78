import CLibWebSockets
import Glibc

/// Where a client connects.
public struct ClientEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var path: String
    public var tls: Bool
    /// Accept a self-signed server certificate and skip the host name check (development only).
    public var allowSelfSigned: Bool
    /// The WebSocket subprotocol to ask for (`Sec-WebSocket-Protocol`), none when nil. Benchmarks
    /// use it to reach reference servers such as libwebsockets-test-server's `lws-mirror-protocol`.
    public var subprotocol: String?

    public init(
        host: String, port: Int, path: String = "/v1/ws", tls: Bool = false, allowSelfSigned: Bool = false,
        subprotocol: String? = nil
    ) {
        self.host = host
        self.port = port
        self.path = path
        self.tls = tls
        self.allowSelfSigned = allowSelfSigned
        self.subprotocol = subprotocol
    }
}

extension ServiceLoop {
    /// Opens a client WebSocket; the handler hears `webSocketOpened(_, tag:)` or
    /// `webSocketConnectFailed(tag:reason:)`. Call on the service thread.
    public func connect(to endpoint: ClientEndpoint, tag: UInt64) {
        precondition(identity.inLoop, "connect must run on the service loop")
        guard let context else {
            handler?.webSocketConnectFailed(tag: tag, reason: "loop not running")
            return
        }
        var info = lws_client_connect_info()
        var made: OpaquePointer?
        let address = strdup(endpoint.host)!
        let path = strdup(endpoint.path)!
        let host = strdup("\(endpoint.host):\(endpoint.port)")!
        let subprotocol = endpoint.subprotocol.map { strdup($0)! }
        let localProtocol = strdup("windowrelay")!
        defer {
            free(localProtocol)
            free(address)
            free(path)
            free(host)
            free(subprotocol)
        }
        info.context = context
        info.address = UnsafePointer(address)
        info.port = Int32(endpoint.port)
        info.path = UnsafePointer(path)
        info.host = UnsafePointer(host)
        info.origin = UnsafePointer(host)
        info.ietf_version_or_minus_one = -1
        info.ssl_connection = wr_client_flags(endpoint.tls ? 1 : 0, endpoint.allowSelfSigned ? 1 : 0)
        if let subprotocol {
            // Asked of the server; the connection stays bound to our own protocol's callback
            // (lws keeps a client's pre-bound protocol when the server's choice is not ours).
            info.protocol = UnsafePointer(subprotocol)
            info.local_protocol_name = UnsafePointer(localProtocol)
        }
        withUnsafeMutablePointer(to: &made) { info.pwsi = $0 }
        // pendingClients must know the wsi before any callback for it can run: lws may report a
        // connection error from inside this call, so register through pwsi afterwards and also
        // accept a callback that finds no entry (tag 0).
        if lws_client_connect_via_info(&info) == nil {
            if let made { pendingClients.removeValue(forKey: made) }
            handler?.webSocketConnectFailed(tag: tag, reason: "cannot connect to \(endpoint.host):\(endpoint.port)")
            return
        }
        if let made { pendingClients[made] = tag }
    }
}
