import RelayMedia
import Testing

@Suite struct OpusTests {
    /// `count` consecutive 20 ms packets of a 440 Hz sine at half scale.
    static func sinePackets(_ count: Int, encoder: OpusEncoder) throws -> [[UInt8]] {
        try (0..<count).map { i in
            try encoder.encode(pcm: OpusEncoder.sine(frequency: 440, amplitude: 0.5, start: i * 960))
        }
    }

    @Test func encodedSineFrameValidatesAs960Samples() throws {
        let encoder = try OpusEncoder()
        let packet = try encoder.encode(pcm: OpusEncoder.sine(frequency: 440))
        #expect(OpusPacket.sizeRange.contains(packet.count))
        #expect(OpusPacket.validate(packet) == 960)
    }

    @Test func rejectsGarbageAndBadSizes() {
        #expect(OpusPacket.validate([0xFF, 0xFF] as [UInt8]) == nil)
        #expect(OpusPacket.validate([UInt8]()) == nil)
        #expect(OpusPacket.validate([UInt8](repeating: 0, count: 1276)) == nil)
        // Code 2 (two frames of different sizes) whose first frame claims more bytes than follow.
        #expect(OpusPacket.validate([0x02, 200, 1, 2] as [UInt8]) == nil)
        // A TOC byte alone is a valid (empty: lost or DTX) frame, here 20 ms SILK narrowband.
        #expect(OpusPacket.validate([0x08] as [UInt8]) == 960)
    }

    @Test func encoderReportsLookaheadAndBitrate() throws {
        let encoder = try OpusEncoder(bitrate: 32_000, complexity: 5)
        #expect(encoder.lookahead == 312)
        #expect(encoder.bitrate == 32_000)
        try encoder.setBitrate(16_000)
        #expect(encoder.bitrate == 16_000)
        #expect(throws: OpusError.self) { try encoder.setBitrate(-5) }
    }

    @Test func encoderRefusesOddFrameSizeWithLibopusCode() throws {
        let encoder = try OpusEncoder()
        do {
            _ = try encoder.encode(pcm: [Int16](repeating: 0, count: 100))
            Issue.record("a 100-sample frame was accepted")
        } catch {
            #expect(error.code == -1)
            #expect(error.message == "invalid argument")
        }
    }

    @Test func levelOfSineIsNearItsRMS() throws {
        let encoder = try OpusEncoder()
        let meter = try OpusLevelMeter()
        var levels: [Double] = []
        for packet in try Self.sinePackets(25, encoder: encoder) {
            levels.append(try #require(meter.level(of: packet)))
        }
        // Half-scale sine: RMS 0.5/sqrt(2), 20 log10 = -9.03 dBFS. Skip the start-up frames.
        for level in levels.suffix(10) {
            #expect(abs(level - -9.03) < 3, "level \(level)")
        }
    }

    @Test func levelOfSilenceIsBelowMinus60() throws {
        let encoder = try OpusEncoder()
        let meter = try OpusLevelMeter()
        var last: Double?
        for _ in 0..<10 {
            last = meter.level(of: try encoder.encode(pcm: [Int16](repeating: 0, count: 960)))
        }
        let level = try #require(last)
        #expect(level < -60)
        #expect(level >= OpusLevelMeter.floorDBFS)
        #expect(meter.level(of: [0xFF, 0xFF] as [UInt8]) == nil)
        #expect(meter.concealLoss() != nil)
    }
}
