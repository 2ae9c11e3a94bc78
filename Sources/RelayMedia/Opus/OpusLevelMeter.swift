import COpus
import Foundation

/// Decodes one audio track's Opus packets (48 kHz mono) to measure each frame's level.
///
/// One meter per track: the decoder carries state from packet to packet. Not thread-safe.
public final class OpusLevelMeter {
    /// The level reported for digital silence and anything quieter.
    public static let floorDBFS = -120.0

    /// The libopus `OpusDecoder`, owned by this object and freed in `deinit`.
    private let decoder: OpaquePointer
    /// Room for the longest packet (120 ms at 48 kHz).
    private var pcm = [Float](repeating: 0, count: 5760)

    public init() throws(OpusError) {
        var error: Int32 = 0
        let decoder = opus_decoder_create(48_000, 1, &error)
        try OpusError.check(error, "opus_decoder_create")
        guard let decoder else { throw OpusError(code: OPUS_ALLOC_FAIL, operation: "opus_decoder_create") }
        self.decoder = decoder
    }

    deinit {
        opus_decoder_destroy(decoder)
    }

    /// The RMS level in dBFS (a full-scale sine is about −3) of the frame `packet` decodes to,
    /// or `nil` when libopus cannot decode it.
    public func level(of packet: UnsafeRawBufferPointer) -> Double? {
        guard OpusPacket.sizeRange.contains(packet.count), let base = packet.baseAddress else { return nil }
        let data = base.assumingMemoryBound(to: UInt8.self)
        return decode(data, Int32(packet.count), frameSize: Int32(pcm.count))
    }

    /// `level(of:)` for bytes in any collection.
    public func level(of packet: some Collection<UInt8>) -> Double? {
        Array(packet).withUnsafeBytes { level(of: $0) }
    }

    /// Runs packet loss concealment for `samples` (a multiple of 2.5 ms, default one 20 ms
    /// frame) so the decoder's state follows a gap; returns the concealed frame's level.
    @discardableResult
    public func concealLoss(samples: Int = 960) -> Double? {
        decode(nil, 0, frameSize: Int32(min(max(samples, 0), pcm.count)))
    }

    private func decode(_ data: UnsafePointer<UInt8>?, _ length: Int32, frameSize: Int32) -> Double? {
        let decoded = pcm.withUnsafeMutableBufferPointer {
            opus_decode_float(decoder, data, length, $0.baseAddress!, frameSize, 0)
        }
        guard decoded > 0 else { return nil }
        var sum = 0.0
        for i in 0..<Int(decoded) {
            let s = Double(pcm[i])
            sum += s * s
        }
        let rms = (sum / Double(decoded)).squareRoot()
        guard rms > 0 else { return Self.floorDBFS }
        return max(20 * log10(rms), Self.floorDBFS)
    }
}

@available(*, unavailable)
extension OpusLevelMeter: Sendable {}
