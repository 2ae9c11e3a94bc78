public import Foundation

/// One event of a session: an entry of its record (PROTOCOL §2, §8).
public struct SessionEvent: Sendable, Hashable {
    public var sessionId: String
    /// 1, 2, 3 … per session, no gaps.
    public var seq: Int
    /// Milliseconds since 1970 (UTC). Rendered as RFC 3339 with milliseconds.
    public var atMillis: Int64
    public var type: String
    /// The `sub` that caused it, or `"server"`.
    public var actor: String
    /// The event's own fields (everything but sessionId, seq, at, actor, type).
    public var data: [String: JSONValue]
    /// Lowercase hex SHA-256 chaining this entry to the previous one (PROTOCOL §8).
    public var hash: String

    public init(
        sessionId: String,
        seq: Int,
        atMillis: Int64,
        type: String,
        actor: String,
        data: [String: JSONValue],
        hash: String
    ) {
        self.sessionId = sessionId
        self.seq = seq
        self.atMillis = atMillis
        self.type = type
        self.actor = actor
        self.data = data
        self.hash = hash
    }

    /// The event as sent to participants: its own fields beside type, sessionId, seq, at, actor.
    public var wireMessage: JSONValue {
        var o = data
        o["type"] = .string(type)
        o["sessionId"] = .string(sessionId)
        o["seq"] = .number(Double(seq))
        o["at"] = .string(Timestamp.rfc3339(millis: atMillis))
        o["actor"] = .string(actor)
        return .object(o)
    }

    /// The record entry without its hash, `{seq, at, type, actor, data}`: what the chain hashes.
    public var recordEntryWithoutHash: JSONValue {
        [
            "seq": .number(Double(seq)),
            "at": .string(Timestamp.rfc3339(millis: atMillis)),
            "type": .string(type),
            "actor": .string(actor),
            "data": .object(data),
        ]
    }

    /// The record entry `{seq, at, type, actor, data, hash}` of the manifest.
    public var recordEntry: JSONValue {
        guard case .object(var o) = recordEntryWithoutHash else { return recordEntryWithoutHash }
        o["hash"] = .string(hash)
        return .object(o)
    }
}

/// RFC 3339 UTC timestamps with milliseconds, `2026-11-22T08:15:02.123Z`.
public enum Timestamp {
    public static func rfc3339(millis: Int64) -> String {
        let seconds = Int(millis.floorDiv(1000))
        let ms = Int(millis - Int64(seconds) * 1000)
        let days = seconds.floorDiv(86_400)
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = civilFromDays(days)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secOfDay / 3600, 2)):\(pad(secOfDay / 60 % 60, 2)):"
            + "\(pad(secOfDay % 60, 2)).\(pad(ms, 3))Z"
    }

    public static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

extension BinaryInteger {
    fileprivate func floorDiv(_ d: Self) -> Self {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
