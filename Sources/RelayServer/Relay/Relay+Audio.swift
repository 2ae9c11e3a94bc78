import Logging
import Prometheus
import RelayCore
import RelayMedia
import RelayStore
import RelayTransport

/// Live state of one open track on the loop: its statistics and its recording.
final class LiveTrack {
    let key: TrackRecorder.Key
    var stats: TrackStats
    /// The recorder's handle of this track; nil when recording is off.
    let slot: TrackRecorder.Slot?

    init(key: TrackRecorder.Key, slot: TrackRecorder.Slot?) {
        self.key = key
        self.stats = TrackStats(track: Int(key.track))
        self.slot = slot
    }
}

/// Where one sender's audio track goes: found once, then reused for each of its packets until
/// the relay's routes change (`Relay.routeVersion`), so that a packet needs no lookup by string.
final class AudioRoute {
    let track: UInt16
    let sessionId: String
    let live: LiveTrack
    /// The connections of the session's other participants, whether or not they have joined it on
    /// that connection (`Peer.joined` is checked per packet).
    let receivers: [Peer]

    init(track: UInt16, sessionId: String, live: LiveTrack, receivers: [Peer]) {
        self.track = track
        self.sessionId = sessionId
        self.live = live
        self.receivers = receivers
    }
}

extension Relay {
    // MARK: Requests

    func audioOpen(_ body: [String: JSONValue], peer: Peer, identity: Identity, id: String?) throws(Refusal) {
        let sessionId = try Self.string(body, "sessionId")
        let codec = body["codec"]?.stringValue ?? "opus"
        guard codec == "opus" else { throw Refusal(.unsupportedType, "codec must be \"opus\"") }
        if let rate = body["sampleRate"], rate.intValue != 48000 {
            throw Refusal(.badRequest, "sampleRate must be 48000", details: ["field": "sampleRate"])
        }
        let channels = body["channels"]?.intValue ?? 1
        guard channels == 1 || channels == 2 else {
            throw Refusal(.badRequest, "channels must be 1 or 2", details: ["field": "channels"])
        }
        try requirePresent(identity, in: sessionId, active: true)
        guard pendingEnds[sessionId] == nil else {
            throw Refusal(.invalidState, "session \(sessionId) is ending: its recordings are being finished")
        }
        let mine = tracks.tracks(owner: identity.sub).filter { $0.sessionId == sessionId }.count
        guard mine < Self.maxOpenTracksPerParticipant else {
            // Each open track holds a recording file and a decoder: without a bound one participant could run
            // the server out of file descriptors.
            throw Refusal(
                .rateLimited,
                "you have \(mine) audio tracks open in \(sessionId), the most allowed; close one first")
        }
        if refusedWhileStalled(peer, id: id) { return }
        let data = try tracks.addedEventData(
            sessionId: sessionId, owner: identity, kind: "audio", codec: codec, channels: channels)
        let emitted = try book.append(sessionId: sessionId, type: "track.added", actor: identity.sub, data: data, now: wallMillis)
        trackEvent(emitted.event)
        apply(SessionOutcome(emitted: [emitted], result: ["track": data["track"]!]), for: peer, requestId: id)
    }

    func audioClose(_ body: [String: JSONValue], peer: Peer, identity: Identity, id: String?) throws(Refusal) {
        let sessionId = try Self.string(body, "sessionId")
        guard let number = body["track"]?.intValue.flatMap(UInt16.init(exactly:)) else {
            throw Refusal(.badRequest, "missing or invalid field `track`", details: ["field": "track"])
        }
        guard let track = tracks.track(owner: identity.sub, number: number), track.sessionId == sessionId else {
            throw Refusal(.notFound, "no open track \(number) of yours in \(sessionId)")
        }
        closeTrack(track, actor: identity.sub, reason: "closed", reply: (peer, id))
    }

    /// `signal`: opaque WebRTC signalling to one participant of the session (not recorded).
    func signal(_ body: [String: JSONValue], peer: Peer, identity: Identity, id: String?) throws(Refusal) {
        let sessionId = try Self.string(body, "sessionId")
        let to = try Self.string(body, "to")
        guard let data = body["data"] else { throw Refusal(.badRequest, "missing field `data`", details: ["field": "data"]) }
        let message: JSONValue = [
            "type": "signal", "sessionId": .string(sessionId), "from": .string(identity.sub), "data": data,
        ]
        let bytes = message.canonicalBytes
        guard bytes.count <= 64 << 10 else { throw Refusal(.tooLarge, "signal data is limited to 64 KiB") }
        try requirePresent(identity, in: sessionId, active: false)
        guard book.isPresent(sub: to, sessionId: sessionId), let target = peersBySub[to], target.joined[sessionId] != nil
        else { throw Refusal(.notFound, "\(to) is not in session \(sessionId)") }
        target.connection.send(text: bytes)
        metrics.signals.increment()
        book.countSignal(sessionId: sessionId)
        reply(peer, id: id, result: [:])
    }

