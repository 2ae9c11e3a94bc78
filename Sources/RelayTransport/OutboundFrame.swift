import CLibWebSockets

/// One outgoing WebSocket payload in a buffer with the headroom lws writes its frame header into.
///
/// Server frames are unmasked, so the header lws writes for a given payload is the same for every
/// receiver: one `OutboundFrame` is shared by all receivers of a forwarded packet, with no copy per
/// receiver. (A client masks its payload in place: a client frame is never shared.)
/// Loop-bound: created and written on the service thread.
public final class OutboundFrame {
    /// lws's `LWS_PRE`.
    public static let headroom = wr_lws_pre()

    let storage: UnsafeMutableRawPointer
    public let count: Int
    public let isBinary: Bool

    /// Copies `bytes` once into a frame.
    public init(copying bytes: UnsafeRawBufferPointer, binary: Bool) {
        count = bytes.count
        isBinary = binary
        storage = .allocate(byteCount: Self.headroom + max(count, 1), alignment: 16)
        if let base = bytes.baseAddress, count > 0 {
            (storage + Self.headroom).copyMemory(from: base, byteCount: count)
        }
    }

    /// Copies `bytes` once into a frame.
    public init(_ bytes: [UInt8], binary: Bool) {
        count = bytes.count
        isBinary = binary
        storage = .allocate(byteCount: Self.headroom + max(count, 1), alignment: 16)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress, source.count > 0 {
                (storage + Self.headroom).copyMemory(from: base, byteCount: source.count)
            }
        }
    }

    /// Makes a frame of `count` bytes filled in place by `fill`.
    public init(count: Int, binary: Bool, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        self.count = count
        isBinary = binary
        storage = .allocate(byteCount: Self.headroom + max(count, 1), alignment: 16)
        fill(UnsafeMutableRawBufferPointer(start: storage + Self.headroom, count: count))
    }

    deinit { storage.deallocate() }

    var payload: UnsafeMutableRawPointer { storage + Self.headroom }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: payload, count: count) }
}

@available(*, unavailable)
extension OutboundFrame: Sendable {}
