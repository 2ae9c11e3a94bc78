import CLibWebSockets

/// One WebSocket connection, server or client side. Loop-bound: every method runs on the
/// service thread that owns the connection.
///
/// Lifetime: lws's per-connection user area holds one retained reference from the moment the
/// connection is established until lws reports it closed; then `wsi` becomes nil and sending is a
/// no-op. Whoever else keeps a reference (the server's tables) may outlive the socket safely.
public final class WebSocketConnection {
    /// The outgoing queue's contents.
    enum Outbound {
        case frame(OutboundFrame)
        case ping([UInt8])
        case close(code: UInt16, reason: String)
    }

    public enum CloseCause: Sendable, Equatable {
        /// The send queue went past its limit (PROTOCOL §6: close 4408).
        case sendQueueOverflow
    }

    /// Unique for the life of the process.
    public let id: UInt64
    /// The peer's address as text.
    public let peerAddress: String
    /// The request path of the upgrade (server side) or the connect path (client side).
    public let path: String
    /// Milliseconds since the loop started, when the connection was established.
    public let openedAtMillis: Int64

    var wsi: OpaquePointer?
    var queue: SendQueue<Outbound>
    var assembler: MessageAssembler
    var closeRequested = false
    /// Close code and reason the peer sent, if it closed first.
    public internal(set) var peerCloseCode: UInt16?
    public internal(set) var peerCloseReason: String?
    /// The `Accept-Language` header of the upgrade request (server side), if it had one.
    public internal(set) var acceptLanguage: String?
    /// The common name of the client certificate the peer presented (mutual TLS), checked against
    /// `tls.clientCA`; nil without one.
    public internal(set) var clientCertificateName: String?

    /// Media frames dropped for this receiver (slow reader).
    public var droppedMediaFrames: Int { queue.droppedMediaFrames }
    public var queuedBytes: Int { queue.queuedBytes }
    public var isOpen: Bool { wsi != nil && !closeRequested }

    /// Arbitrary per-connection state the owner attaches (loop-bound like the connection).
    public var context: AnyObject?

    /// Called (on the loop) when sending overflowed and the connection is being closed with 4408.
    public var onOverflow: ((WebSocketConnection) -> Void)?

    init(
        id: UInt64,
        wsi: OpaquePointer,
        peerAddress: String,
        path: String,
        openedAtMillis: Int64,
        limits: ConnectionLimits
    ) {
        self.id = id
        self.wsi = wsi
        self.peerAddress = peerAddress
        self.path = path
        self.openedAtMillis = openedAtMillis
        self.queue = SendQueue(limitBytes: limits.sendQueueBytes, mediaBudgetBytes: limits.mediaBudgetBytes)
        self.assembler = MessageAssembler(maxMessageBytes: limits.maxMessageBytes)
    }

    /// Queues a text message (never dropped).
    public func send(text bytes: [UInt8]) {
        send(OutboundFrame(bytes, binary: false), as: .message)
    }

    /// Queues a frame. Media frames may be dropped oldest-first for a slow receiver; the same
    /// frame may be queued on many connections.
    /// - Returns: false when the connection is closed or was closed for overflow by this call.
    @discardableResult
    public func send(_ frame: OutboundFrame, as frameClass: FrameClass) -> Bool {
        guard let wsi, !closeRequested else { return false }
        switch queue.enqueue(.frame(frame), frameClass: frameClass, bytes: frame.count) {
        case .queued, .queuedDroppingMedia:
            if queue.count == 1 { lws_callback_on_writable(wsi) }
            return true
        case .overflow:
            onOverflow?(self)
            close(code: 4408, reason: "send queue overflow", discardingQueued: true)
            return false
        }
    }

    /// Queues a ping with `payload` (at most 125 bytes).
    public func ping(payload: [UInt8]) {
        guard let wsi, !closeRequested, payload.count <= 125 else { return }
        _ = queue.enqueue(.ping(payload), frameClass: .control, bytes: payload.count)
        if queue.count == 1 { lws_callback_on_writable(wsi) }
    }

