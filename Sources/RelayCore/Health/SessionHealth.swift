/// The health of one participant: grade, RTT, presence and its tracks (PROTOCOL §7).
public struct ParticipantHealth: Sendable, Hashable {
    public var id: String
    public var role: Role
    public var unit: String?
    public var grade: Grade
    public var rttMs: Double?
    public var away: Bool
    public var tracks: [TrackHealth]

    /// Grades from RTT, the worst loss and jitter of the participant's tracks, and presence.
    public init(id: String, role: Role, unit: String?, rttMs: Double?, away: Bool, tracks: [TrackHealth]) {
        self.id = id
        self.role = role
        self.unit = unit
        self.rttMs = rttMs
        self.away = away
        self.tracks = tracks
        grade = Grade.of(
            rttMs: rttMs, lossPct: tracks.map(\.lossPct).max() ?? 0, jitterMs: tracks.map(\.jitterMs).max() ?? 0,
            away: away)
    }

    /// `{id, role, unit, grade, rttMs, away, tracks}`.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "role": .string(role.rawValue), "grade": .string(grade.rawValue), "away": .bool(away),
            "rttMs": rttMs.map { .number(($0 * 10).rounded() / 10) } ?? .null, "tracks": .array(tracks.map(\.json)),
        ]
        if let unit { o["unit"] = .string(unit) }
        return .object(o)
    }
}

/// The health of a live session: its participants' and the worst of them. Carries nothing ops
/// may not see (no names, no content).
public struct SessionHealth: Sendable, Hashable {
    public var sessionId: String
    public var state: String
    public var service: String
    public var units: [String]
    public var participants: [ParticipantHealth]
    public var grade: Grade { Grade.session(participants.map(\.grade)) }

    /// Builds it from the book's session; participants who left are not in it.
    public init(
        session: SessionState, rttMs: (String) -> Double?, tracks: (String) -> [TrackHealth]
    ) {
        sessionId = session.id
        state = session.state.rawValue
        service = session.service
        units = session.units
        participants = session.participants.compactMap { p in
            let away: Bool
            switch p.presence {
            case .present: away = false
            case .away: away = true
            case .left: return nil
            }
            return ParticipantHealth(
                id: p.identity.sub, role: p.identity.role, unit: p.identity.unit, rttMs: away ? nil : rttMs(p.identity.sub),
                away: away, tracks: tracks(p.identity.sub))
        }
    }

    /// The grades that, when they change, are announced: the session's and each participant's.
    public var gradeSignature: [String: Grade] {
        var s = Dictionary(uniqueKeysWithValues: participants.map { ($0.id, $0.grade) })
        s[""] = grade
        return s
    }

    /// `health` {sessionId, grade, participants} for the session's participants.
    public var healthMessage: JSONValue {
        [
            "type": "health", "sessionId": .string(sessionId), "grade": .string(grade.rawValue),
            "participants": .array(participants.map(\.json)),
        ]
    }

    /// An entry of `ops.snapshot` and of the ops API: `{id, state, service, units, grade, participants}`.
    public var opsJSON: JSONValue {
        [
            "id": .string(sessionId), "state": .string(state), "service": .string(service),
            "units": .array(units.map(JSONValue.string)), "grade": .string(grade.rawValue),
            "participants": .array(participants.map(\.json)),
        ]
    }
}
