import COpus
import Foundation

/// Encodes 48 kHz mono PCM to Opus packets (VOIP mode) for test clients and the load generator.
///
/// Not thread-safe; one encoder per simulated microphone.
public final class OpusEncoder {
    /// Samples in one 20 ms frame at 48 kHz.
    public static let frameSamples = 960

    /// The libopus `OpusEncoder`, owned by this object and freed in `deinit`.
    private let encoder: OpaquePointer
    private var output = [UInt8](repeating: 0, count: OpusPacket.sizeRange.upperBound)

    /// - Parameters:
    ///   - bitrate: bits per second (libopus accepts 500…512000).
    ///   - complexity: 0…10; `nil` keeps libopus's default.
    public init(bitrate: Int = 24_000, complexity: Int? = nil) throws(OpusError) {
        var error: Int32 = 0
        let encoder = opus_encoder_create(48_000, 1, OPUS_APPLICATION_VOIP, &error)
        try OpusError.check(error, "opus_encoder_create")
        guard let encoder else { throw OpusError(code: OPUS_ALLOC_FAIL, operation: "opus_encoder_create") }
        self.encoder = encoder
        try setBitrate(bitrate)
        if let complexity {
            try OpusError.check(
                windowrelay_opus_encoder_set(encoder, OPUS_SET_COMPLEXITY_REQUEST, Int32(clamping: complexity)),
                "OPUS_SET_COMPLEXITY"
            )
        }
    }

    deinit {
        opus_encoder_destroy(encoder)
    }

    /// The target bitrate in bits per second.
    public var bitrate: Int {
        Int(get(OPUS_GET_BITRATE_REQUEST))
    }

    /// Changes the target bitrate (bits per second).
    public func setBitrate(_ bitsPerSecond: Int) throws(OpusError) {
        try OpusError.check(
            windowrelay_opus_encoder_set(encoder, OPUS_SET_BITRATE_REQUEST, Int32(clamping: bitsPerSecond)),
            "OPUS_SET_BITRATE"
        )
    }

    /// The encoder's delay in samples at 48 kHz: the Ogg Opus pre-skip (312 in VOIP mode).
    public var lookahead: Int {
        Int(get(OPUS_GET_LOOKAHEAD_REQUEST))
    }

    /// One packet for `pcm`, whose count must be an Opus frame size (960 for 20 ms).
    public func encode(pcm: [Int16]) throws(OpusError) -> [UInt8] {
        try pcm.withUnsafeBufferPointer { buffer throws(OpusError) in try encode(pcm: buffer) }
    }

    /// One packet for the samples in `pcm` (an Opus frame size: 120, 240, 480, 960, 1920 or 2880).
    public func encode(pcm: UnsafeBufferPointer<Int16>) throws(OpusError) -> [UInt8] {
        guard let samples = pcm.baseAddress else { throw OpusError(code: OPUS_BAD_ARG, operation: "opus_encode") }
        let capacity = Int32(output.count)
        let written = output.withUnsafeMutableBufferPointer {
            opus_encode(encoder, samples, Int32(clamping: pcm.count), $0.baseAddress!, capacity)
        }
        try OpusError.check(written, "opus_encode")
        return Array(output[0..<Int(written)])
    }

    private func get(_ request: Int32) -> Int32 {
        var value: Int32 = 0
        let result = windowrelay_opus_encoder_get(encoder, request, &value)
        precondition(result == OPUS_OK, "libopus refused get request \(request) on a live encoder")
        return value
    }
}

extension OpusEncoder {
    /// `count` samples of a sine wave at `frequency` Hz and peak `amplitude` (0…1 of full scale),
    /// starting at sample index `start` so that consecutive frames join smoothly.
    public static func sine(
        frequency: Double,
        amplitude: Double = 0.5,
        count: Int = frameSamples,
        start: Int = 0,
        sampleRate: Double = 48_000
    ) -> [Int16] {
        (0..<count).map { i in
            let phase = 2 * Double.pi * frequency * Double(start + i) / sampleRate
            return Int16(clamping: Int((sin(phase) * amplitude * 32767).rounded()))
        }
    }
}

@available(*, unavailable)
extension OpusEncoder: Sendable {}
