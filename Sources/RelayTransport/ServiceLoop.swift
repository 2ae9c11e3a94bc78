import CLibWebSockets
import Dispatch
import Foundation
import Glibc
public import Logging
import RelayPlatform
import Synchronization

/// One libwebsockets context and the thread that services it: the only thread that touches lws or
/// the connections (like a NIO event loop owns its channels).
///
/// Other threads talk to it through `execute`, which posts to a mailbox and wakes the loop with
/// `lws_cancel_service`. `stop()` ends the thread and destroys the context on that thread; after
/// it returns nothing touches lws. The `ServiceLoop` object must outlive its context: the context's
/// user pointer refers to it unretained, and `stop()` (or deinit's precondition) guarantees order.
public final class ServiceLoop: @unchecked Sendable {
    // @unchecked Sendable: the mutable state below is touched only on the service thread, except
    // `state` and the mailbox, which are synchronised.
    public let identity = LoopIdentity()
    public let limits: ConnectionLimits
    public let backend: EventBackend
    let listen: ListenConfiguration?
    let tickMillis: Int
    let clientCAPath: String?
    let logger: Logger
    let mailbox = Mailbox()

    /// The context pointer, shared with other threads only for `lws_cancel_service`, which lws
    /// documents as safe to call from any thread.
    private struct ContextHandle: @unchecked Sendable { let pointer: OpaquePointer }
    private enum State { case idle, running(ContextHandle), stopping, stopped }
    private let state = Mutex<State>(.idle)
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    // Service-thread state.
    var handler: (any TransportHandler)?
    var context: OpaquePointer?
    var nextConnectionID: UInt64 = 1
    var pendingClients: [OpaquePointer: UInt64] = [:]
    private var timer: UnsafeMutablePointer<wr_timer_t>?
    /// The libev loop the context runs on (`EventBackend.libev`): created before the context,
    /// destroyed after it, run only by the service thread.
    private var eventLoop: UnsafeMutableRawPointer?
    private let startedAtMillis = ServiceLoop.monotonicMillis()
    // C strings and arrays handed to lws; they outlive the context.
    private var retained: [UnsafeMutableRawPointer] = []
    /// The listening vhost's OpenSSL `SSL_CTX`, owned by lws and valid until the context is
    /// destroyed; touched on the service thread only (certificate reloads).
    var serverTLSContext: UnsafeMutableRawPointer?

    /// - Parameter clientCAPath: PEM CA bundle a client loop trusts for `wss://` servers (nil: the system's).
    public init(
        listen: ListenConfiguration?, limits: ConnectionLimits, tickMillis: Int = 100, clientCAPath: String? = nil,
        backend: EventBackend = .libev, logger: Logger
    ) {
        self.listen = listen
        self.limits = limits
        self.backend = backend
        self.tickMillis = tickMillis
        self.clientCAPath = clientCAPath
        self.logger = logger
    }

    deinit {
        for p in retained { free(p) }
        timer?.deallocate()
    }

    /// Milliseconds since the loop was created, monotonic.
    public var nowMillis: Int64 { Self.monotonicMillis() - startedAtMillis }

