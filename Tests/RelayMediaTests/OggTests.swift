import Foundation
@testable import RelayMedia
import Testing

/// A bit-at-a-time CRC-32 (poly 0x04C11DB7, init 0, no reflection): the reference for OggCRC.
func referenceCRC(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0
    for byte in bytes {
        crc ^= UInt32(byte) << 24
        for _ in 0..<8 {
            crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1
        }
    }
    return crc
}

/// The pages of an Ogg byte string: (flags, granule, sequence, segment table).
func pages(of bytes: [UInt8]) -> [(flags: UInt8, granule: Int64, sequence: UInt32, segments: [UInt8])] {
    var out: [(UInt8, Int64, UInt32, [UInt8])] = []
    var offset = 0
    while offset + 27 <= bytes.count {
        let count = Int(bytes[offset + 26])
        let segments = Array(bytes[offset + 27..<offset + 27 + count])
        let granule = Int64(bitPattern: bytes.readLittleEndian(UInt64.self, at: offset + 6))
        out.append((bytes[offset + 5], granule, bytes.readLittleEndian(UInt32.self, at: offset + 18), segments))
        offset += 27 + count + segments.reduce(0) { $0 + Int($1) }
    }
    return out
}

@Suite struct OggTests {
    @Test func crcMatchesBitwiseReference() {
        #expect(OggCRC.update(0, Array("123456789".utf8)) == referenceCRC(Array("123456789".utf8)))
        // CRC-32/MPEG-2 differs only in its initial value; with init 0 the check value is 0x89A1897F.
        #expect(referenceCRC(Array("123456789".utf8)) == 0x89A1_897F)
    }

    @Test func pageChecksumCoversPageWithFieldZeroed() {
        var page = OggPage(flags: .beginOfStream, granule: 0x0102_0304, serial: 0xDEAD_BEEF, sequence: 7)
        page.append(packet: Array("hello ogg".utf8))
        var bytes = page.bytes
        let stored = bytes.readLittleEndian(UInt32.self, at: 22)
        bytes.replaceSubrange(22..<26, with: [0, 0, 0, 0])
        #expect(stored == referenceCRC(bytes))
        #expect(Array(bytes[0..<4]) == Array("OggS".utf8))
        #expect(bytes[26] == 1 && bytes[27] == 9)
    }

    @Test(arguments: [(600, [255, 255, 90] as [UInt8]), (510, [255, 255, 0]), (60, [60]), (0, [0])])
    func lacingOfPackets(length: Int, lacing: [UInt8]) {
        var page = OggPage(granule: 0, serial: 1, sequence: 0)
        page.append(packet: [UInt8](repeating: 7, count: 3))
        page.append(packet: [UInt8](repeating: 9, count: length))
        #expect(page.segments == [3] + lacing)
        #expect(page.body.count == 3 + length)
    }

