/// The phase of a session (PROTOCOL §3): `queued` → `active` → `ended`.
public enum SessionPhase: String, Sendable, Hashable, CaseIterable {
    case queued, active, ended
}

/// Why a unit waits in a session's queue.
public enum QueueEntryKind: String, Sendable, Hashable, CaseIterable {
    /// The session was created for this unit.
    case create
    /// A unit handed the session over to this one; its staff leave when it is accepted.
    case transfer
    /// The unit is invited to join an active session (joint handling).
    case invite

    /// A `create` or `transfer` entry keeps the session `queued`; an `invite` entry does not.
    public var keepsQueued: Bool { self != .invite }
}

/// One unit waiting for a session: the session's side of a unit's queue.
public struct QueueEntry: Sendable, Hashable {
    public var unit: String
    /// Unix millis when the unit started waiting; queue order and expiry count from here.
    public var since: Int64
    public var kind: QueueEntryKind
    /// For a transfer: the unit handing the session over.
    public var transferFrom: String?

    public init(unit: String, since: Int64, kind: QueueEntryKind, transferFrom: String? = nil) {
        self.unit = unit
        self.since = since
        self.kind = kind
        self.transferFrom = transferFrom
    }
}

/// The applicant as the creating clerk described them (`session.create`'s `applicant`).
public struct ApplicantInfo: Sendable, Hashable {
    public var name: String?
    /// The last 4 characters of the ID number.
    public var idTail: String?

    public init(name: String? = nil, idTail: String? = nil) {
        self.name = name
        self.idTail = idTail
    }
}

/// Whether a participant is in the session now.
public enum ParticipantPresence: Sendable, Hashable {
    case present
    /// Its connection dropped at `since` (unix millis); it may join again within the grace period.
    case away(since: Int64)
    /// It left at `at` (unix millis) for `reason`: `left`, `timeout`, `kicked` or `transferred`.
    case left(reason: String, at: Int64)

    /// `present`, `away` or `left`, as in a join result.
    public var name: String {
        switch self {
        case .present: "present"
        case .away: "away"
        case .left: "left"
        }
    }

    public var hasLeft: Bool {
        if case .left = self { return true }
        return false
    }
}

/// A participant of a session and where it is.
public struct SessionParticipant: Sendable, Hashable {
    /// Who it is; `sessionScope` is always nil here.
    public var identity: Identity
    public var presence: ParticipantPresence

    public init(identity: Identity, presence: ParticipantPresence) {
        self.identity = Identity(
            sub: identity.sub, role: identity.role, unit: identity.unit, window: identity.window,
            name: identity.name)
        self.presence = presence
    }

    public var sub: String { identity.sub }
    public var isStaff: Bool { identity.role.isStaff }

    /// The participant object with its presence, as in a join result.
    public var jsonWithPresence: JSONValue {
        guard case .object(var o) = identity.participantJSON else { return identity.participantJSON }
        o["presence"] = .string(presence.name)
        return .object(o)
    }

    /// Reads a participant object `{id, role, unit, window, name}`.
    static func identity(from json: JSONValue?) -> Identity? {
        guard let o = json?.objectValue, let sub = o["id"]?.stringValue,
            let role = o["role"]?.stringValue.flatMap(Role.init(rawValue:))
        else { return nil }
        return Identity(
            sub: sub, role: role, unit: o["unit"]?.stringValue, window: o["window"]?.stringValue,
            name: o["name"]?.stringValue)
    }
}

/// Everything the book knows about one session, rebuilt from its events alone.
public struct SessionState: Sendable, Hashable {
    public var id: String
    public var state: SessionPhase
    public var service: String
    public var fromUnit: String
    /// The units queued or joined, in the order they came in.
    public var units: [String]
    /// Unix millis.
    public var createdAt: Int64
    /// Set once ended: `completed`, `needs_correction`, `cancelled`, `declined`, `expired`, `abandoned`.
    public var outcome: String?
    public var applicant: ApplicantInfo?
    /// The creator's note to the receiving unit.
    public var note: String?
    /// Units waiting for this session, oldest first.
    public var waiting: [QueueEntry]
    /// In order of first joining.
    public var participants: [SessionParticipant]
    /// The latest event's seq (0 before the first).
    public var lastSeq: Int
    /// The latest event's hash (64 `0`s before the first).
    public var head: String
    /// `signal` messages relayed in the session since it was loaded (not events: counted, not
    /// stored; the count goes into `session.ended`). Lost with a crash.
    public var signals = 0

    /// The `prev` of a session's first record entry.
    public static let zeroHash = String(repeating: "0", count: 64)

    public init(
        id: String, state: SessionPhase, service: String, fromUnit: String, units: [String], createdAt: Int64,
        outcome: String? = nil, applicant: ApplicantInfo? = nil, note: String? = nil, waiting: [QueueEntry] = [],
        participants: [SessionParticipant] = [], lastSeq: Int = 0, head: String = SessionState.zeroHash
    ) {
        self.id = id
        self.state = state
        self.service = service
        self.fromUnit = fromUnit
        self.units = units
        self.createdAt = createdAt
        self.outcome = outcome
        self.applicant = applicant
        self.note = note
        self.waiting = waiting
        self.participants = participants
        self.lastSeq = lastSeq
        self.head = head
    }

    public var isLive: Bool { state != .ended }

    public func participant(_ sub: String) -> SessionParticipant? { participants.first { $0.sub == sub } }

    public func isPresent(_ sub: String) -> Bool { participant(sub)?.presence == .present }

    /// Subs of the participants present now, in joining order.
    public var presentSubs: [String] { participants.filter { $0.presence == .present }.map(\.sub) }

