/// Settings of a service loop that listens (server) or only connects out (client).
public struct ListenConfiguration: Sendable, Hashable {
    /// An IPv4/IPv6 address to bind, or "0.0.0.0" / "" for every address.
    public var host: String
    /// 0 picks a free port; `ServiceLoop.start` returns the one bound.
    public var port: Int
    /// PEM certificate chain and key; both set means wss/https.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// PEM CA bundle that client certificates must chain to (mutual TLS); nil = no client certs.
    public var tlsClientCAPath: String?
    /// The path that upgrades to a WebSocket.
    public var webSocketPath: String
    /// Further paths that upgrade too (the relay's test-only echo route); empty in production.
    public var additionalWebSocketPaths: Set<String>
    public var maxHTTPBodyBytes: Int
    public var maxHTTPHeaderBytes: Int
    /// Seconds of silence (no valid pong or data) before lws pings, and before it hangs up.
    public var idlePingSeconds: Int
    public var idleHangupSeconds: Int

    public init(
        host: String = "0.0.0.0",
        port: Int = 0,
        tlsCertificatePath: String? = nil,
        tlsKeyPath: String? = nil,
        tlsClientCAPath: String? = nil,
        webSocketPath: String = "/v1/ws",
        maxHTTPBodyBytes: Int = 64 << 10,
        maxHTTPHeaderBytes: Int = 8192,
        idlePingSeconds: Int = 20,
        idleHangupSeconds: Int = 40,
        additionalWebSocketPaths: Set<String> = []
    ) {
        self.host = host
        self.port = port
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.tlsClientCAPath = tlsClientCAPath
        self.webSocketPath = webSocketPath
        self.additionalWebSocketPaths = additionalWebSocketPaths
        self.maxHTTPBodyBytes = maxHTTPBodyBytes
        self.maxHTTPHeaderBytes = maxHTTPHeaderBytes
        self.idlePingSeconds = idlePingSeconds
        self.idleHangupSeconds = idleHangupSeconds
    }

    public var usesTLS: Bool { tlsCertificatePath != nil && tlsKeyPath != nil }

    /// Whether a request for `path` may upgrade to a WebSocket.
    public func upgrades(path: String?) -> Bool {
        guard let path else { return false }
        return path == webSocketPath || additionalWebSocketPaths.contains(path)
    }
}

/// What a service loop waits on for socket events.
public enum EventBackend: String, Sendable, Hashable, CaseIterable {
    /// lws's libev event-lib plugin on a loop the service thread owns (epoll on Linux): the cost of
    /// a wake-up follows the sockets that are ready, not the sockets that are open.
    case libev
    /// lws's built-in `poll()` loop: every wake-up scans every socket.
    case poll
}

/// Errors of the transport, each saying what the operator can do.
public enum TransportError: Error, CustomStringConvertible, Equatable {
    case cannotListen(host: String, port: Int)
    case certificateUnreadable(path: String)
    case contextCreationFailed
    case eventLoopUnavailable
    case alreadyStarted

    public var description: String {
        switch self {
        case .cannotListen(let host, let port):
            "cannot listen on \(host):\(port): the port is in use or the address is not on this machine"
        case .certificateUnreadable(let path):
            "cannot read TLS file \(path): check tls.cert / tls.key (PEM) and their permissions"
        case .contextCreationFailed:
            "libwebsockets could not create its context (see the log lines before this one)"
        case .eventLoopUnavailable:
            "no libev event loop: install libev4 and lws's libev plugin (Debian package libwebsockets-evlib-ev, "
                + "libwebsockets-evlib_ev.so), or set listen.eventLoop to poll"
        case .alreadyStarted:
            "the service loop was already started"
        }
    }
}
