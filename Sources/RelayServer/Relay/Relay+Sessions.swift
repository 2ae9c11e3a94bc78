import RelayCore
import RelayStore
import RelayTransport
import Logging
import RelayMedia
import Prometheus

extension Relay {
    func handleSession(_ request: SessionRequest, peer: Peer, identity: Identity, id: String?) throws(Refusal) {
        if request.kind != .queueWatch, refusedWhileStalled(peer, id: id) { return }
        if case .end(let sessionId, _, _) = request, hasRecordingsInFlight(sessionId) {
            // Refused ends change nothing: they are decided before any track is closed.
            try book.admit(request, by: identity)
            whenRecordingsFinal(sessionId) { [self] in
                do throws(Refusal) {
                    try handleSession(request, peer: peer, identity: identity, id: id)
                } catch {
                    refuse(peer, id: id, error)
                }
            }
            return
        }
        var outcome = try book.handle(request, by: identity, now: wallMillis)
        if case .join(let sessionId, _) = request { addForms(of: sessionId, to: &outcome, for: peer) }
        if let join = outcome.join, case .object(var o)? = outcome.result {
            o["documents"] = documents.json(in: join.sessionId)
            o["tracks"] = .array(tracks.tracks(sessionId: join.sessionId).map(\.json))
            outcome.result = .object(o)
        }
        if let grant = outcome.applicantToken {
            let claims = TokenClaims(
                sub: grant.sub, role: .applicant, sid: grant.sessionId, exp: grant.expiresAtMillis / 1000,
                iat: wallMillis / 1000)
            outcome.result = [
                "token": .string(tokens.sign(claims)),
                "expiresAt": .string(Timestamp.rfc3339(millis: grant.expiresAtMillis)),
            ]
        }
        switch request {
        case .queueWatch:
            if let unit = identity.unit {
                if let old = peer.watchingUnit { queueWatchers[old]?.remove(peer.id) }
                peer.watchingUnit = unit
                queueWatchers[unit, default: []].insert(peer.id)
            }
        default:
            break
        }
        apply(outcome, for: peer, requestId: id)
    }

    /// Makes an outcome visible in durable order: its events are committed, then delivered to the
    /// connections that have joined their sessions, then the requester gets its reply (and, for a
    /// join, its replay), then queue watchers get their updates.
    func apply(_ outcome: SessionOutcome, for peer: Peer?, requestId: String?) {
        // Consequences (closing tracks, a deferred end) are queued after this outcome, never before.
        defer { for emitted in outcome.emitted { afterEvent(emitted.event) } }
        let joining = peer.flatMap { p in joinTarget(of: outcome, peer: p) }
        let release: (Result<StoreBatchResult, StoreError>?) -> Void = { [self] stored in
            if case .failure(let error)? = stored {
                let sessions = Set(outcome.emitted.map(\.event.sessionId)).sorted().joined(separator: ",")
                logger.error("store commit failed", metadata: ["session": "\(sessions)", "error": "\(error)"])
                if let peer { peer.sendError(Refusal(.internal, "could not store the change: \(error)"), id: requestId) }
                return
            }
            if let joining, let peer, peer.connection.isOpen {
                // The requester joins before the events, so it receives the ones this request caused.
                peer.joined[joining.sessionId] = joining.deliveredThrough
            }
            if let replay = outcome.join, let peer {
                // A join is answered by its replay: live delivery resumes after it.
                peer.joined.removeValue(forKey: replay.sessionId)
            }
            for emitted in outcome.emitted {
                log(emitted.event)
                deliver(emitted)
            }
            if let peer, peer.connection.isOpen {
                if let replay = outcome.join {
                    var result = outcome.result ?? [:]
                    if case .object(var o) = result {
                        o["documents"] = o["documents"] ?? []
                        o["tracks"] = o["tracks"] ?? []
                        o["forms"] = o["forms"] ?? []
                        o["replayed"] = .bool(replay.afterSeq < replay.through)
                        result = .object(o)
                    }
                    peer.sendOK(id: requestId, result: result)
                    let replayed = (try? stored?.get())?.replayed ?? []
                    for event in replayed { peer.send(event.wireMessage) }
                    peer.joined[replay.sessionId] = replay.through
                } else if let result = outcome.result {
                    peer.sendOK(id: requestId, result: result)
                } else {
                    peer.sendOK(id: requestId, result: [:])
                }
            }
            for unit in outcome.changedQueues { publishQueue(unit) }
        }
        var batch = StoreBatch(events: outcome.emitted.map(\.event), summaries: summaries(of: outcome), replay: nil)
        if let replay = outcome.join {
            batch.replay = ReplayRequest(sessionId: replay.sessionId, afterSeq: replay.afterSeq, throughSeq: replay.through)
        }
        if batch.events.isEmpty && batch.replay == nil {
            if outbox.release(release) { release(nil) }
            return
        }
        metrics.eventsAppended(batch.events.count)
        let ticket = outbox.awaitBatch(release)
        let loop = self.loop
        let bound = LoopBound(self, loop: loop.identity)
        let started = loop.nowMillis
        store.enqueue(batch) { result in
            loop.execute {
                let relay = bound.value
                relay.metrics.commitLatency(millis: loop.nowMillis - started)
                for (release, value) in relay.outbox.complete(ticket: ticket, result: result) { release(value) }
            }
        }
    }

