/// The hash chain of a session's record (PROTOCOL §8): computes and checks each entry's `hash`.
///
/// `hash = hex(SHA-256(UTF8(prev + "\n" + JCS(entry without hash))))`, `prev` being the previous
/// entry's hash or `genesis` before the first. SHA-256 is injected so that RelayCore stays free
/// of C; RelayMedia provides it on libcrypto.
public struct RecordChain: Sendable {
    /// The `prev` of the first entry: 64 zeros.
    public static let genesis = String(repeating: "0", count: 64)

    private let sha256: @Sendable ([UInt8]) -> [UInt8]

    public init(sha256: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.sha256 = sha256
    }

    /// The hash of `entry` chained after `prev` (lowercase hex).
    public func hash(prev: String, entry: SessionEvent) -> String {
        var input = Array(prev.utf8)
        input.append(UInt8(ascii: "\n"))
        entry.recordEntryWithoutHash.writeCanonical(into: &input)
        return Self.hex(sha256(input))
    }

    /// Checks a whole record: seqs 1, 2, 3 … with no gaps, one session, and every stored `hash`.
    ///
    /// An empty record is intact and its head is `genesis`.
    public func verify(_ events: [SessionEvent]) -> ChainVerification {
        var prev = Self.genesis
        for (i, event) in events.enumerated() {
            let expectedSeq = i + 1
            if event.seq != expectedSeq {
                return .broken(firstBadSeq: expectedSeq, reason: .sequence(expected: expectedSeq, found: event.seq))
            }
            if event.sessionId != events[0].sessionId {
                return .broken(
                    firstBadSeq: expectedSeq,
                    reason: .otherSession(expected: events[0].sessionId, found: event.sessionId)
                )
            }
            let computed = hash(prev: prev, entry: event)
            if event.hash != computed {
                return .broken(firstBadSeq: expectedSeq, reason: .hash(computed: computed, stored: event.hash))
            }
            prev = computed
        }
        return .ok(head: prev)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The outcome of checking a record's hash chain.
public enum ChainVerification: Sendable, Hashable {
    /// Every entry checks out; `head` is the last hash (`RecordChain.genesis` for no entries).
    case ok(head: String)
    /// The entry at position `firstBadSeq` (1-based) is the first that does not check out.
    case broken(firstBadSeq: Int, reason: ChainBreak)
}

/// Why a record's chain is broken at an entry.
public enum ChainBreak: Sendable, Hashable, CustomStringConvertible {
    /// The entry's seq is not its position: a gap, a repeat, or a record not starting at 1.
    case sequence(expected: Int, found: Int)
    /// The entry belongs to another session than the first entry.
    case otherSession(expected: String, found: String)
    /// The stored hash is not the one computed from the entry and its predecessor.
    case hash(computed: String, stored: String)

    public var description: String {
        switch self {
        case .sequence(let expected, let found):
            "expected seq \(expected) but found \(found): the record has a gap or does not start at 1"
        case .otherSession(let expected, let found):
            "entry of session \(found) inside the record of session \(expected)"
        case .hash(let computed, let stored):
            "stored hash \(stored) differs from the computed \(computed): this entry or its hash was altered"
        }
    }
}
