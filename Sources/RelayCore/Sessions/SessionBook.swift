/// Every session of this node and the units' queues: PROTOCOL §3 as an event-sourced state machine.
///
/// `handle`, `tick`, `connectionLost` and the ops calls decide: they refuse, or produce events. State changes
/// only by applying events (`restore`), so replaying the stored events of a session after a restart rebuilds
/// it exactly, with the same next seq and head.
public struct SessionBook: Sendable {
    public let catalog: Catalog
    public let rules: SessionRules
    let chainHash: @Sendable (_ prev: String, _ entry: SessionEvent) -> String
    let makeSessionId: @Sendable () -> String

    var states: [String: SessionState] = [:]
    // Indexes derived from `states` by `store`, never written elsewhere.
    var liveIds: Set<String> = []
    /// unit → live sessions with an entry for it.
    var waitingIndex: [String: Set<String>] = [:]
    /// sub → live sessions where it has not left.
    var memberIndex: [String: Set<String>] = [:]

    /// - Parameters:
    ///   - chainHash: PROTOCOL §8's hash of an entry (given with an empty `hash`) chained to `prev`.
    ///   - makeSessionId: a new `s_…` id; asked again on a collision.
    public init(
        catalog: Catalog,
        rules: SessionRules,
        chainHash: @escaping @Sendable (_ prev: String, _ entry: SessionEvent) -> String,
        makeSessionId: @escaping @Sendable () -> String
    ) {
        self.catalog = catalog
        self.rules = rules
        self.chainHash = chainHash
        self.makeSessionId = makeSessionId
    }

    /// The `sub` of the applicant token of session `sessionId`.
    public static func applicantSub(of sessionId: String) -> String { "applicant-" + sessionId }

    // MARK: Queries

    public func session(_ id: String) -> SessionState? { states[id] }

    /// The participants of session `id` (none if there is no such session), without copying the
    /// rest of its state: the audio path asks this for every packet.
    public func participants(of id: String) -> [SessionParticipant] { states[id]?.participants ?? [] }

    /// The PROTOCOL session object (with `waiting`, `applicant`, `note`).
    public func sessionJSON(_ id: String) -> JSONValue? { states[id]?.sessionObject }

    /// The queue of `unit`: `{sessionId, service, fromUnit, position, since, kind}`, oldest first, position 1 first.
    public func waiting(unit: String) -> [JSONValue] {
        var rows: [(since: Int64, id: String, state: SessionState, entry: QueueEntry)] = []
        for id in waitingIndex[unit] ?? [] {
            guard let s = states[id], let e = s.entry(for: unit) else { continue }
            rows.append((e.since, id, s, e))
        }
        rows.sort { ($0.since, $0.id) < ($1.since, $1.id) }
        return rows.enumerated().map { i, row in
            [
                "sessionId": .string(row.id),
                "service": .string(row.state.service),
                "fromUnit": .string(row.state.fromUnit),
                "position": JSONValue(i + 1),
                "since": .string(Timestamp.rfc3339(millis: row.since)),
                "kind": .string(row.entry.kind.rawValue),
            ]
        }
    }

    /// How many live sessions wait for `unit`.
    public func waitingCount(unit: String) -> Int { waitingIndex[unit]?.count ?? 0 }

    public func isPresent(sub: String, sessionId: String) -> Bool { states[sessionId]?.isPresent(sub) ?? false }

    /// Live sessions where `sub` is a participant that has not left (present or away), sorted.
    public func sessions(of sub: String) -> [String] { (memberIndex[sub] ?? []).sorted() }

    /// Sessions not ended, sorted.
    public var liveSessionIds: [String] { liveIds.sorted() }

    /// Every session held, ended ones included, sorted.
    public var allSessionIds: [String] { states.keys.sorted() }

    /// `{session, participants:[participant with presence], lastSeq}` for a join result or an ops view.
    public func joinView(_ id: String) -> JSONValue? {
        guard let s = states[id] else { return nil }
        return [
            "session": s.sessionObject,
            "participants": .array(s.participants.map(\.jsonWithPresence)),
            "lastSeq": JSONValue(s.lastSeq),
        ]
    }

    /// Drops an ended session from memory (its record stays in the store). False if unknown or still live.
    @discardableResult
    public mutating func forget(sessionId: String) -> Bool {
        guard let s = states[sessionId], !s.isLive else { return false }
        states[sessionId] = nil
        return true
    }

    // MARK: Applying events

    /// Applies one stored event, in stored order; false (and nothing changes) when it does not follow the
    /// session's latest seq, or when a session's first event is not a readable `session.state`.
    ///
    /// Events of types the book does not own (documents, forms, tracks…) only advance seq and head.
    @discardableResult
    public mutating func restore(_ event: SessionEvent) -> Bool {
        let current = states[event.sessionId]
        guard event.seq == (current?.lastSeq ?? 0) + 1 else { return false }
        var s: SessionState
        if let current {
            s = current
        } else {
            guard event.type == SessionEventType.sessionState.rawValue,
                let created = SessionState(sessionObject: event.data["session"]), created.id == event.sessionId
            else { return false }
            s = created
        }
        Self.apply(event, to: &s)
        s.lastSeq = event.seq
        s.head = event.hash
        store(s)
        return true
    }

