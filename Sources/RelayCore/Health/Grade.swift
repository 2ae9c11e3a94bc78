/// The connection quality of a participant or a session (PROTOCOL §7), as `health` messages show it.
///
/// Ordered by severity for the session grade: good < fair < away < poor. A session with someone
/// away is worse than one where everyone is fairly connected (one side cannot hear the other),
/// but a present participant on a poor link is what ops can still act on and what people are
/// suffering right now, so poor outranks away; an away participant also shows as such in the
/// participant list and in `participant.away`, so nothing is hidden.
public enum Grade: String, Sendable, Hashable, CaseIterable, Comparable {
    case good
    case fair
    case poor
    case away

    /// The grade of one participant: away while gone, else the worst of its RTT, loss and jitter.
    ///
    /// good: RTT < 150 ms, loss < 2 %, jitter < 30 ms; fair: < 300 ms, < 5 %, < 60 ms; poor otherwise.
    /// An unknown RTT (no pong yet) counts as good for the RTT part; a NaN value counts as poor.
    public static func of(rttMs: Double?, lossPct: Double, jitterMs: Double, away: Bool) -> Grade {
        if away { return .away }
        func band(_ value: Double, good: Double, fair: Double) -> Grade {
            value < good ? .good : value < fair ? .fair : .poor
        }
        return max(
            rttMs.map { band($0, good: 150, fair: 300) } ?? .good,
            band(lossPct, good: 2, fair: 5),
            band(jitterMs, good: 30, fair: 60)
        )
    }

    /// The grade of a session: the worst of its participants' (`good` for a session with none).
    public static func session(_ participants: some Sequence<Grade>) -> Grade {
        participants.max() ?? .good
    }

    /// The rank in the session order good < fair < away < poor.
    public var severity: Int {
        switch self {
        case .good: 0
        case .fair: 1
        case .away: 2
        case .poor: 3
        }
    }

    public static func < (lhs: Grade, rhs: Grade) -> Bool { lhs.severity < rhs.severity }
}