    // MARK: The short path

    /// An audio frame: check the track is the sender's and libopus accepts the packet, then
    /// forward the same bytes to every other participant that joined, count it and record it.
    func audioFrame(_ peer: Peer, bytes: UnsafeRawBufferPointer, header: BinaryFrame.AudioHeader, payload: Range<Int>) {
        guard let route = audioRoute(peer, track: header.track) else {
            invalidMedia(peer, "audio frame dropped: track \(header.track) is not an open track of yours")
            return
        }
        let packet = UnsafeRawBufferPointer(rebasing: bytes[payload])
        guard OpusPacket.validate(packet) != nil else {
            invalidMedia(peer, "audio frame dropped: not a valid Opus packet")
            return
        }
        metrics.audioPackets(.received, 1)
        let live = route.live
        live.stats.record(seq: header.seq, timestamp: header.timestamp, arrivalMillis: Double(loop.nowMillis), bytes: payload.count)
        let frame = OutboundFrame(copying: bytes, binary: true)
        var forwarded = 0
        for receiver in route.receivers where receiver.joined[route.sessionId] != nil {
            let before = receiver.connection.droppedMediaFrames
            if receiver.connection.send(frame, as: .media) { forwarded += 1 }
            let dropped = receiver.connection.droppedMediaFrames - before
            if dropped > 0 { metrics.audioPackets(.dropped, dropped) }
        }
        metrics.audioPackets(.forwarded, forwarded)
        if let slot = live.slot {
            recorderBatch.append(slot, timestamp: header.timestamp, payload: packet)
            if recorderBatch.count >= Self.recorderBatchLimit { flushRecordings() }
        }
    }

    /// The route of `peer`'s track `track`: from the peer's cache while the relay's routes have not
    /// changed, else found (the track's session, its live state, the other participants'
    /// connections) and cached. Nil when the track is not an open track of the sender's.
    func audioRoute(_ peer: Peer, track: UInt16) -> AudioRoute? {
        if peer.audioRoutesVersion == routeVersion {
            for route in peer.audioRoutes where route.track == track { return route }
        } else {
            peer.audioRoutes.removeAll(keepingCapacity: true)
            peer.audioRoutesVersion = routeVersion
        }
        guard let sender = peer.identity?.sub, let sessionId = tracks.sessionId(owner: sender, number: track),
            let live = liveTracks[TrackRecorder.Key(sessionId: sessionId, track: track)]
        else { return nil }
        let receivers = book.participants(of: sessionId).compactMap { participant in
            participant.identity.sub == sender ? nil : peersBySub[participant.identity.sub]
        }
        let route = AudioRoute(track: track, sessionId: sessionId, live: live, receivers: receivers)
        peer.audioRoutes.append(route)
        return route
    }

    /// Packets gathered before they are handed to the recorder at once.
    static let recorderBatchLimit = 512

    /// A new batch's room: the limit at 128 bytes a packet (the header and a large voice packet).
    static var recorderBatchCapacity: Int { recorderBatchLimit * 128 }

    /// Hands the gathered packets to the recorder (in arrival order, before any later close).
    func flushRecordings() {
        guard !recorderBatch.isEmpty else { return }
        recorder.packets(recorderBatch)
        recorderBatch = TrackRecorder.PacketBatch(capacity: Self.recorderBatchCapacity)
    }

    /// Polices invalid binary frames per connection: the first in a one-second window is told
    /// (`bad_request` with `message`, no `id`), the others are not; too many closes it with 4400.
    func invalidMedia(_ peer: Peer, _ message: String) {
        metrics.audioPackets(.invalid, 1)
        let now = loop.nowMillis
        if now - peer.invalidMediaWindowStart >= 1000 {
            peer.invalidMediaWindowStart = now
            peer.invalidMediaCount = 0
        }
        peer.invalidMediaCount += 1
        if peer.invalidMediaCount == 1 {
            peer.sendError(Refusal(.badRequest, message), id: nil)
        } else if peer.invalidMediaCount > Self.invalidMediaPerSecond {
            peer.connection.close(code: 4400, reason: "too many invalid media frames")
        }
    }

    /// Audio tracks one participant may have open at once in a session.
    static let maxOpenTracksPerParticipant = 4

    /// Invalid media frames tolerated per second before the connection is closed with 4400.
    static let invalidMediaPerSecond = 50

    // MARK: Track lifecycle

