import COpus

/// Checks of single Opus packets (RFC 6716) as they arrive on the wire (PROTOCOL §6).
public enum OpusPacket {
    /// The sizes PROTOCOL §6 allows for one packet.
    public static let sizeRange = 1...1275

    /// Samples per channel at 48 kHz that `bytes` decodes to, or `nil` when the size is outside
    /// 1…1275 or libopus rejects its framing (TOC byte, frame count and frame lengths, duration
    /// over 120 ms).
    ///
    /// Uses `opus_packet_parse` (frame lengths against the packet length) and
    /// `opus_packet_get_nb_samples`; `opus_packet_get_nb_frames` alone would accept garbage.
    /// The payload itself is not decoded: a well-framed packet with a corrupt payload passes.
    public static func validate(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard sizeRange.contains(bytes.count), let base = bytes.baseAddress else { return nil }
        let data = base.assumingMemoryBound(to: UInt8.self)
        let length = Int32(bytes.count)
        // The frame sizes libopus fills in (at most 48 frames) live on the stack: this runs for
        // every audio packet, twice (the loop's check and the recorder's), and must not allocate.
        let frames = withUnsafeTemporaryAllocation(of: Int16.self, capacity: 48) { sizes in
            opus_packet_parse(data, length, nil, nil, sizes.baseAddress!, nil)
        }
        guard frames > 0 else { return nil }
        let samples = opus_packet_get_nb_samples(data, length, 48_000)
        return samples > 0 ? Int(samples) : nil
    }

    /// `validate` for bytes in any collection.
    public static func validate(_ bytes: some Collection<UInt8>) -> Int? {
        if let result = bytes.withContiguousStorageIfAvailable({ validate(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { validate($0) }
    }
}

extension OpusPacket {
    /// A one-byte packet standing for one lost frame: the TOC byte of `packet` with frame count
    /// code 0 and no frame data (RFC 6716 §3.2.1: a zero-length frame is lost or DTX; decoders
    /// conceal it). Returns the filler and the samples it covers at 48 kHz.
    static func lossFiller(like packet: UnsafeRawBufferPointer) -> (toc: UInt8, samples: Int) {
        var toc = packet[0] & 0xFC
        let samples = withUnsafeBytes(of: &toc) {
            opus_packet_get_samples_per_frame($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 48_000)
        }
        return (toc, Int(samples))
    }
}