    public func entry(for unit: String) -> QueueEntry? { waiting.first { $0.unit == unit } }

    /// Units with staff in the session and nothing waiting: whose staff may join without accepting.
    ///
    /// A unit that only ever waited (its entry declined or expired, or the session ended while queued) is not
    /// joined: its staff never took part and may not read the session.
    public func isJoinedUnit(_ unit: String) -> Bool {
        units.contains(unit) && entry(for: unit) == nil
            && participants.contains { $0.isStaff && $0.identity.unit == unit }
    }

    /// Staff of `unit` who have not left.
    public func staffStaying(of unit: String) -> [SessionParticipant] {
        participants.filter { $0.isStaff && $0.identity.unit == unit && !$0.presence.hasLeft }
    }

    /// The phase the waiting entries call for, for a live session.
    static func phase(for waiting: [QueueEntry]) -> SessionPhase {
        waiting.contains { $0.kind.keepsQueued } ? .queued : .active
    }
}

// MARK: - The session object on the wire and in events

extension SessionState {
    /// The PROTOCOL session object `{id, state, service, fromUnit, units, createdAt, outcome}` plus `waiting`
    /// (`[{unit, since, kind, transferFrom}]`), `applicant` and `note` when set.
    public var sessionObject: JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id),
            "state": .string(state.rawValue),
            "service": .string(service),
            "fromUnit": .string(fromUnit),
            "units": .array(units.map(JSONValue.string)),
            "createdAt": .string(Timestamp.rfc3339(millis: createdAt)),
            "waiting": .array(waiting.map(\.json)),
        ]
        if let outcome { o["outcome"] = .string(outcome) }
        if let applicant {
            var a: [String: JSONValue] = [:]
            if let name = applicant.name { a["name"] = .string(name) }
            if let idTail = applicant.idTail { a["idTail"] = .string(idTail) }
            o["applicant"] = .object(a)
        }
        if let note { o["note"] = .string(note) }
        return .object(o)
    }

    /// Reads a session object written by `sessionObject`: a state with no participants and no events.
    init?(sessionObject json: JSONValue?) {
        guard let o = json?.objectValue, let id = o["id"]?.stringValue,
            let state = o["state"]?.stringValue.flatMap(SessionPhase.init(rawValue:)),
            let service = o["service"]?.stringValue, let fromUnit = o["fromUnit"]?.stringValue,
            let unitValues = o["units"]?.arrayValue,
            let createdAt = o["createdAt"]?.stringValue.flatMap(Self.millis(rfc3339:))
        else { return nil }
        let units = unitValues.compactMap(\.stringValue)
        var waiting: [QueueEntry] = []
        for value in o["waiting"]?.arrayValue ?? [] {
            guard let entry = QueueEntry(json: value) else { return nil }
            waiting.append(entry)
        }
        var applicant: ApplicantInfo?
        if let a = o["applicant"]?.objectValue {
            applicant = ApplicantInfo(name: a["name"]?.stringValue, idTail: a["idTail"]?.stringValue)
        }
        self.init(
            id: id, state: state, service: service, fromUnit: fromUnit, units: units, createdAt: createdAt,
            outcome: o["outcome"]?.stringValue, applicant: applicant, note: o["note"]?.stringValue, waiting: waiting)
    }

    /// Takes every field of the session object from `other`, keeping participants, lastSeq and head.
    mutating func takeObjectFields(of other: SessionState) {
        state = other.state
        service = other.service
        fromUnit = other.fromUnit
        units = other.units
        createdAt = other.createdAt
        outcome = other.outcome
        applicant = other.applicant
        note = other.note
        waiting = other.waiting
    }

    /// Parses the RFC 3339 form `Timestamp.rfc3339` writes (`2026-11-22T08:15:02.123Z`) back to unix millis.
    static func millis(rfc3339 text: String) -> Int64? {
        let c = Array(text.utf8)
        guard c.count == 24, c[4] == 45, c[7] == 45, c[10] == 84, c[13] == 58, c[16] == 58, c[19] == 46,
            c[23] == 90
        else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<from + count {
                guard c[i] >= 48, c[i] <= 57 else { return nil }
                v = v * 10 + Int(c[i] - 48)
            }
            return v
        }
        guard let y = number(0, 4), let m = number(5, 2), let d = number(8, 2), let hh = number(11, 2),
            let mm = number(14, 2), let ss = number(17, 2), let ms = number(20, 3), (1...12).contains(m)
        else { return nil }
        // Howard Hinnant's days-from-civil, the inverse of Timestamp's civil-from-days.
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = Int64(days) * 86_400 + Int64(hh * 3600 + mm * 60 + ss)
        return seconds * 1000 + Int64(ms)
    }
}

extension QueueEntry {
    /// `{unit, since, kind, transferFrom}` inside a session object.
    var json: JSONValue {
        var o: [String: JSONValue] = [
            "unit": .string(unit),
            "since": .string(Timestamp.rfc3339(millis: since)),
            "kind": .string(kind.rawValue),
        ]
        if let transferFrom { o["transferFrom"] = .string(transferFrom) }
        return .object(o)
    }

    init?(json: JSONValue) {
        guard let unit = json["unit"]?.stringValue,
            let since = json["since"]?.stringValue.flatMap(SessionState.millis(rfc3339:)),
            let kind = json["kind"]?.stringValue.flatMap(QueueEntryKind.init(rawValue:))
        else { return nil }
        self.init(unit: unit, since: since, kind: kind, transferFrom: json["transferFrom"]?.stringValue)
    }
}
