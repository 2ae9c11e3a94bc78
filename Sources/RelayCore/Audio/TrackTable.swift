/// The media tracks of every live session: who owns which track number, as pure state.
///
/// Tracks are numbered from 1 within a session (PROTOCOL §6). A binary frame names only its track,
/// so a number is also kept unique among the tracks one participant has open in any session: the
/// server finds a frame's session from (sender, track). State is rebuilt from the recorded
/// `track.added` / `track.removed` events after a restart.
public struct TrackTable: Sendable, Hashable {
    /// One open track.
    public struct Track: Sendable, Hashable {
        public var sessionId: String
        public var number: UInt16
        public var owner: String
        public var kind: String
        public var codec: String
        public var channels: Int
        /// Unix millis of `track.added`.
        public var openedAt: Int64

        /// The track as `session.join` lists it: `{track, participant: {id}, kind, codec, channels, openedAt}`.
        public var json: JSONValue {
            [
                "track": .number(Double(number)), "participant": ["id": .string(owner)], "kind": .string(kind),
                "codec": .string(codec), "channels": .number(Double(channels)),
                "openedAt": .string(Timestamp.rfc3339(millis: openedAt)),
            ]
        }
    }

    private var open: [String: [UInt16: Track]] = [:]  // by owner
    private var highest: [String: UInt16] = [:]  // by session: the highest number given

    public init() {}

    /// The open track `number` of `owner`, if any.
    public func track(owner: String, number: UInt16) -> Track? { open[owner]?[number] }

    /// The session of `owner`'s open track `number`: what the audio path needs of a track, per packet.
    public func sessionId(owner: String, number: UInt16) -> String? { open[owner]?[number]?.sessionId }

    /// The open tracks of a session.
    public func tracks(sessionId: String) -> [Track] {
        open.values.flatMap { $0.values }.filter { $0.sessionId == sessionId }.sorted { $0.number < $1.number }
    }

    /// The open tracks of a participant.
    public func tracks(owner: String) -> [Track] {
        (open[owner].map { Array($0.values) } ?? []).sorted { $0.number < $1.number }
    }

    /// The number the next track of `owner` in `sessionId` gets.
    public func nextNumber(sessionId: String, owner: String) -> UInt16? {
        var n = (highest[sessionId] ?? 0) &+ 1
        while n != 0, open[owner]?[n] != nil { n &+= 1 }
        return n == 0 ? nil : n
    }

    /// The `track.added` event's data for a new track (apply it with `restore` once recorded).
    public func addedEventData(
        sessionId: String, owner: Identity, kind: String, codec: String, channels: Int
    ) throws(Refusal) -> [String: JSONValue] {
        guard let number = nextNumber(sessionId: sessionId, owner: owner.sub) else {
            throw Refusal(.conflict, "no track number left in this session")
        }
        return [
            "track": .number(Double(number)), "participant": owner.participantJSON, "kind": .string(kind),
            "codec": .string(codec), "channels": .number(Double(channels)),
        ]
    }

    /// Applies a recorded `track.added` or `track.removed`; other events are ignored.
    public mutating func restore(_ event: SessionEvent) {
        guard let number = event.data["track"]?.intValue.flatMap(UInt16.init(exactly:)) else { return }
        switch event.type {
        case "track.added":
            guard let owner = event.data["participant"]?["id"]?.stringValue else { return }
            open[owner, default: [:]][number] = Track(
                sessionId: event.sessionId, number: number, owner: owner,
                kind: event.data["kind"]?.stringValue ?? "audio", codec: event.data["codec"]?.stringValue ?? "opus",
                channels: event.data["channels"]?.intValue ?? 1, openedAt: event.atMillis)
            highest[event.sessionId] = max(highest[event.sessionId] ?? 0, number)
        case "track.removed":
            guard let owner = event.data["participant"]?["id"]?.stringValue else { return }
            open[owner]?.removeValue(forKey: number)
            if open[owner]?.isEmpty == true { open.removeValue(forKey: owner) }
        default:
            break
        }
    }

    /// Forgets an ended session's numbering.
    public mutating func forget(sessionId: String) {
        highest.removeValue(forKey: sessionId)
        for owner in Array(open.keys) {
            open[owner] = open[owner]?.filter { $0.value.sessionId != sessionId }
            if open[owner]?.isEmpty == true { open.removeValue(forKey: owner) }
        }
    }
}
