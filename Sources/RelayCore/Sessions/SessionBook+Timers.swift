extension SessionBook {
    /// The device of `sub` disconnected (not replaced): `participant.away` (actor `server`) in each live session
    /// where it is present, sent to the participants still present.
    public mutating func connectionLost(sub: String, now: Int64) -> SessionOutcome {
        var out = SessionOutcome()
        for id in sessions(of: sub) {
            guard let p = states[id]?.participant(sub), p.presence == .present else { continue }
            out.emitted.append(
                emit(
                    id, .participantAway, actor: "server", ["participant": p.identity.participantJSON],
                    now: now))
        }
        return out
    }

    /// After a restart no device is connected: every present participant of every live session goes away,
    /// so that the grace period runs for each.
    public mutating func allConnectionsLost(now: Int64) -> SessionOutcome {
        var out = SessionOutcome()
        let subs = Set(liveIds.flatMap { states[$0]?.presentSubs ?? [] })
        for sub in subs.sorted() { out.merge(connectionLost(sub: sub, now: now)) }
        return out
    }

    /// The timers; call about once a second.
    ///
    /// - A queue entry waiting `queueMaxWaitSeconds` or more expires (actor `server`): the `create` entry ends
    ///   the session with outcome `expired`; an `invite` entry just leaves; a `transfer` entry leaves and the
    ///   session is `active` again with the transferring staff, or ends `expired` when none of its staff stayed.
    /// - A participant away `reconnectGraceSeconds` or more leaves with reason `timeout`.
    /// - An active session whose participants have all left, the last one `reconnectGraceSeconds` ago or more,
    ///   ends with outcome `abandoned` (nobody can hand it on any more).
    public mutating func tick(now: Int64) -> SessionOutcome {
        var out = SessionOutcome()
        let maxWait = Int64(rules.queueMaxWaitSeconds) * 1000
        let grace = Int64(rules.reconnectGraceSeconds) * 1000
        for id in liveSessionIds {
            for entry in states[id]?.waiting ?? [] where now - entry.since >= maxWait {
                guard let s = states[id], s.isLive, s.entry(for: entry.unit) == entry else { continue }
                out.merge(
                    removeEntry(
                        entry, of: s, cause: "expire", endOutcome: "expired", actor: "server", reason: nil,
                        now: now))
            }
            for p in states[id]?.participants ?? [] {
                guard states[id]?.isLive == true, case .away(let since) = p.presence, now - since >= grace else {
                    continue
                }
                out.emitted.append(
                    emit(
                        id, .participantLeft, actor: "server",
                        ["participant": p.identity.participantJSON, "reason": "timeout"], now: now, alsoTo: [p.sub]))
            }
            guard let s = states[id], s.state == .active, !s.participants.isEmpty else { continue }
            var lastLeft: Int64 = .min
            for p in s.participants {
                guard case .left(_, let at) = p.presence else {
                    lastLeft = .max
                    break
                }
                lastLeft = max(lastLeft, at)
            }
            if lastLeft != .max, now - lastLeft >= grace {
                out.merge(finish(id, outcome: "abandoned", note: nil, actor: "server", now: now))
            }
        }
        return out
    }

    /// Appends an event of another part of the core (documents, forms, tracks…) to a live session: next seq,
    /// chain hash, sent to the participants present.
    ///
    /// The types of `SessionEventType` belong to this book and are refused (`internal`): use its requests.
    public mutating func append(
        sessionId: String, type: String, actor: String, data: [String: JSONValue], now: Int64
    )
        throws(Refusal) -> Emitted
    {
        guard SessionEventType(rawValue: type) == nil else {
            throw Refusal(.internal, "\(type) events are the session book's own; append cannot write them")
        }
        guard let s = states[sessionId] else { throw Refusal(.notFound, "no session \(sessionId)") }
        _ = try live(s, "add \(type) to")
        return emit(sessionId, type: type, actor: actor, data, now: now)
    }

    /// Ops API `POST /v1/ops/sessions/{id}/end`: ends a live session with `by`'s sub as actor.
    public mutating func opsEnd(
        sessionId: String, outcome: SessionEndOutcome, note: String?, by ops: Identity, now: Int64
    ) throws(Refusal) -> SessionOutcome {
        try admitOpsEnd(sessionId: sessionId, note: note, by: ops)
        var out = finish(sessionId, outcome: outcome.rawValue, note: note, actor: ops.sub, now: now)
        out.result = ["session": sessionJSON(sessionId)!]
        return out
    }

    /// The checks of `opsEnd`, without the end: ops role, a live session, a note within bounds.
    public func admitOpsEnd(sessionId: String, note: String?, by ops: Identity) throws(Refusal) {
        let s = try opsSession(sessionId, by: ops)
        if let note, note.count > SessionRequest.maxNoteLength {
            throw Refusal(
                .badRequest, "field `note` must be at most \(SessionRequest.maxNoteLength) characters",
                details: ["field": "note"])
        }
        _ = try live(s, "end")
    }

    /// Ops API `POST /v1/ops/sessions/{id}/participants/{sub}/kick`: `participant.left` reason `kicked`, actor
    /// `by`'s sub. The kicked sub may not join the session again; the server closes its device.
    public mutating func opsKick(
        sessionId: String, sub: String, by ops: Identity, now: Int64
    ) throws(Refusal)
        -> SessionOutcome
    {
        let s = try live(try opsSession(sessionId, by: ops), "kick participants of")
        guard let p = s.participant(sub), !p.presence.hasLeft else {
            throw Refusal(.notFound, "\(sub) is not a participant of session \(sessionId)")
        }
        let left = emit(
            sessionId, .participantLeft, actor: ops.sub,
            ["participant": p.identity.participantJSON, "reason": "kicked"],
            now: now, alsoTo: [sub])
        return SessionOutcome(emitted: [left], result: .object([:]))
    }

    private func opsSession(_ id: String, by ops: Identity) throws(Refusal) -> SessionState {
        guard ops.role == .ops else { throw Refusal(.forbidden, "only an ops token may use the ops API") }
        guard let s = states[id] else { throw Refusal(.notFound, "no session \(id)") }
        return s
    }
}