    /// `CLOCK_MONOTONIC` in milliseconds. Read for every packet: `clock_gettime` is a vDSO call,
    /// where `ContinuousClock`'s `Duration` arithmetic costs 128-bit multiplications (profile, docs/benchmarks.md).
    private static func monotonicMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Starts the service thread with `handler`, which from now on is used on that thread only.
    /// - Returns: the port listened on (0 for a loop that only connects out).
    public func start(handler: any TransportHandler) throws(TransportError) -> Int {
        let outcome = StartOutcome()
        let ready = DispatchSemaphore(value: 0)
        let handlerBox = UncheckedBox(handler)
        let alreadyStarted = state.withLock { state -> Bool in
            if case .idle = state { state = .stopping; return false }
            return true
        }
        if alreadyStarted { throw .alreadyStarted }
        let threadName = listen == nil ? "wr-client-loop" : "wr-service"
        let thread = Thread { [self] in
            nameCurrentThread(threadName)  // for top -H, ps -L and perf (docs/operations.md)
            identity.bindToCurrentThread()
            self.handler = handlerBox.value
            let result = createContext()
            outcome.set(result)
            guard case .success = result, let context else {
                state.withLock { $0 = .stopped }
                ready.signal()
                finished.signal()
                return
            }
            state.withLock { $0 = .running(ContextHandle(pointer: context)) }
            ready.signal()
            scheduleTick()
            while !stopRequested.load(ordering: .acquiring) {
                if let eventLoop {
                    wr_ev_run_once(eventLoop)
                } else if lws_service(context, 0) < 0 {
                    break
                }
            }
            drainMailbox()
            lws_context_destroy(context)
            self.context = nil
            destroyEventLoop()
            self.handler = nil
            state.withLock { $0 = .stopped }
            finished.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        ready.wait()
        return try outcome.get()
    }

    /// Runs `job` on the service thread soon. Safe from any thread; never blocks on the loop.
    /// Jobs posted after `stop()` began are dropped.
    public func execute(_ job: @escaping @Sendable () -> Void) {
        let context: ContextHandle? = state.withLock { state in
            if case .running(let c) = state { return c }
            return nil
        }
        guard let context else { return }
        if mailbox.post(job) { lws_cancel_service(context.pointer) }
    }

    /// Loads the certificate and key files again (same paths) for new TLS handshakes; open
    /// connections keep theirs. Completes on the service thread with nil, or why nothing changed.
    public func reloadCertificate(completion: @escaping @Sendable (String?) -> Void) {
        guard let listen, let cert = listen.tlsCertificatePath, let key = listen.tlsKeyPath else {
            return completion("TLS is not configured")
        }
        execute { [self] in
            guard let ctx = serverTLSContext else { return completion("the TLS context is not available") }
            var reason = [CChar](repeating: 0, count: 256)
            if wr_ssl_ctx_reload(ctx, cert, key, &reason, reason.count) == 0 {
                completion(nil)
            } else {
                completion(string(fromCBuffer: reason))
            }
        }
    }

    /// Stops the service thread and destroys the context there. Blocks until done. Idempotent.
    public func stop() {
        let context: ContextHandle? = state.withLock { state in
            switch state {
            case .running(let c):
                state = .stopping
                return c
            case .idle:
                state = .stopped
                return nil
            case .stopping, .stopped:
                return nil
            }
        }
        guard let context else { return }
        stopRequested.store(true, ordering: .releasing)
        lws_cancel_service(context.pointer)
        finished.wait()
    }

    // MARK: Service thread

    func drainMailbox() {
        for job in mailbox.drain() { job() }
    }

    func makeConnection(wsi: OpaquePointer, path: String) -> WebSocketConnection {
        let connection = WebSocketConnection(
            id: nextConnectionID, wsi: wsi, peerAddress: peerAddress(wsi), path: path, openedAtMillis: nowMillis,
            limits: limits)
        nextConnectionID += 1
        return connection
    }

    fileprivate func tickFired() {
        guard !stopRequested.load(ordering: .acquiring) else { return }
        handler?.tick(nowMillis: nowMillis)
        scheduleTick()
    }

    private func scheduleTick() {
        guard let context else { return }
        if timer == nil {
            timer = .allocate(capacity: 1)
            timer!.initialize(to: wr_timer_t())
            timer!.pointee.user = Unmanaged.passUnretained(self).toOpaque()
        }
        let sul = UnsafeMutableRawPointer(timer!).assumingMemoryBound(to: lws_sorted_usec_list_t.self)
        lws_sul_schedule(context, 0, sul, serviceLoopTick, lws_usec_t(tickMillis) * 1000)
    }

    private func cString(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        retained.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    private func createContext() -> Result<Int, TransportError> {
        LWSLog.install(logger)
        var info = lws_context_creation_info()
        let protocols = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
        retained.append(UnsafeMutableRawPointer(protocols))
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = cString("windowrelay")
        protocols[0].callback = serviceLoopCallback
        protocols[0].per_session_data_size = MemoryLayout<UnsafeMutableRawPointer>.size
        protocols[0].rx_buffer_size = 0
        info.protocols = UnsafePointer(protocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        // Not LWS_SERVER_OPTION_VALIDATE_UTF8: lws 4.1 also applies it to a pong that follows a text
        // frame, so the binary payload of our heartbeat pings closed every client with 1007. Whole
        // text messages are checked in `receive` instead.
        info.options = wr_option_do_ssl_global_init()
        info.gid = -1
        info.uid = -1
        info.fd_limit_per_thread = 0

        let retry = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        retained.append(UnsafeMutableRawPointer(retry))
        retry.initialize(to: lws_retry_bo_t())

        if let listen {
            if let problem = unreadableTLSFile(listen) { return .failure(.certificateUnreadable(path: problem)) }
            info.port = Int32(listen.port)
            if let iface = Self.interfaceName(forAddress: listen.host) { info.iface = cString(iface) }
            info.max_http_header_data = UInt16(clamping: listen.maxHTTPHeaderBytes)
            info.timeout_secs = 10
            retry.pointee.secs_since_valid_ping = UInt16(clamping: listen.idlePingSeconds)
            retry.pointee.secs_since_valid_hangup = UInt16(clamping: listen.idleHangupSeconds)
            if listen.usesTLS {
                info.ssl_cert_filepath = cString(listen.tlsCertificatePath!)
                info.ssl_private_key_filepath = cString(listen.tlsKeyPath!)
                info.ssl_options_set = wr_ssl_options_tls12_minimum()
                info.ssl_cipher_list = cString(
                    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
                info.alpn = cString("http/1.1")
                if let ca = listen.tlsClientCAPath {
                    // Client certificates are asked for and must chain to `ca` when presented, but
                    // are optional: applicant tablets and ops have none (the relay decides per token).
                    info.ssl_ca_filepath = cString(ca)
                    info.options |= wr_option_require_valid_client_cert() | wr_option_peer_cert_not_required()
                }
            }
        } else {
            info.port = -1  // CONTEXT_PORT_NO_LISTEN
            if let clientCAPath { info.client_ssl_ca_filepath = cString(clientCAPath) }
            retry.pointee.secs_since_valid_ping = 30
            retry.pointee.secs_since_valid_hangup = 60
        }
        info.retry_and_idle_policy = UnsafePointer(retry)

        if backend == .libev {
            // A foreign loop: ours to run and to break (lws puts no signal watchers on it).
            guard let eventLoop = wr_ev_loop_new() else { return .failure(.eventLoopUnavailable) }
            self.eventLoop = eventLoop
            let loops = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
            retained.append(UnsafeMutableRawPointer(loops))
            loops.initialize(to: eventLoop)
            info.foreign_loops = loops
            info.options |= wr_option_libev()
        }

        guard let context = lws_create_context(&info) else {
            destroyEventLoop()
            if backend == .libev, !Self.libevPluginLoads() { return .failure(.eventLoopUnavailable) }
            if let listen { return .failure(.cannotListen(host: listen.host, port: listen.port)) }
            return .failure(.contextCreationFailed)
        }
        // Said once per server loop (ops can see which loop a relay runs on); client loops say it at debug.
        let mechanism = eventLoop.map { "libev \(String(cString: wr_ev_backend_name($0)))" } ?? "lws poll"
        logger.log(level: listen == nil ? .debug : .info, "event loop", metadata: ["backend": "\(mechanism)"])
        self.context = context
        guard listen != nil else { return .success(0) }
        guard let vhost = lws_get_vhost_by_name(context, "default") else {
            return .success(listen!.port)
        }
        let port = Int(lws_get_vhost_listen_port(vhost))
        if port <= 0 {
            lws_context_destroy(context)
            self.context = nil
            destroyEventLoop()
            return .failure(.cannotListen(host: listen!.host, port: listen!.port))
        }
        return .success(port)
    }

    /// lws loads its libev support from a plugin at context creation and only logs when it cannot;
    /// this tells that failure from a port that cannot be bound.
    private static func libevPluginLoads() -> Bool {
        guard let plugin = dlopen("libwebsockets-evlib_ev.so", RTLD_LAZY) else { return false }
        dlclose(plugin)
        return true
    }

    private func destroyEventLoop() {
        guard let eventLoop else { return }
        wr_ev_loop_destroy(eventLoop)
        self.eventLoop = nil
    }

    private func unreadableTLSFile(_ listen: ListenConfiguration) -> String? {
        for path in [listen.tlsCertificatePath, listen.tlsKeyPath, listen.tlsClientCAPath].compactMap({ $0 })
        where access(path, R_OK) != 0 {
            return path
        }
        return nil
    }

    /// lws binds a named interface reliably, an address string not always (LIBWEBSOCKETS.md):
    /// map an address to the interface that has it. nil for "every address".
    static func interfaceName(forAddress host: String) -> String? {
        if host.isEmpty || host == "0.0.0.0" || host == "::" || host == "*" { return nil }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return host }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr else { continue }
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socklen_t(
                addr.pointee.sa_family == sa_family_t(AF_INET6)
                    ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
            guard addr.pointee.sa_family == sa_family_t(AF_INET) || addr.pointee.sa_family == sa_family_t(AF_INET6),
                getnameinfo(addr, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            if string(fromCBuffer: buffer) == host { return String(cString: entry.pointee.ifa_name) }
        }
        return host
    }
}

/// The result of creating the context, handed from the service thread to `start`'s caller.
private final class StartOutcome: Sendable {
    private let value = Mutex<Result<Int, TransportError>>(.failure(.contextCreationFailed))
    func set(_ result: Result<Int, TransportError>) { value.withLock { $0 = result } }
    func get() throws(TransportError) -> Int { try value.withLock { $0 }.get() }
}

/// The common name of the peer's TLS client certificate, nil when it presented none.
func clientCertificateName(_ wsi: OpaquePointer) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    guard wr_peer_cert_common_name(wsi, &buffer, buffer.count) == 0 else { return nil }
    return string(fromCBuffer: buffer)
}

/// The peer address of a connection as text ("" when unknown).
func peerAddress(_ wsi: OpaquePointer) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    guard lws_get_peer_simple(wsi, &buffer, buffer.count) != nil else { return "" }
    return string(fromCBuffer: buffer)
}

/// A NUL-terminated C string in a buffer, as a Swift string.
func string(fromCBuffer buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

/// Moves a non-Sendable value to the thread that will own it; used once, at start.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

private func serviceLoopTick(_ sul: UnsafeMutablePointer<lws_sorted_usec_list_t>?) {
    guard let sul, let user = wr_timer_user(sul) else { return }
    Unmanaged<ServiceLoop>.fromOpaque(user).takeUnretainedValue().tickFired()
}

/// Routes lws's own log lines into swift-log.
enum LWSLog {
    private static let sink = Mutex<Logger?>(nil)

    static func install(_ logger: Logger) {
        sink.withLock { $0 = logger }
        lws_set_log_level(Int32(LLL_ERR | LLL_WARN), lwsLogEmit)
    }

    static func emit(level: Int32, line: String) {
        guard let logger = sink.withLock({ $0 }) else { return }
        let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if level & Int32(LLL_ERR) != 0 {
            logger.error("lws: \(text)")
        } else {
            logger.warning("lws: \(text)")
        }
    }
}

private func lwsLogEmit(_ level: Int32, _ line: UnsafePointer<CChar>?) {
    guard let line else { return }
    LWSLog.emit(level: level, line: String(cString: line))
}
