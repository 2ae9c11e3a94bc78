/// Receive statistics of one audio (or video) track (PROTOCOL §7): loss, reordering, jitter, level.
///
/// Sequence numbers follow RFC 3550 A.1: the highest sequence number is extended with a count of
/// 16-bit wraps; a forward jump of fewer than `maxDropout` packets is loss, a packet up to
/// `maxMisorder` behind the highest is late (reordered, or a duplicate if its seq was seen), and
/// anything else is a jump: the packet is set aside, and if the next packet follows it the sender
/// is taken to have restarted (counting goes on from there, totals kept).
public struct TrackStats: Sendable, Hashable {
    /// RFC 3550 A.1 `MAX_DROPOUT`.
    public static let maxDropout = 3000
    /// How far behind the highest seq a packet still counts as late (the duplicate window is 64 seqs).
    public static let maxMisorder = 63
    /// A level below this (dBFS) is quiet.
    public static let silenceThresholdDb = -60.0
    /// Quiet for this long (ms) makes a track `silent`.
    public static let silenceAfterMillis = 10_000.0

    public let track: Int
    /// Timestamp ticks per second (48 000 for Opus audio, 90 000 for video).
    public let clockRate: Double

    /// Every packet that arrived, duplicates and out-of-range ones included.
    public private(set) var packets = 0
    /// The payload bytes of every packet that arrived.
    public private(set) var bytes = 0
    /// Packets that arrived with a seq lower than the highest seen, not seen before.
    public private(set) var reordered = 0
    /// Packets whose seq had been seen within the last `maxMisorder` seqs.
    public private(set) var duplicates = 0
    /// Packets set aside as a jump in sequence (far behind, or far ahead with no follower).
    public private(set) var outOfRange = 0
    /// Interarrival jitter in timestamp ticks (RFC 3550 §6.4.1).
    public private(set) var jitterTicks = 0.0
    /// The latest level sample (dBFS), if any.
    public private(set) var levelDb: Double?

    // Sequence state (RFC 3550 A.1), valid once `started`.
    private var started = false
    private var baseSeq = 0
    private var maxSeq: UInt16 = 0
    private var cycles = 0
    private var badSeq: UInt16?
    /// Bit i set: seq `maxSeq - i` was received.
    private var seen: UInt64 = 0
    /// Expected and received counts of earlier runs, before the sender restarted its sequence.
    private var earlierExpected = 0
    private var earlierReceived = 0
    private var runReceived = 0
    // Jitter state.
    private var lastArrivalMillis: Double?
    private var lastTimestamp: UInt32 = 0
    // Level state.
    private var quietSince: Double?
    private var lastLevelAt: Double?

    public init(track: Int, clockRate: Double = 48_000) {
        self.track = track
        self.clockRate = clockRate
    }

    /// The extended highest sequence number received (wraps counted), or nil before any packet.
    public var extendedHighestSeq: Int? { started ? cycles + Int(maxSeq) : nil }

    /// Packets the sender sent as far as the sequence numbers show.
    public var expected: Int {
        earlierExpected + (started ? cycles + Int(maxSeq) - baseSeq + 1 : 0)
    }

    /// Distinct packets within the sequence (what loss is measured against).
    public var received: Int { earlierReceived + runReceived }

    /// Expected but never received; never negative.
    public var lost: Int { max(0, expected - received) }

    /// `lost` as a percentage of `expected` (0 before any packet).
    public var lossPct: Double { expected == 0 ? 0 : Double(lost) * 100 / Double(expected) }

    public var jitterMs: Double { jitterTicks * 1000 / clockRate }

    /// Whether the level has stayed under −60 dBFS for 10 s up to the latest level sample.
    ///
    /// Decided by the samples alone: a track with no level samples is not silent.
    public var silent: Bool {
        guard let quietSince, let lastLevelAt else { return false }
        return lastLevelAt - quietSince >= Self.silenceAfterMillis
    }

