import Glibc
import RelayTransport

/// Who a simulated participant is in its load session.
public enum LoadRole: Int, Sendable, CaseIterable, CustomStringConvertible {
    case clerk, approver, applicant

    public var description: String {
        switch self {
        case .clerk: "clerk"
        case .approver: "approver"
        case .applicant: "applicant"
        }
    }
}

/// One simulated participant of a load run: its connection, its track, and when it sent what.
/// Loop-bound: used on the load loop's service thread only.
final class LoadParty {
    /// Send times kept per speaker, indexed by `seq % ringSize`: a packet delivered more than this
    /// many packets late counts as unmatched.
    static let ringSize = 2048

    let session: Int
    let role: LoadRole
    /// Index among all speakers of the run.
    let speaker: Int
    var connection: WebSocketConnection?
    var track: UInt16 = 0
    /// Packets sent (the next one's sequence number, before wrapping at 2^16).
    var sent = 0
    /// Flood runs: deliveries still owed for this speaker's packets, and when one last arrived.
    var outstanding = 0
    var lastProgressNanos: UInt64 = 0
    /// `seq << 48 | (nanoseconds since the run started + 1)` of the packets sent, 0 when none.
    private var sendTimes: [UInt64]

    init(session: Int, role: LoadRole, speaker: Int) {
        self.session = session
        self.role = role
        self.speaker = speaker
        self.sendTimes = Array(repeating: 0, count: Self.ringSize)
    }

    /// Remembers when packet `seq` was sent.
    func noteSent(seq: UInt16, at nanos: UInt64) {
        sendTimes[Int(seq) % Self.ringSize] = UInt64(seq) << 48 | ((nanos + 1) & Self.timeMask)
    }

    /// When packet `seq` was sent, if it is still remembered.
    func sendTime(seq: UInt16) -> UInt64? {
        let entry = sendTimes[Int(seq) % Self.ringSize]
        guard entry != 0, entry >> 48 == UInt64(seq) else { return nil }
        return (entry & Self.timeMask) - 1
    }

    private static let timeMask: UInt64 = (1 << 48) - 1
}

@available(*, unavailable)
extension LoadParty: Sendable {}

/// The monotonic clock in nanoseconds (CLOCK_MONOTONIC, the same for every thread of the process).
func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}