    /// For create and accept, which make the requester a member without a replay: the session
    /// and the seq before this outcome's first event of it, so the requester receives them all.
    private func joinTarget(of outcome: SessionOutcome, peer: Peer) -> (sessionId: String, deliveredThrough: Int)? {
        guard outcome.join == nil, let sub = peer.identity?.sub else { return nil }
        let joined = outcome.emitted.first {
            $0.event.type == "participant.joined" && $0.event.data["participant"]?["id"]?.stringValue == sub
        }
        guard let sessionId = joined?.event.sessionId else { return nil }
        let first = outcome.emitted.lazy.filter { $0.event.sessionId == sessionId }.map(\.event.seq).min() ?? 1
        return (sessionId, first - 1)
    }

    /// Sends an event to each recipient's connection that has joined the session, once, in order.
    func deliver(_ emitted: Emitted) {
        let event = emitted.event
        // One frame for every receiver: serialised once, never copied per receiver.
        var frame: OutboundFrame?
        for sub in emitted.recipients {
            guard let peer = peersBySub[sub], let seen = peer.joined[event.sessionId], event.seq > seen else { continue }
            if frame == nil { frame = OutboundFrame(event.wireMessage.canonicalBytes, binary: false) }
            peer.connection.send(frame!, as: .message)
            peer.joined[event.sessionId] = event.seq
            if event.type == "participant.left", event.data["participant"]?["id"]?.stringValue == sub {
                peer.joined.removeValue(forKey: event.sessionId)
            }
        }
        if event.type == "session.ended" {
            for sub in emitted.recipients { peersBySub[sub]?.joined.removeValue(forKey: event.sessionId) }
        }
    }

    func publishQueue(_ unit: String) {
        guard let watchers = queueWatchers[unit], !watchers.isEmpty else { return }
        let message: JSONValue = ["type": "queue.update", "unit": .string(unit), "waiting": .array(book.waiting(unit: unit))]
        let frame = OutboundFrame(message.canonicalBytes, binary: false)
        for id in watchers { peers[id]?.connection.send(frame, as: .message) }
    }

    private func summaries(of outcome: SessionOutcome) -> [SessionSummary] {
        var seen = Set<String>()
        var result: [SessionSummary] = []
        for emitted in outcome.emitted where seen.insert(emitted.event.sessionId).inserted {
            if let s = book.session(emitted.event.sessionId) { result.append(SessionSummary(s)) }
        }
        return result
    }
}

extension Relay {
    /// While the store cannot commit (disk full), requests that would write are refused at once,
    /// not behind the stalled commit: nothing was changed. Returns true when it refused.
    func refusedWhileStalled(_ peer: Peer, id: String?) -> Bool {
        guard store.isStalled else { return false }
        metrics.requestErrors(.internal)
        peer.sendError(
            Refusal(.internal, "storage cannot commit right now (disk full?); nothing was changed, try again shortly"),
            id: id)
        return true
    }

