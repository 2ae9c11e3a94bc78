import RelayCore
import Testing

@Suite struct TrackStatsTests {
    /// Feeds packets `(seq, timestamp, arrivalMillis)` of 100 bytes each.
    private func stats(_ packets: [(UInt16, UInt32, Double)], track: Int = 1) -> TrackStats {
        var stats = TrackStats(track: track)
        for (seq, timestamp, arrival) in packets {
            stats.record(seq: seq, timestamp: timestamp, arrivalMillis: arrival, bytes: 100)
        }
        return stats
    }

    /// Packets 20 ms apart, in order, arriving exactly on time.
    private func steady(_ seqs: [UInt16]) -> TrackStats {
        stats(seqs.map { ($0, UInt32($0) &* 960, Double($0) * 20) })
    }

    /// RFC 3550 §6.4.1 by hand: 20 ms packets (960 ticks at 48 kHz) arriving at 0, 20, 50, 60, 80 ms.
    @Test func jitterWorkedExample() {
        var s = TrackStats(track: 1)
        let base = 1_000.0
        s.record(seq: 1, timestamp: 0, arrivalMillis: base + 0, bytes: 80)
        #expect(s.jitterTicks == 0)
        // D = (20 ms = 960 ticks) − 960 = 0 → J = 0
        s.record(seq: 2, timestamp: 960, arrivalMillis: base + 20, bytes: 80)
        #expect(s.jitterTicks == 0)
        // D = (30 ms = 1440) − 960 = 480 → J = 0 + (480 − 0) / 16 = 30 ticks = 0.625 ms
        s.record(seq: 3, timestamp: 1920, arrivalMillis: base + 50, bytes: 80)
        #expect(s.jitterTicks == 30)
        #expect(s.jitterMs == 0.625)
        // D = (10 ms = 480) − 960 = −480 → J = 30 + (480 − 30) / 16 = 58.125 ticks = 1.2109375 ms
        s.record(seq: 4, timestamp: 2880, arrivalMillis: base + 60, bytes: 80)
        #expect(s.jitterTicks == 58.125)
        #expect(s.jitterMs == 1.2109375)
        // D = 960 − 960 = 0 → J = 58.125 + (0 − 58.125) / 16 = 54.4921875 ticks = 1.13525390625 ms
        s.record(seq: 5, timestamp: 3840, arrivalMillis: base + 80, bytes: 80)
        #expect(s.jitterTicks == 54.4921875)
        #expect(s.jitterMs == 1.13525390625)
        #expect(s.packets == 5)
        #expect(s.bytes == 400)
    }

    @Test func jitterAcrossTimestampWrap() {
        let s = stats([(1, 4_294_966_336, 0), (2, 0, 20), (3, 960, 40)])
        #expect(s.jitterTicks == 0)
    }

    @Test func jitterUsesTheClockRate() {
        var video = TrackStats(track: 2, clockRate: 90_000)
        video.record(seq: 1, timestamp: 0, arrivalMillis: 0, bytes: 10)
        // 3000 ticks = 33.33 ms sent apart, arrived 49.33 ms apart: D = 1440 ticks → J = 90 ticks = 1 ms.
        video.record(seq: 2, timestamp: 3000, arrivalMillis: 49.333_333_333_333_336, bytes: 10)
        #expect(abs(video.jitterTicks - 90) < 1e-9)
        #expect(abs(video.jitterMs - 1) < 1e-12)
    }

    @Test func sequenceWrapIsNoLoss() {
        let s = steady([65534, 65535, 0, 1])
        #expect(s.expected == 4)
        #expect(s.received == 4)
        #expect(s.lost == 0)
        #expect(s.lossPct == 0)
        #expect(s.extendedHighestSeq == 65537)
        #expect(s.reordered == 0)
    }

    @Test func gapAcrossTheWrapIsLoss() {
        let s = steady([65534, 65535, 2, 3])
        #expect(s.expected == 6)
        #expect(s.lost == 2)
        #expect(s.extendedHighestSeq == 65539)
        #expect(s.lossPct == 200.0 / 6.0)
    }

    @Test func lateArrivalIsReorderedNotLost() {
        var s = steady([1, 2, 4])
        #expect(s.lost == 1)
        #expect(s.lossPct == 25)
        s.record(seq: 3, timestamp: 1920, arrivalMillis: 90, bytes: 100)
        #expect(s.lost == 0)
        #expect(s.reordered == 1)
        #expect(s.duplicates == 0)
        #expect(s.expected == 4)
        #expect(s.received == 4)
    }