    /// Counts one packet. `arrivalMillis` is the receiver's clock; `timestamp` the sender's.
    public mutating func record(seq: UInt16, timestamp: UInt32, arrivalMillis: Double, bytes: Int) {
        packets += 1
        self.bytes += bytes
        guard started else {
            restart(at: seq)
            updateJitter(timestamp: timestamp, arrivalMillis: arrivalMillis)
            return
        }
        let ahead = Int(seq &- maxSeq)  // 0…65535: how far seq is ahead of the highest, modulo 2^16
        if ahead == 0 {
            duplicates += 1
            return
        } else if ahead < Self.maxDropout {
            if seq < maxSeq { cycles += 1 << 16 }
            maxSeq = seq
            seen = ahead >= 64 ? 1 : (seen << ahead) | 1
            runReceived += 1
            badSeq = nil
        } else if ahead >= (1 << 16) - Self.maxMisorder {
            let behind = (1 << 16) - ahead
            if seen & (1 << behind) != 0 {
                duplicates += 1
                return
            }
            seen |= 1 << behind
            reordered += 1
            runReceived += 1
        } else if seq == badSeq {
            // Two packets in sequence after a jump: the sender restarted its numbering.
            earlierExpected = expected
            earlierReceived += runReceived
            restart(at: seq)
            lastArrivalMillis = nil  // no jitter across the restart
        } else {
            badSeq = seq &+ 1
            outOfRange += 1
            return
        }
        updateJitter(timestamp: timestamp, arrivalMillis: arrivalMillis)
    }

    /// Notes a level sample (dBFS, from decoding) taken at `atMillis`.
    public mutating func recordLevel(dBFS: Double, atMillis: Double) {
        levelDb = dBFS
        lastLevelAt = atMillis
        if dBFS < Self.silenceThresholdDb {
            if quietSince == nil { quietSince = atMillis }
        } else {
            quietSince = nil
        }
    }

    /// A snapshot for `health` and `ops.snapshot` messages.
    public var health: TrackHealth {
        TrackHealth(
            track: track, packets: packets, lost: lost, lossPct: lossPct, jitterMs: jitterMs,
            levelDb: levelDb, silent: silent
        )
    }

    private mutating func restart(at seq: UInt16) {
        started = true
        baseSeq = Int(seq)
        maxSeq = seq
        cycles = 0
        badSeq = nil
        seen = 1
        runReceived = 1
    }

    /// RFC 3550 §6.4.1: D = (Rj − Ri) − (Sj − Si) in ticks, J += (|D| − J) / 16, in arrival order.
    private mutating func updateJitter(timestamp: UInt32, arrivalMillis: Double) {
        defer {
            lastArrivalMillis = arrivalMillis
            lastTimestamp = timestamp
        }
        guard let lastArrivalMillis else { return }
        let arrivalTicks = (arrivalMillis - lastArrivalMillis) * clockRate / 1000
        let sentTicks = Double(Int32(bitPattern: timestamp &- lastTimestamp))  // wraps and goes back
        let d = arrivalTicks - sentTicks
        jitterTicks += (d.magnitude - jitterTicks) / 16
    }
}

/// A track's health as the ops snapshot and `health` messages show it (PROTOCOL §7).
public struct TrackHealth: Sendable, Hashable {
    public var track: Int
    public var packets: Int
    public var lost: Int
    public var lossPct: Double
    public var jitterMs: Double
    /// The latest level (dBFS); nil before any level sample.
    public var levelDb: Double?
    public var silent: Bool

    public init(
        track: Int, packets: Int, lost: Int, lossPct: Double, jitterMs: Double, levelDb: Double?, silent: Bool
    ) {
        self.track = track
        self.packets = packets
        self.lost = lost
        self.lossPct = lossPct
        self.jitterMs = jitterMs
        self.levelDb = levelDb
        self.silent = silent
    }

    /// `{track, packets, lost, lossPct, jitterMs, levelDb, silent}`.
    ///
    /// `lossPct` and `jitterMs` are rounded to 2 decimals and `levelDb` to 1 for display;
    /// `levelDb` is floored at −127 (digital silence decodes to −∞) and is `null` before any sample.
    public var json: JSONValue {
        func rounded(_ v: Double, _ places: Double) -> Double { (v * places).rounded() / places }
        return [
            "track": .number(Double(track)),
            "packets": .number(Double(packets)),
            "lost": .number(Double(lost)),
            "lossPct": .number(rounded(lossPct, 100)),
            "jitterMs": .number(rounded(jitterMs, 100)),
            "levelDb": levelDb.map { .number(rounded(max($0, -127), 10)) } ?? .null,
            "silent": .bool(silent),
        ]
    }
}