    /// Loop-side consequences of an event, applied when it is made (before it is durable, like the
    /// book's own state): tracks of a participant who left are closed; an ended session's are too.
    func afterEvent(_ event: SessionEvent) {
        switch event.type {
        case "participant.left":
            if let sub = event.data["participant"]?["id"]?.stringValue {
                for track in tracks.tracks(owner: sub) where track.sessionId == event.sessionId {
                    closeTrack(track, actor: "server", reason: "participant left", reply: nil)
                }
            }
        case "session.ended":
            endedSessions[event.sessionId] = loop.nowMillis
            // Every end with tracks open goes through `whenRecordingsFinal`; this is the safety net
            // (a track opened in the same loop turn): its recording is finished, not recorded.
            closeTracks(sessionId: event.sessionId, reason: "session ended")
            tracks.forget(sessionId: event.sessionId)
        default:
            break
        }
    }
}

extension Relay {
    /// True while a track of the session is open or its recording is being finished.
    func hasRecordingsInFlight(_ sessionId: String) -> Bool {
        !tracks.tracks(sessionId: sessionId).isEmpty || closingTracks[sessionId, default: 0] > 0
    }

    /// Runs `end` once every recording of the session is final and its `track.removed` (with the
    /// file's hash) is in the log, so `session.ended` comes after all of them (decisions D8).
    /// Closes the session's open tracks; runs `end` at once when there are none.
    func whenRecordingsFinal(_ sessionId: String, _ end: @escaping () -> Void) {
        guard hasRecordingsInFlight(sessionId) else { return end() }
        pendingEnds[sessionId, default: []].append(end)
        closeTracks(sessionId: sessionId, reason: "session ended")
    }

    /// Called after each finished recording's `track.removed` has been applied.
    func recordingFinished(_ sessionId: String) {
        closingTracks[sessionId, default: 1] -= 1
        if closingTracks[sessionId] == 0 { closingTracks.removeValue(forKey: sessionId) }
        guard !hasRecordingsInFlight(sessionId), let waiting = pendingEnds.removeValue(forKey: sessionId) else { return }
        for end in waiting { end() }
    }
}

extension Relay {
    /// Event types logged at `info`: the life of sessions, participants, tracks and documents.
    /// The rest (chat, form values and guidance) are logged at `debug`, and never their content.
    static let eventsLoggedAtInfo: Set<String> = [
        "session.state", "session.ended", "participant.joined", "participant.left", "participant.away",
        "participant.back", "track.added", "track.removed", "doc.available", "form.submitted",
    ]

    /// One log line per durable event: what happened in which session, by whom, to whom. Only ids,
    /// types and states: never names, chat text, form values or document names (PROTOCOL §7).
    func log(_ event: SessionEvent) {
        let level: Logger.Level = Self.eventsLoggedAtInfo.contains(event.type) ? .info : .debug
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "session": "\(event.sessionId)", "seq": "\(event.seq)", "actor": "\(event.actor)",
        ]
        if let participant = event.data["participant"]?["id"]?.stringValue { metadata["participant"] = "\(participant)" }
        if let state = event.data["session"]?["state"]?.stringValue { metadata["state"] = "\(state)" }
        if let outcome = event.data["outcome"]?.stringValue { metadata["outcome"] = "\(outcome)" }
        if let track = event.data["track"]?.intValue { metadata["track"] = "\(track)" }
        // A decline's or transfer's reason is free text; these two are fixed words.
        if event.type == "participant.left" || event.type == "track.removed",
            let reason = event.data["reason"]?.stringValue
        {
            metadata["reason"] = "\(reason)"
        }
        if let document = event.data["document"]?["id"]?.stringValue { metadata["document"] = "\(document)" }
        logger.log(level: level, "\(event.type)", metadata: metadata)
    }
}