    static func apply(_ event: SessionEvent, to s: inout SessionState) {
        guard let type = SessionEventType(rawValue: event.type) else { return }
        let participant = SessionParticipant.identity(from: event.data["participant"])
        func setPresence(_ presence: ParticipantPresence) {
            guard let sub = participant?.sub, let i = s.participants.firstIndex(where: { $0.sub == sub }) else {
                return
            }
            s.participants[i].presence = presence
        }
        switch type {
        case .sessionState:
            if let object = SessionState(sessionObject: event.data["session"]) { s.takeObjectFields(of: object) }
        case .sessionEnded:
            s.state = .ended
            s.outcome = event.data["outcome"]?.stringValue
            s.waiting = []
        case .participantJoined:
            guard let identity = participant else { return }
            let joined = SessionParticipant(identity: identity, presence: .present)
            if let i = s.participants.firstIndex(where: { $0.sub == identity.sub }) {
                s.participants[i] = joined
            } else {
                s.participants.append(joined)
            }
        case .participantAway:
            setPresence(.away(since: event.atMillis))
        case .participantBack:
            setPresence(.present)
        case .participantLeft:
            setPresence(.left(reason: event.data["reason"]?.stringValue ?? "left", at: event.atMillis))
        case .chat, .applicantTokenIssued:
            break
        }
    }

    /// Puts `s` in place and keeps the indexes in step.
    mutating func store(_ s: SessionState) {
        if let old = states[s.id] { unindex(old) }
        states[s.id] = s
        guard s.isLive else { return }
        liveIds.insert(s.id)
        for e in s.waiting { waitingIndex[e.unit, default: []].insert(s.id) }
        for p in s.participants where !p.presence.hasLeft { memberIndex[p.sub, default: []].insert(s.id) }
    }

    private mutating func unindex(_ s: SessionState) {
        liveIds.remove(s.id)
        for e in s.waiting {
            waitingIndex[e.unit]?.remove(s.id)
            if waitingIndex[e.unit]?.isEmpty == true { waitingIndex[e.unit] = nil }
        }
        for p in s.participants {
            memberIndex[p.sub]?.remove(s.id)
            if memberIndex[p.sub]?.isEmpty == true { memberIndex[p.sub] = nil }
        }
    }

    // MARK: Emitting events

    /// Makes the session's next event (seq, chain hash), applies it and names its recipients.
    ///
    /// Recipients: participants present once it applied, then `alsoTo`, without `excluding`.
    mutating func emit(
        _ sessionId: String, _ type: SessionEventType, actor: String, _ data: [String: JSONValue], now: Int64,
        alsoTo: [String] = [], excluding: String? = nil
    ) -> Emitted {
        emit(sessionId, type: type.rawValue, actor: actor, data, now: now, alsoTo: alsoTo, excluding: excluding)
    }

    mutating func emit(
        _ sessionId: String, type: String, actor: String, _ data: [String: JSONValue], now: Int64,
        alsoTo: [String] = [], excluding: String? = nil
    ) -> Emitted {
        let previous = states[sessionId]
        var event = SessionEvent(
            sessionId: sessionId, seq: (previous?.lastSeq ?? 0) + 1, atMillis: now, type: type, actor: actor,
            data: data, hash: "")
        event.hash = chainHash(previous?.head ?? SessionState.zeroHash, event)
        let applied = restore(event)
        precondition(applied, "session \(sessionId): the book could not apply its own \(type) event")
        var recipients: [String] = []
        for sub in (states[sessionId]?.presentSubs ?? []) + alsoTo where sub != excluding && !recipients.contains(sub) {
            recipients.append(sub)
        }
        return Emitted(event: event, recipients: recipients)
    }

    /// A `session.state` event carrying `object` as the new session object.
    mutating func emitState(
        _ object: SessionState, cause: String, actor: String, now: Int64, extra: [String: JSONValue] = [:],
        alsoTo: [String] = []
    ) -> Emitted {
        var data = extra
        data["session"] = object.sessionObject
        data["cause"] = .string(cause)
        return emit(object.id, .sessionState, actor: actor, data, now: now, alsoTo: alsoTo)
    }

    /// Ends a live session: `session.ended {outcome, note, recordHead}`; its queue entries go.
    /// Counts a relayed `signal` in `id`'s session; the count is recorded in `session.ended`.
    public mutating func countSignal(sessionId id: String) {
        states[id]?.signals += 1
    }

    mutating func finish(_ id: String, outcome: String, note: String?, actor: String, now: Int64) -> SessionOutcome {
        guard let s = states[id], s.isLive else { return SessionOutcome() }
        let ended = emit(
            id, .sessionEnded, actor: actor,
            [
                "outcome": .string(outcome), "note": JSONValue(note), "recordHead": .string(s.head),
                "signals": .number(Double(s.signals)),
            ], now: now)
        return SessionOutcome(
            emitted: [ended], changedQueues: Set(s.waiting.map(\.unit)), endedSessions: [id])
    }
}