    /// The eight-bytes-at-a-time checksum (arrays) and the byte-at-a-time one (other sequences)
    /// against the bitwise reference, at lengths around multiples of 8, continued from a non-zero CRC.
    @Test(arguments: [0, 1, 7, 8, 9, 63, 1001, 4096, 4099])
    func crcOfBuffersMatchesReference(length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7 ^ $0 >> 3) }
        #expect(OggCRC.update(0, bytes) == referenceCRC(bytes))
        let half = length / 2
        #expect(OggCRC.update(OggCRC.update(0, Array(bytes[..<half])), Array(bytes[half...])) == referenceCRC(bytes))
        #expect(OggCRC.update(OggCRC.update(0, bytes[..<half]), bytes[half...]) == referenceCRC(bytes))
    }

    @Test func headerPagesAreOpusHeadThenOpusTags() {
        var writer = OggOpusWriter(serial: 42, comments: ["TRACK=3"])
        let bytes = writer.header()
        let found = pages(of: bytes)
        #expect(found.count == 2)
        #expect(found[0].flags == 0x02 && found[0].sequence == 0 && found[0].granule == 0)
        #expect(found[1].flags == 0 && found[1].sequence == 1)
        #expect(Array(bytes[28..<36]) == Array("OpusHead".utf8))
        #expect(bytes[36] == 1 && bytes[37] == 1)  // version, channels
        #expect(bytes.readLittleEndian(UInt16.self, at: 38) == 312)
        #expect(bytes.readLittleEndian(UInt32.self, at: 40) == 48_000)
        #expect(writer.header().isEmpty)
    }

    /// A valid 20 ms CELT fullband packet of `size` bytes (code 0 TOC, arbitrary payload).
    static func celtPacket(size: Int) -> [UInt8] {
        [0xFC] + [UInt8](repeating: 0x55, count: size - 1)
    }

    @Test func granulesFollowTimestampsAcrossGapsAndWrap() throws {
        let packet = Self.celtPacket(size: 60)
        var writer = OggOpusWriter(serial: 1)
        var bytes: [UInt8] = []
        let first: UInt32 = 0xFFFF_F000  // wraps after a few packets
        var timestamp = first
        for i in 0..<120 {
            if i == 60 { timestamp &+= 960 * 10 }  // ten packets lost
            bytes += writer.append(packet: packet, timestamp: timestamp)
            timestamp &+= 960
        }
        // A late packet from the past does not move time backwards.
        bytes += writer.append(packet: packet, timestamp: first &+ 960 * 5)
        bytes += writer.finish()
        let audio = Array(pages(of: bytes).dropFirst(2))
        #expect(writer.packets == 121)
        #expect(writer.concealedSamples == 10 * 960)
        #expect(writer.durationSamples == Int64(131 * 960))
        let expected: [Int64] = [50, 100, 131].map { 312 + $0 * 960 }
        #expect(audio.map(\.granule) == expected)
        #expect(audio.map(\.sequence) == [2, 3, 4])
        #expect(audio.map(\.flags) == [0, 0, 0x04])
        #expect(audio[0].segments == [UInt8](repeating: 60, count: 50))
        // Ten real packets, ten one-byte lost-frame fillers, thirty real packets.
        let second = [UInt8](repeating: 60, count: 10) + [UInt8](repeating: 1, count: 10)
            + [UInt8](repeating: 60, count: 30)
        #expect(audio[1].segments == second)
    }

    @Test func longGapIsKeptByGranuleAlone() {
        var writer = OggOpusWriter(serial: 2)
        var bytes = writer.append(packet: Self.celtPacket(size: 40), timestamp: 1000)
        bytes += writer.append(packet: Self.celtPacket(size: 40), timestamp: 1000 + 60 * 48_000)
        bytes += writer.finish()
        let audio = Array(pages(of: bytes).dropFirst(2))
        #expect(writer.concealedSamples == 0)
        // The gap falls between pages: each page's granule places its packets exactly.
        #expect(audio.count == 2)
        #expect(audio.map(\.segments) == [[40], [40]])
        let expected: [Int64] = [312 + 960, 312 + 60 * 48_000 + 960]
        #expect(audio.map(\.granule) == expected)
        #expect(audio[1].flags == 0x04)
    }

    @Test func pagesThatCouldNotBeStoredGiveBackTheirSequenceNumbers() {
        var writer = OggOpusWriter(serial: 7)
        var stored: [UInt8] = []
        // Headers and one second of audio are stored; the next second is lost (a full disk).
        for i in 0..<50 { stored += writer.append(packet: Self.celtPacket(size: 30), timestamp: UInt32(i * 960)) }
        var lost: [UInt8] = []
        for i in 50..<100 { lost += writer.append(packet: Self.celtPacket(size: 30), timestamp: UInt32(i * 960)) }
        #expect(OggOpusWriter.pageCount(in: stored) == 3)
        #expect(OggOpusWriter.pageCount(in: lost) == 1)
        writer.unwrite(pages: OggOpusWriter.pageCount(in: lost))
        for i in 100..<110 { stored += writer.append(packet: Self.celtPacket(size: 30), timestamp: UInt32(i * 960)) }
        stored += writer.finish()
        let all = pages(of: stored)
        // No sequence gap; the lost second is a jump in the granule positions.
        #expect(all.map(\.sequence) == [0, 1, 2, 3])
        #expect(all[2].granule == 312 + 50 * 960)
        #expect(all[3].granule == 312 + 110 * 960)
        #expect(OggOpusWriter.pageCount(in: []) == 0)
    }

    @Test func finishAfterFullPageWritesEmptyEOSPage() {
        var writer = OggOpusWriter(serial: 5)
        var bytes: [UInt8] = []
        for i in 0..<50 { bytes += writer.append(packet: Self.celtPacket(size: 30), timestamp: UInt32(i * 960)) }
        #expect(pages(of: bytes).count == 3)  // headers + one full second
        bytes += writer.finish()
        let last = pages(of: bytes).last
        #expect(last?.flags == 0x04 && last?.granule == -1 && last?.segments == [])
        #expect(writer.finish().isEmpty)
        #expect(writer.append(packet: Self.celtPacket(size: 30), timestamp: 0).isEmpty)
    }

    @Test func largePacketsStartNewPagesBeforeFourKiB() {
        var writer = OggOpusWriter(serial: 9)
        // A valid 20 ms CELT packet padded out: code 0 TOC then 999 payload bytes.
        let big = Self.celtPacket(size: 1000)
        #expect(OpusPacket.validate(big) == 960)
        var bytes = writer.header()
        for i in 0..<10 { bytes += writer.append(packet: big, timestamp: UInt32(i * 960)) }
        bytes += writer.finish()
        let audio = Array(pages(of: bytes).dropFirst(2))
        #expect(audio.count == 3)
        let lacing: [UInt8] = [255, 255, 255, 235]
        #expect(audio[0].segments == Array([[UInt8]](repeating: lacing, count: 4).joined()))
        let expected: [Int64] = [4, 8, 10].map { 312 + $0 * 960 }
        #expect(audio.map(\.granule) == expected)
    }

    @Test func invalidPacketsAreSkipped() {
        var writer = OggOpusWriter(serial: 3)
        _ = writer.append(packet: [0xFF, 0xFF] as [UInt8], timestamp: 0)
        #expect(writer.skipped == 1)
        #expect(writer.packets == 0)
    }
}