    @Test func reorderAcrossTheWrap() {
        let s = steady([65535, 1, 0])
        #expect(s.reordered == 1)
        #expect(s.lost == 0)
        #expect(s.expected == 3)
    }

    @Test func duplicatesAreCountedOnce() {
        let s = steady([10, 11, 11, 10, 12])
        #expect(s.packets == 5)
        #expect(s.bytes == 500)
        #expect(s.duplicates == 2)
        #expect(s.received == 3)
        #expect(s.reordered == 0)
        #expect(s.lost == 0)
    }

    @Test func duplicateWindowIs64Seqs() {
        let within = steady(Array(0...63) + [0])  // 63 behind the highest: still in the window
        #expect(within.duplicates == 1)
        #expect(within.outOfRange == 0)
        let beyond = steady(Array(0...64) + [0])  // 64 behind: too old to tell, set aside
        #expect(beyond.duplicates == 0)
        #expect(beyond.outOfRange == 1)
        #expect(beyond.received == 65)
        #expect(beyond.packets == 66)
    }

    @Test func aLoneJumpIsSetAside() {
        let s = steady([100, 101, 40000, 102])
        #expect(s.outOfRange == 1)
        #expect(s.expected == 3)
        #expect(s.lost == 0)
        #expect(s.extendedHighestSeq == 102)
    }

    @Test func aJumpFollowedInSequenceIsARestart() {
        let s = steady([100, 101, 40000, 40001, 40003])
        #expect(s.outOfRange == 1)  // 40000 was set aside before 40001 confirmed the restart
        #expect(s.expected == 2 + 3)  // 100…101, then 40001…40003
        #expect(s.received == 4)
        #expect(s.lost == 1)
        #expect(s.extendedHighestSeq == 40003)
    }

    @Test func forwardGapBelowMaxDropoutIsLoss() {
        let s = steady([1, 2999])
        #expect(s.expected == 2999)
        #expect(s.lost == 2997)
        #expect(s.outOfRange == 0)
    }

    @Test func noPacketsNoLoss() {
        let s = TrackStats(track: 4)
        #expect(s.expected == 0)
        #expect(s.lost == 0)
        #expect(s.lossPct == 0)
        #expect(s.extendedHighestSeq == nil)
    }

    @Test func silenceAfterTenSecondsUnderMinus60() {
        var s = TrackStats(track: 1)
        #expect(!s.silent)  // no level samples yet
        s.recordLevel(dBFS: -70, atMillis: 0)
        s.recordLevel(dBFS: -70, atMillis: 9_999)
        #expect(!s.silent)
        s.recordLevel(dBFS: -70, atMillis: 10_000)
        #expect(s.silent)
        s.recordLevel(dBFS: -60, atMillis: 10_500)  // −60 is not under −60: loud
        #expect(!s.silent)
        s.recordLevel(dBFS: -80, atMillis: 11_000)
        s.recordLevel(dBFS: -61, atMillis: 20_999)
        #expect(!s.silent)
        s.recordLevel(dBFS: -.infinity, atMillis: 21_000)
        #expect(s.silent)
        #expect(s.levelDb == -.infinity)
    }

    @Test func healthJSONHasProtocolFieldNames() {
        var s = steady([1, 2, 4])
        s.recordLevel(dBFS: -23.456, atMillis: 60)
        let health = s.health
        #expect(
            health
                == TrackHealth(
                    track: 1, packets: 3, lost: 1, lossPct: 25, jitterMs: 0, levelDb: -23.456,
                    silent: false))
        #expect(
            health.json.canonicalText
                == #"{"jitterMs":0,"levelDb":-23.5,"lossPct":25,"lost":1,"packets":3,"silent":false,"track":1}"#
        )
    }

    @Test func healthJSONRoundsAndFloors() {
        let noLevel = TrackHealth(
            track: 2, packets: 3, lost: 1, lossPct: 100.0 / 3, jitterMs: 1.13525390625,
            levelDb: nil, silent: false)
        #expect(
            noLevel.json.canonicalText
                == #"{"jitterMs":1.14,"levelDb":null,"lossPct":33.33,"lost":1,"packets":3,"silent":false,"track":2}"#
        )
        let digitalSilence = TrackHealth(
            track: 2, packets: 0, lost: 0, lossPct: 0, jitterMs: 0,
            levelDb: -.infinity, silent: true)
        #expect(digitalSilence.json["levelDb"] == -127)
        #expect(digitalSilence.json["silent"] == true)
    }
}
