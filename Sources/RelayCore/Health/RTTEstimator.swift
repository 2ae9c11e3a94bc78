/// A participant's round-trip time from heartbeat pings: the last sample and a smoothed value.
///
/// Smoothing is TCP's SRTT (RFC 6298): the first sample sets it, then SRTT += (sample − SRTT) / 8.
public struct RTTEstimator: Sendable, Hashable {
    /// The latest round trip (ms), nil before the first pong.
    public private(set) var lastMs: Double?
    /// The smoothed round trip (ms), nil before the first pong.
    public private(set) var smoothedMs: Double?

    public init() {}

    /// Notes a pong for the ping sent at `sentMillis`, received at `receivedMillis` (same clock).
    ///
    /// A sample that is negative or not finite (a clock mix-up) is ignored; the result says whether
    /// the sample was taken.
    @discardableResult
    public mutating func record(sentMillis: Double, receivedMillis: Double) -> Bool {
        let sample = receivedMillis - sentMillis
        guard sample.isFinite, sample >= 0 else { return false }
        lastMs = sample
        if let smoothed = smoothedMs {
            smoothedMs = smoothed + (sample - smoothed) / 8
        } else {
            smoothedMs = sample
        }
        return true
    }
}

/// The payload of a heartbeat ping: the sender's clock reading, which the pong echoes back.
///
/// 12 bytes: the timestamp as a big-endian UInt64 (any clock the sender chooses, e.g. monotonic
/// nanoseconds or milliseconds), then the 32-bit FNV-1a hash of those 8 bytes, big-endian, so that
/// a pong that is short, padded or garbled, or answers someone else's ping, is not taken for ours.
public enum PingPayload {
    public static let size = 12

    public static func encode(_ timestamp: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(size)
        withUnsafeBytes(of: timestamp.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: check(out).bigEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The timestamp of a pong's payload, or an error when it is not one of our pings.
    public static func decode(_ payload: some Collection<UInt8>) throws(PingPayloadError) -> UInt64 {
        let bytes = Array(payload)
        guard bytes.count == size else { throw .wrongSize(bytes.count) }
        let timestamp = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let stored = bytes[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard stored == check(bytes[0..<8]) else { throw .checkMismatch }
        return timestamp
    }

    /// FNV-1a, 32 bits.
    private static func check(_ bytes: some Sequence<UInt8>) -> UInt32 {
        bytes.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
    }
}

/// Why a pong payload was not taken as the answer to one of our pings.
public enum PingPayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    case wrongSize(Int)
    case checkMismatch

    public var description: String {
        switch self {
        case .wrongSize(let n): "pong payload of \(n) bytes is not a \(PingPayload.size)-byte ping payload"
        case .checkMismatch: "pong payload check does not match: it is garbled or not from our ping"
        }
    }
}
