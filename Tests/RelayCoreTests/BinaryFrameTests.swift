import RelayCore
import Testing

@Suite struct BinaryFrameTests {
    private func parse(_ bytes: [UInt8]) throws(BinaryFrameError) -> BinaryFrame {
        try bytes.withUnsafeBytes { raw in Result { () throws(BinaryFrameError) in try BinaryFrame.parse(raw) } }.get()
    }

    private func failure(_ bytes: [UInt8]) -> BinaryFrameError? {
        do {
            _ = try parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func audioLayoutIsBigEndian() throws {
        let header = BinaryFrame.AudioHeader(track: 0x0102, seq: 0xFFFE, timestamp: 0x0102_0304)
        let bytes = try BinaryFrame.encodeAudio(header, payload: [0xAA, 0xBB])
        #expect(bytes == [0x01, 0x01, 0x02, 0xFF, 0xFE, 0x01, 0x02, 0x03, 0x04, 0xAA, 0xBB])
        let frame = try parse(bytes)
        #expect(frame == .audio(header, payload: 9..<11))
        #expect(frame.kind == .audio)
        #expect(Array(bytes[frame.payload]) == [0xAA, 0xBB])
    }

    @Test func documentChunkLayout() throws {
        let header = BinaryFrame.DocumentChunkHeader(upload: 7, offset: 0x1_0000_0005)
        let bytes = try BinaryFrame.encodeDocumentChunk(header, payload: [0x25, 0x50, 0x44, 0x46])
        #expect(bytes == [0x02, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 5, 0x25, 0x50, 0x44, 0x46])
        #expect(try parse(bytes) == .documentChunk(header, payload: 13..<17))
    }

    @Test func videoLayoutAndKeyframeFlag() throws {
        let header = BinaryFrame.VideoHeader(track: 2, seq: 9, timestamp: 90_000, flags: 0x81)
        let bytes = try BinaryFrame.encodeVideo(header, payload: [0x65])
        #expect(bytes == [0x03, 0, 2, 0, 9, 0x00, 0x01, 0x5F, 0x90, 0x81, 0x65])
        let frame = try parse(bytes)
        #expect(frame == .video(header, payload: 10..<11))
        guard case .video(let parsed, _) = frame else { return }
        #expect(parsed.isKeyframe)
        #expect(!BinaryFrame.VideoHeader(track: 2, seq: 9, timestamp: 0, flags: 0x80).isKeyframe)
    }

    @Test func parsesFromACollectionWithOffsetsFromItsFirstByte() throws {
        let bytes: [UInt8] = [0xEE, 0xEE, 0x01, 0x00, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0x42]
        let frame = try BinaryFrame.parse(bytes[2...])
        #expect(frame == .audio(.init(track: 3, seq: 1, timestamp: 0), payload: 9..<10))
        #expect(try BinaryFrame.parse(bytes[2...].lazy.map { $0 }) == frame)
    }

    @Test func audioPayloadLimits() throws {
        let header = BinaryFrame.AudioHeader(track: 1, seq: 0, timestamp: 0)
        let largest = try BinaryFrame.encodeAudio(header, payload: [UInt8](repeating: 7, count: 1275))
        #expect(largest.count == 1284)
        #expect(try parse(largest).payload == 9..<1284)
        #expect(failure(largest + [7]) == .payloadTooLarge(.audio, max: 1275, got: 1276))
        #expect(throws: BinaryFrameError.payloadTooLarge(.audio, max: 1275, got: 1276)) {
            try BinaryFrame.encodeAudio(header, payload: [UInt8](repeating: 7, count: 1276))
        }
        #expect(throws: BinaryFrameError.emptyPayload(.audio)) { try BinaryFrame.encodeAudio(header, payload: []) }
        #expect(throws: BinaryFrameError.emptyPayload(.documentChunk)) {
            try BinaryFrame.encodeDocumentChunk(.init(upload: 1, offset: 0), payload: [])
        }
    }

    @Test func refusesMalformedFrames() {
        #expect(failure([]) == .empty)
        #expect(failure([0x07, 1, 2, 3]) == .unknownKind(0x07))
        #expect(failure([0x00]) == .unknownKind(0x00))
        #expect(failure([0x01, 0, 1, 0, 1, 0, 0, 0]) == .shortHeader(.audio, needed: 9, got: 8))
        #expect(failure([0x02, 0, 0, 0, 1]) == .shortHeader(.documentChunk, needed: 13, got: 5))
        #expect(failure([0x03, 0, 1, 0, 1, 0, 0, 0, 0]) == .shortHeader(.video, needed: 10, got: 9))
        #expect(failure([0x01, 0, 1, 0, 1, 0, 0, 0, 0]) == .emptyPayload(.audio))
        #expect(failure([0x02] + [UInt8](repeating: 0, count: 12)) == .emptyPayload(.documentChunk))
        #expect(failure([0x03] + [UInt8](repeating: 0, count: 9)) == .emptyPayload(.video))
    }

    @Test func errorDescriptionsSayWhatToChange() {
        #expect(
            BinaryFrameError.unknownKind(0x07).description
                == "unknown binary message kind 0x07: "
                + "the first byte must be 0x01 audio, 0x02 document chunk or 0x03 video"
        )
        #expect(
            BinaryFrameError.shortHeader(.documentChunk, needed: 13, got: 5).description
                == "document chunk frame of 5 bytes is shorter than its 13-byte header"
        )
        #expect(
            BinaryFrameError.emptyPayload(.audio).description
                == "audio frame has no payload: send at least one byte after the header"
        )
        #expect(
            BinaryFrameError.payloadTooLarge(.audio, max: 1275, got: 1276).description
                == "audio frame payload of 1276 bytes is over the 1275-byte limit"
        )
    }
}
