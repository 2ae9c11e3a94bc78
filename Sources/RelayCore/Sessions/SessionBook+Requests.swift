extension SessionBook {
    /// Decides a PROTOCOL §3 request from `who` at `now` (unix millis): refuses it, or returns its events and reply.
    ///
    /// Checks run in this order: role (`forbidden`), session (`not_found`), relation to it (`forbidden` or
    /// `invalid_state`, see `SessionAuthorization`), its state (`invalid_state`), then the fields against the
    /// catalog and rules. Nothing changes unless the request is accepted.
    public mutating func handle(
        _ request: SessionRequest, by who: Identity, now: Int64
    ) throws(Refusal)
        -> SessionOutcome
    {
        let session = try admit(request, by: who)
        switch request {
        case .create(let service, let toUnit, let applicant, let note):
            return try create(service: service, toUnit: toUnit, applicant: applicant, note: note, by: who, now: now)
        case .queueWatch:
            let unit = who.unit ?? ""
            return SessionOutcome(result: ["unit": .string(unit), "waiting": .array(waiting(unit: unit))])
        case .accept:
            return try accept(session!, by: who, now: now)
        case .decline(_, let reason):
            return decline(session!, reason: reason, by: who, now: now)
        case .transfer(_, let toUnit, let reason):
            return try transfer(session!, to: toUnit, reason: reason, by: who, now: now)
        case .invite(_, let unit):
            return try invite(session!, unit: unit, by: who, now: now)
        case .applicantToken(_, let ttl):
            return try applicantToken(session!, ttlSeconds: ttl, by: who, now: now)
        case .join(_, let lastSeq):
            return try join(session!, lastSeq: lastSeq, by: who, now: now)
        case .leave:
            let s = try live(session!, "leave")
            let p = s.participant(who.sub)!
            let left = emit(
                s.id, .participantLeft, actor: who.sub,
                ["participant": p.identity.participantJSON, "reason": "left"], now: now, alsoTo: [who.sub])
            return SessionOutcome(emitted: [left], result: .object([:]))
        case .end(_, let outcome, let note):
            let s = try live(session!, "end")
            var out = finish(s.id, outcome: outcome.rawValue, note: note, actor: who.sub, now: now)
            out.result = ["session": sessionJSON(s.id)!]
            return out
        case .chat(_, let text):
            let s = try live(session!, "chat in")
            guard text.count <= rules.maxChatLength else {
                throw Refusal(
                    .tooLarge, "chat text is \(text.count) characters; the most is \(rules.maxChatLength)",
                    details: ["field": "text"])
            }
            let chat = emit(s.id, .chat, actor: who.sub, ["text": .string(text)], now: now)
            return SessionOutcome(emitted: [chat], result: .object([:]))
        }
    }

    /// The checks of `handle` that come before any change: role, session, relation to it, and for
    /// `end` that the session is live. For a caller that has work to do between deciding and
    /// applying (the relay finishes a session's recordings before it ends it): a refused request
    /// must not cause that work. Returns the session the request names, if it names one.
    @discardableResult
    public func admit(_ request: SessionRequest, by who: Identity) throws(Refusal) -> SessionState? {
        try SessionAuthorization.checkRole(request.kind, who)
        guard let id = request.sessionId else { return nil }
        guard let s = states[id] else {
            throw Refusal(.notFound, "no session \(id); it never existed or was closed long ago")
        }
        try SessionAuthorization.checkRelation(request.kind, who, s)
        if case .end = request { _ = try live(s, "end") }
        return s
    }

    /// `s` if it has not ended; else `invalid_state`.
    func live(_ s: SessionState, _ doing: String) throws(Refusal) -> SessionState {
        guard s.isLive else {
            throw Refusal(
                .invalidState, "session \(s.id) has ended (\(s.outcome ?? "")); you can no longer \(doing) it")
        }
        return s
    }

    /// Refuses a new queue entry for a unit whose queue is full.
    func checkRoom(_ unit: String) throws(Refusal) {
        guard waitingCount(unit: unit) < rules.maxWaitingPerUnit else {
            throw Refusal(
                .rateLimited,
                "unit \(unit) already has \(rules.maxWaitingPerUnit) sessions waiting; try again later or another unit",
                details: ["unit": .string(unit)])
        }
    }

    /// Refuses a unit that is not in the catalog or does not handle `service`.
    func checkHandles(_ unit: String, service: String, field: String) throws(Refusal) {
        guard catalog.unit(unit) != nil, catalog.service(service)?.handledBy.contains(unit) == true else {
            throw Refusal(
                .badRequest, "unit `\(unit)` does not handle service `\(service)` in the catalog",
                details: ["field": .string(field)])
        }
    }

    private mutating func create(
        service: String, toUnit: String, applicant: ApplicantInfo?, note: String?, by who: Identity, now: Int64
    ) throws(Refusal) -> SessionOutcome {
        guard catalog.service(service) != nil else {
            throw Refusal(.badRequest, "unknown service `\(service)`; see the catalog", details: ["field": "service"])
        }
        try checkHandles(toUnit, service: service, field: "toUnit")
        try checkRoom(toUnit)
        let fromUnit = who.unit!
        var id = makeSessionId()
        var tries = 1
        while states[id] != nil {
            guard tries < 16 else { throw Refusal(.internal, "could not make a new session id; try again") }
            id = makeSessionId()
            tries += 1
        }
        let created = SessionState(
            id: id, state: .queued, service: service, fromUnit: fromUnit,
            units: fromUnit == toUnit ? [fromUnit] : [fromUnit, toUnit], createdAt: now, applicant: applicant,
            note: note, waiting: [QueueEntry(unit: toUnit, since: now, kind: .create)])
        var out = SessionOutcome(changedQueues: [toUnit])
        out.emitted.append(emitState(created, cause: "create", actor: who.sub, now: now, alsoTo: [who.sub]))
        out.emitted.append(
            emit(id, .participantJoined, actor: who.sub, ["participant": who.participantJSON], now: now))
        out.result = ["session": sessionJSON(id)!]
        return out
    }

    private mutating func accept(_ s: SessionState, by who: Identity, now: Int64) throws(Refusal) -> SessionOutcome {
        let unit = who.unit!
        let entry = s.entry(for: unit)!
        if let p = s.participant(who.sub), !p.presence.hasLeft {
            throw Refusal(.conflict, "you are already in session \(s.id); a colleague of your unit may accept it")
        }
        var next = s
        next.waiting.removeAll { $0.unit == unit }
        var leaving: [SessionParticipant] = []
        if entry.kind == .transfer, let from = entry.transferFrom {
            next.units.removeAll { $0 == from }
            leaving = s.staffStaying(of: from)
        }
        next.state = SessionState.phase(for: next.waiting)
        var out = SessionOutcome(changedQueues: [unit])
        out.emitted.append(
            emit(s.id, .participantJoined, actor: who.sub, ["participant": who.participantJSON], now: now))
        out.emitted.append(emitState(next, cause: "accept", actor: who.sub, now: now, extra: ["unit": .string(unit)]))
        for p in leaving {
            out.emitted.append(
                emit(
                    s.id, .participantLeft, actor: who.sub,
                    ["participant": p.identity.participantJSON, "reason": "transferred"], now: now, alsoTo: [p.sub]))
        }
        out.result = ["session": sessionJSON(s.id)!]
        return out
    }

    private mutating func decline(_ s: SessionState, reason: String?, by who: Identity, now: Int64) -> SessionOutcome {
        let unit = who.unit!
        var out = removeEntry(
            s.entry(for: unit)!, of: s, cause: "decline", endOutcome: "declined", actor: who.sub,
            reason: reason, now: now)
        out.result = ["session": sessionJSON(s.id)!]
        return out
    }

    /// Takes `entry` out of the queue (declined or expired).
    ///
    /// The `create` entry, or a `transfer` entry with no staff left in the session, ends the session with
    /// `endOutcome`; otherwise the session goes on (`active` again after a transfer) without that unit.
    mutating func removeEntry(
        _ entry: QueueEntry, of s: SessionState, cause: String, endOutcome: String, actor: String, reason: String?,
        now: Int64
    ) -> SessionOutcome {
        let staffLeft = s.participants.contains { $0.isStaff && !$0.presence.hasLeft }
        if entry.kind == .create || (entry.kind == .transfer && !staffLeft) {
            return finish(s.id, outcome: endOutcome, note: reason, actor: actor, now: now)
        }
        var next = s
        next.waiting.removeAll { $0.unit == entry.unit }
        if s.staffStaying(of: entry.unit).isEmpty { next.units.removeAll { $0 == entry.unit } }
        next.state = SessionState.phase(for: next.waiting)
        var extra: [String: JSONValue] = ["unit": .string(entry.unit)]
        if let reason { extra["reason"] = .string(reason) }
        let state = emitState(next, cause: cause, actor: actor, now: now, extra: extra)
        return SessionOutcome(emitted: [state], changedQueues: [entry.unit])
    }

    private mutating func transfer(
        _ s: SessionState, to toUnit: String, reason: String?, by who: Identity, now: Int64
    ) throws(Refusal) -> SessionOutcome {
        guard s.state == .active else {
            throw Refusal(
                .invalidState, "session \(s.id) is \(s.state.rawValue); only an active session can be transferred")
        }
        guard let from = who.unit else { throw Refusal(.forbidden, "your token has no unit to transfer from") }
        try checkHandles(toUnit, service: s.service, field: "toUnit")
        guard toUnit != from, !s.units.contains(toUnit) else {
            throw Refusal(.conflict, "unit \(toUnit) is already in session \(s.id)", details: ["field": "toUnit"])
        }
        try checkRoom(toUnit)
        var next = s
        next.state = .queued
        next.units.append(toUnit)
        next.waiting.append(QueueEntry(unit: toUnit, since: now, kind: .transfer, transferFrom: from))
        var extra: [String: JSONValue] = ["unit": .string(toUnit)]
        if let reason { extra["reason"] = .string(reason) }
        let state = emitState(next, cause: "transfer", actor: who.sub, now: now, extra: extra)
        return SessionOutcome(emitted: [state], result: ["session": sessionJSON(s.id)!], changedQueues: [toUnit])
    }

    private mutating func invite(
        _ s: SessionState, unit: String, by who: Identity, now: Int64
    ) throws(Refusal)
        -> SessionOutcome
    {
        guard s.state == .active else {
            throw Refusal(.invalidState, "session \(s.id) is \(s.state.rawValue); invite once it is active")
        }
        guard catalog.unit(unit) != nil else {
            throw Refusal(.badRequest, "unknown unit `\(unit)`; see the catalog", details: ["field": "unit"])
        }
        guard !s.units.contains(unit) else {
            throw Refusal(.conflict, "unit \(unit) is already in session \(s.id)", details: ["field": "unit"])
        }
        try checkRoom(unit)
        var next = s
        next.units.append(unit)
        next.waiting.append(QueueEntry(unit: unit, since: now, kind: .invite))
        let state = emitState(next, cause: "invite", actor: who.sub, now: now, extra: ["unit": .string(unit)])
        return SessionOutcome(emitted: [state], result: ["session": sessionJSON(s.id)!], changedQueues: [unit])
    }

    private mutating func applicantToken(
        _ s: SessionState, ttlSeconds: Int, by who: Identity, now: Int64
    )
        throws(Refusal) -> SessionOutcome
    {
        _ = try live(s, "issue applicant tokens for")
        guard (1...rules.maxApplicantTokenTTL).contains(ttlSeconds) else {
            throw Refusal(
                .badRequest, "field `ttlSeconds` must be 1 to \(rules.maxApplicantTokenTTL)",
                details: ["field": "ttlSeconds"])
        }
        let sub = Self.applicantSub(of: s.id)
        let expires = now + Int64(ttlSeconds) * 1000
        let issued = emit(
            s.id, .applicantTokenIssued, actor: who.sub,
            [
                "applicant": .string(sub), "ttlSeconds": JSONValue(ttlSeconds),
                "expiresAt": .string(Timestamp.rfc3339(millis: expires)),
            ], now: now)
        return SessionOutcome(
            emitted: [issued],
            applicantToken: ApplicantTokenRequest(
                sessionId: s.id, ttlSeconds: ttlSeconds, sub: sub, expiresAtMillis: expires))
    }

    private mutating func join(
        _ s: SessionState, lastSeq: Int, by who: Identity, now: Int64
    ) throws(Refusal)
        -> SessionOutcome
    {
        let p = s.participant(who.sub)
        if case .left(let reason, _) = p?.presence, reason == "kicked" {
            throw Refusal(.forbidden, "you were removed from session \(s.id) by operations")
        }
        guard lastSeq <= s.lastSeq else {
            throw Refusal(
                .badRequest, "field `lastSeq` is \(lastSeq) but session \(s.id) is only at \(s.lastSeq)",
                details: ["field": "lastSeq"])
        }
        var out = SessionOutcome()
        if s.isLive {
            switch p?.presence {
            case .present:
                break  // a replaced connection: nothing happened in the session
            case .away:
                out.emitted.append(
                    emit(
                        s.id, .participantBack, actor: who.sub, ["participant": p!.identity.participantJSON],
                        now: now, excluding: who.sub))
            case .left(let reason, _):
                guard reason != "transferred" else {
                    throw Refusal(.forbidden, "you handed session \(s.id) over to another unit")
                }
                fallthrough
            case nil:
                out.emitted.append(
                    emit(
                        s.id, .participantJoined, actor: who.sub, ["participant": who.participantJSON],
                        now: now, excluding: who.sub))
            }
        }
        let latest = states[s.id]!.lastSeq
        out.result = joinView(s.id)
        out.join = JoinReplay(sessionId: s.id, afterSeq: lastSeq, through: latest)
        return out
    }
}
