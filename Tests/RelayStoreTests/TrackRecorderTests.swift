import Foundation
import Logging
import RelayMedia
@testable import RelayStore
import Testing

@Suite("Track recorder: batches handed over from the loop, Ogg Opus files, levels")
struct TrackRecorderTests {
    /// `count` 20 ms Opus packets of a 440 Hz sine at 0.3 of full scale (about −13.5 dBFS RMS).
    static func sinePackets(count: Int) throws -> [[UInt8]] {
        let encoder = try OpusEncoder()
        return try (0..<count).map { i in
            try encoder.encode(pcm: OpusEncoder.sine(frequency: 440, amplitude: 0.3, count: 960, start: i * 960))
        }
    }

    @Test func batchGivesBackEachPacketInOrderWithItsSlotAndTimestamp() {
        var batch = TrackRecorder.PacketBatch(capacity: 16)  // smaller than the packets: it must grow
        let packets: [(UInt32, UInt32, [UInt8])] = [
            (1, 0, [0xFC]), (2, 960, Array(repeating: 0xAB, count: 300)), (1, 1920, []), (7, .max, [1, 2, 3]),
        ]
        for (slot, timestamp, payload) in packets {
            payload.withUnsafeBytes { batch.append(TrackRecorder.Slot(raw: slot), timestamp: timestamp, payload: $0) }
        }
        #expect(batch.count == 4)
        var seen: [(UInt32, UInt32, [UInt8])] = []
        batch.forEach { slot, timestamp, payload in seen.append((slot.raw, timestamp, Array(payload))) }
        #expect(seen.count == packets.count)
        for (got, sent) in zip(seen, packets) {
            #expect(got.0 == sent.0 && got.1 == sent.1 && got.2 == sent.2)
        }
        #expect(TrackRecorder.PacketBatch().isEmpty)
    }

    @Test func interleavedTracksAreRecordedToTheirOwnPlayableFiles() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let recorder = TrackRecorder(dataDirectory: dir.path, meterEvery: 10, logger: Logger(label: "test"))
        defer { recorder.shutdown() }
        let keys = [TrackRecorder.Key(sessionId: "s-rec", track: 1), TrackRecorder.Key(sessionId: "s-rec", track: 2)]
        let slots = keys.map { recorder.open($0) }
        #expect(slots[0] != slots[1])
        let packets = try Self.sinePackets(count: 100)
        // Two batches, the tracks' packets interleaved as the loop would gather them.
        for half in [0..<50, 50..<100] {
            var batch = TrackRecorder.PacketBatch()
            for i in half {
                for slot in slots {
                    packets[i].withUnsafeBytes { batch.append(slot, timestamp: UInt32(i * 960), payload: $0) }
                }
            }
            recorder.packets(batch)
        }
        // A level for each track (one packet in 10 is decoded), near the sine's −13.5 dBFS.
        var levels: [TrackRecorder.Key: TrackRecorder.Level] = [:]
        for _ in 0..<200 where levels.count < 2 {
            levels = recorder.latestLevels()
            if levels.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        }
        for key in keys {
            let level = try #require(levels[key])
            #expect(level.dBFS > -20 && level.dBFS < -8)
        }
        for (key, slot) in zip(keys, slots) {
            let closed = await withCheckedContinuation { done in recorder.close(slot) { done.resume(returning: $0) } }
            let summary = try #require(closed)
            #expect(summary.file == TrackRecorder.relativePath(key))
            #expect(summary.packets == 100)
            #expect(summary.durationMs == 2000)
            let path = dir.path + "/" + summary.file
            let file = try OggRepair.inspect(fileAt: path)
            #expect(file.endsWithEOS)
            #expect(file.validLength == file.fileLength && file.fileLength == summary.bytes)
            #expect(file.durationSamples == 96_000)
            let bytes = try #require(FileManager.default.contents(atPath: path))
            let hasher = SHA256Hasher()
            hasher.update(Array(bytes))
            #expect(Hex.encode(hasher.finalize()) == summary.sha256)
        }
        #expect(recorder.latestLevels().isEmpty)  // a closed track has no level
        // A packet for a closed slot is ignored, and closing it again reports nothing.
        var late = TrackRecorder.PacketBatch()
        packets[0].withUnsafeBytes { late.append(slots[0], timestamp: 0, payload: $0) }
        recorder.packets(late)
        let again = await withCheckedContinuation { done in recorder.close(slots[0]) { done.resume(returning: $0) } }
        #expect(again == nil)
    }
}