    /// Applies a recorded track event to the loop's tables (and starts or stops recording).
    func trackEvent(_ event: SessionEvent) {
        tracks.restore(event)
        guard let number = event.data["track"]?.intValue.flatMap(UInt16.init(exactly:)) else { return }
        let key = TrackRecorder.Key(sessionId: event.sessionId, track: number)
        switch event.type {
        case "track.added":
            liveTracks[key] = LiveTrack(key: key, slot: recordingEnabled ? recorder.open(key) : nil)
        case "track.removed":
            liveTracks.removeValue(forKey: key)
        default:
            break
        }
    }

    /// Closes a track: finishes its recording off the loop, then records `track.removed` with the
    /// recording's summary (file, packets, lost, duration, sha256) and replies if asked to.
    func closeTrack(_ track: TrackTable.Track, actor: String, reason: String, reply: (Peer, String?)?) {
        let key = TrackRecorder.Key(sessionId: track.sessionId, track: track.number)
        guard let live = liveTracks.removeValue(forKey: key) else { return }
        tracks.restore(Self.removalMarker(track))
        closingTracks[track.sessionId, default: 0] += 1
        let stats = live.stats
        let loop = self.loop
        let bound = LoopBound(self, loop: loop.identity)
        let boundReply = reply.map { LoopBound($0, loop: loop.identity) }
        let finish: @Sendable (TrackRecorder.Summary?) -> Void = { summary in
            loop.execute {
                bound.value.trackClosed(
                    track, stats: stats, summary: summary, actor: actor, reason: reason, reply: boundReply?.value)
            }
        }
        if let slot = live.slot {
            flushRecordings()  // the track's last packets go before its close
            recorder.close(slot, completion: finish)
        } else {
            finish(nil)
        }
    }

    private func trackClosed(
        _ track: TrackTable.Track, stats: TrackStats, summary: TrackRecorder.Summary?, actor: String, reason: String,
        reply: (Peer, String?)?
    ) {
        var data: [String: JSONValue] = [
            "track": .number(Double(track.number)), "participant": ["id": .string(track.owner)], "kind": .string(track.kind),
            "reason": .string(reason), "packets": .number(Double(stats.packets)), "lost": .number(Double(stats.lost)),
        ]
        if let summary {
            metrics.recordingBytes.increment(by: summary.bytes)
            data["file"] = .string(summary.file)
            data["durationMs"] = .number(Double(summary.durationMs))
            data["sha256"] = .string(summary.sha256)
        }
        defer { recordingFinished(track.sessionId) }
        guard let emitted = try? book.append(sessionId: track.sessionId, type: "track.removed", actor: actor, data: data, now: wallMillis)
        else {
            // The session has ended: the recording is final; its summary is in the manifest from the file.
            if let (peer, id) = reply { peer.sendOK(id: id, result: [:]) }
            return
        }
        apply(SessionOutcome(emitted: [emitted], result: [:]), for: reply?.0, requestId: reply?.1)
    }

    /// Closes every open track of `owner` (left, timed out, kicked) or of a session (ended).
    func closeTracks(owner: String? = nil, sessionId: String? = nil, reason: String) {
        let affected = owner.map { tracks.tracks(owner: $0) } ?? sessionId.map { tracks.tracks(sessionId: $0) } ?? []
        for track in affected where sessionId == nil || track.sessionId == sessionId {
            closeTrack(track, actor: "server", reason: reason, reply: nil)
        }
    }

    /// A `track.removed` that only updates the table (the recorded one follows the recording).
    static func removalMarker(_ track: TrackTable.Track) -> SessionEvent {
        SessionEvent(
            sessionId: track.sessionId, seq: 0, atMillis: 0, type: "track.removed", actor: "server",
            data: ["track": .number(Double(track.number)), "participant": ["id": .string(track.owner)]], hash: "")
    }

    // MARK: Helpers

    func requirePresent(_ identity: Identity, in sessionId: String, active: Bool) throws(Refusal) {
        guard let session = book.session(sessionId) else { throw Refusal(.notFound, "no session \(sessionId)") }
        guard book.isPresent(sub: identity.sub, sessionId: sessionId) else {
            throw Refusal(.forbidden, "you are not present in session \(sessionId): join it first")
        }
        if active && session.state != .active {
            throw Refusal(.invalidState, "session \(sessionId) is \(session.state.rawValue), not active")
        }
    }

    static func string(_ body: [String: JSONValue], _ field: String) throws(Refusal) -> String {
        guard let value = body[field]?.stringValue, !value.isEmpty else {
            throw Refusal(.badRequest, "missing or invalid field `\(field)`", details: ["field": .string(field)])
        }
        return value
    }
}