    /// Closes with `code` after what is already queued has been written (or at once, discarding
    /// it). Further sends are ignored.
    public func close(code: UInt16, reason: String, discardingQueued: Bool = false) {
        guard let wsi, !closeRequested else { return }
        if discardingQueued { queue.removeAll() }
        closeRequested = true
        _ = queue.enqueue(.close(code: code, reason: String(reason.utf8.prefix(120)) ?? ""), frameClass: .control, bytes: 0)
        lws_callback_on_writable(wsi)
    }

    /// True while `pauseReceiving` holds the connection's input.
    public private(set) var isReceivingPaused = false

    /// Stops reading from the socket (TCP backpressure reaches the sender) until `resumeReceiving`.
    /// Messages already read may still arrive. Idempotent.
    public func pauseReceiving() {
        guard let wsi, !isReceivingPaused else { return }
        isReceivingPaused = true
        _ = lws_rx_flow_control(wsi, Int32(LWS_RXFLOW_REASON_APPLIES_DISABLE | LWS_RXFLOW_REASON_USER_BOOL))
    }

    /// Reads from the socket again. Safe outside the connection's own callbacks (for example from a job posted
    /// to the loop): the change applies at once. Idempotent.
    public func resumeReceiving() {
        guard let wsi, isReceivingPaused else { return }
        isReceivingPaused = false
        let flags = LWS_RXFLOW_REASON_APPLIES_ENABLE | LWS_RXFLOW_REASON_USER_BOOL | LWS_RXFLOW_REASON_FLAG_PROCESS_NOW
        _ = lws_rx_flow_control(wsi, Int32(flags))
    }

    /// Writes queued frames while the socket takes them. Returns -1 to have lws close.
    func writeQueued() -> Int32 {
        guard let wsi else { return -1 }
        var budget = 16
        while budget > 0, !queue.isEmpty {
            if budget < 16, lws_send_pipe_choked(wsi) != 0 { break }
            // Taken off before it is written: a failed write closes the connection anyway.
            let item = queue.removeFirst()
            switch item.payload {
            case .frame(let frame):
                let n = lws_write(
                    wsi, frame.payload.assumingMemoryBound(to: UInt8.self), frame.count,
                    frame.isBinary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT)
                if n < 0 { return -1 }
            case .ping(let payload):
                var buffer = [UInt8](repeating: 0, count: OutboundFrame.headroom + payload.count)
                buffer.replaceSubrange(OutboundFrame.headroom..., with: payload)
                let n = buffer.withUnsafeMutableBufferPointer { p in
                    lws_write(wsi, p.baseAddress! + OutboundFrame.headroom, payload.count, LWS_WRITE_PING)
                }
                if n < 0 { return -1 }
            case .close(let code, let reason):
                var reasonBytes = Array(reason.utf8)
                reasonBytes.withUnsafeMutableBufferPointer { p in
                    lws_close_reason(wsi, lws_close_status(UInt32(code)), p.baseAddress, p.count)
                }
                queue.removeAll()
                return -1
            }
            budget -= 1
        }
        if !queue.isEmpty { lws_callback_on_writable(wsi) }
        return 0
    }
}

@available(*, unavailable)
extension WebSocketConnection: Sendable {}

/// Per-connection limits the transport applies.
public struct ConnectionLimits: Sendable, Hashable {
    public var maxMessageBytes: Int
    public var sendQueueBytes: Int
    /// How much media may wait for one receiver before its oldest media is dropped.
    public var mediaBudgetBytes: Int

    public init(maxMessageBytes: Int = 1 << 20, sendQueueBytes: Int = 4 << 20, mediaBudgetBytes: Int = 64 << 10) {
        self.maxMessageBytes = maxMessageBytes
        self.sendQueueBytes = sendQueueBytes
        self.mediaBudgetBytes = mediaBudgetBytes
    }
}
