import RelayCore
import RelayStore
import RelayTransport

extension Relay {
    /// Once a second: levels from the recorder into the track statistics, `health` to a session's
    /// participants when a grade changed, `ops.snapshot` to ops watchers, gauges.
    func healthTick() {
        for (key, level) in recorder.latestLevels() {
            liveTracks[key]?.stats.recordLevel(dBFS: level.dBFS, atMillis: level.atMillis)
        }
        var snapshots: [SessionHealth] = []
        for sessionId in book.liveSessionIds {
            guard let health = sessionHealth(sessionId) else { continue }
            snapshots.append(health)
            let signature = health.gradeSignature
            if lastGrades[sessionId] != signature {
                lastGrades[sessionId] = signature
                let frame = OutboundFrame(health.healthMessage.canonicalBytes, binary: false)
                for p in health.participants {
                    guard let peer = peersBySub[p.id], peer.joined[sessionId] != nil else { continue }
                    peer.connection.send(frame, as: .message)
                }
            }
        }
        for sessionId in lastGrades.keys where book.session(sessionId)?.state == .ended || book.session(sessionId) == nil {
            lastGrades.removeValue(forKey: sessionId)
        }
        if !opsWatchers.isEmpty {
            let snapshot: JSONValue = ["type": "ops.snapshot", "sessions": .array(snapshots.map(\.opsJSON))]
            let frame = OutboundFrame(snapshot.canonicalBytes, binary: false)
            for id in opsWatchers { peers[id]?.connection.send(frame, as: .message) }
        }
        metrics.observe(book: book, health: snapshots, tracks: liveTracks.values.map(\.stats))
        forgetEndedSessions()
    }

    /// Ended sessions stay in memory for `endedSessionMemoryMillis` (a device that reconnects just
    /// after the end still joins and replays); then they live only in the store.
    func forgetEndedSessions() {
        let now = loop.nowMillis
        for (sessionId, endedAt) in endedSessions where now - endedAt >= Self.endedSessionMemoryMillis {
            endedSessions.removeValue(forKey: sessionId)
            _ = book.forget(sessionId: sessionId)
        }
    }

    static var endedSessionMemoryMillis: Int64 { 10 * 60 * 1000 }

    func sessionHealth(_ sessionId: String) -> SessionHealth? {
        guard let session = book.session(sessionId) else { return nil }
        return SessionHealth(
            session: session,
            rttMs: { [peersBySub] sub in peersBySub[sub]?.rtt.smoothedMs },
            tracks: { [tracks, liveTracks] sub in
                tracks.tracks(owner: sub).filter { $0.sessionId == sessionId }.compactMap {
                    liveTracks[TrackRecorder.Key(sessionId: sessionId, track: $0.number)]?.stats.health
                }
            })
    }

    /// `ops.watch`: ops only; `ops.snapshot` every second from now on.
    func opsWatch(peer: Peer, identity: Identity, id: String?) throws(Refusal) {
        guard identity.role == .ops else { throw Refusal(.forbidden, "ops.watch is for ops tokens") }
        opsWatchers.insert(peer.id)
        let sessions = book.liveSessionIds.compactMap { sessionHealth($0)?.opsJSON }
        reply(peer, id: id, result: ["sessions": .array(sessions)])
    }
}
