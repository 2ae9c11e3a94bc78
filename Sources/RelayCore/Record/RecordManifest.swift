/// A session's record as served by `GET /v1/sessions/{id}/record` (PROTOCOL §8), and who may see
/// what of it.
public struct RecordManifest: Sendable {
    public var session: JSONValue
    public var events: [SessionEvent]
    public var documents: [JSONValue]
    public var tracks: [JSONValue]

    public init(session: JSONValue, events: [SessionEvent], documents: [JSONValue] = [], tracks: [JSONValue] = []) {
        self.session = session
        self.events = events
        self.documents = documents
        self.tracks = tracks
    }

    /// Everyone who ever joined, in order of first joining (`participant` objects).
    public var participants: [JSONValue] {
        var seen = Set<String>()
        var result: [JSONValue] = []
        for event in events where event.type == "participant.joined" {
            guard let p = event.data["participant"], let id = p["id"]?.stringValue, seen.insert(id).inserted else {
                continue
            }
            result.append(p)
        }
        return result
    }

    public var head: String { events.last?.hash ?? String(repeating: "0", count: 64) }

    /// The recorded tracks, from their `track.removed` events (which carry the recording's summary):
    /// `{track, file, participant, packets, lost, durationMs, sha256}`.
    public var recordedTracks: [JSONValue] {
        events.filter { $0.type == "track.removed" && $0.data["file"] != nil }.map { event in
            var o: [String: JSONValue] = [:]
            for key in ["track", "file", "packets", "lost", "durationMs", "sha256"] { o[key] = event.data[key] }
            o["participant"] = event.data["participant"]?["id"]
            return .object(o)
        }
    }

    /// Whether `identity` may read the record: a participant of the session, an applicant whose
    /// token is scoped to it, or ops (who get the redacted view).
    /// A participant removed by ops (`participant.left` with reason `kicked`) may not, like it may not join again.
    public func mayRead(_ identity: Identity) -> Bool {
        if identity.role == .ops { return true }
        if wasKicked(identity.sub) { return false }
        if identity.role == .applicant { return identity.sessionScope == session["id"]?.stringValue }
        return participants.contains { $0["id"]?.stringValue == identity.sub }
    }

    /// Whether `sub` was removed from the session by ops.
    func wasKicked(_ sub: String) -> Bool {
        events.contains {
            $0.type == "participant.left" && $0.data["reason"]?.stringValue == "kicked"
                && $0.data["participant"]?["id"]?.stringValue == sub
        }
    }

    /// The manifest `identity` may see, or nil when it may not read it.
    public func view(for identity: Identity) -> JSONValue? {
        guard mayRead(identity) else { return nil }
        let redact = identity.role == .ops
        var sessionObject = session
        if redact, case .object(var o) = sessionObject {
            o.removeValue(forKey: "applicant")
            o.removeValue(forKey: "note")
            sessionObject = .object(o)
        }
        return [
            "session": sessionObject,
            "participants": .array(participants),
            "events": .array(events.map { redact ? Self.redacted($0) : $0.recordEntry }),
            "documents": .array(redact ? documents.map(Self.redactedDocument) : documents),
            "tracks": .array(tracks.isEmpty ? recordedTracks : tracks),
            "head": .string(head),
        ]
    }

    /// Fields ops never see (PROTOCOL §7): chat text, form values and suggestions, free text
    /// (notes, decline and transfer reasons), the applicant's details. Document names are removed
    /// from `document` objects.
    static let redactedFields: Set<String> = ["text", "value", "values", "note", "applicant", "reason"]

    /// A record entry with personal content removed; its hash is kept, so the entry is marked
    /// `redacted` (a redacted record cannot be re-hashed, only the full one can).
    public static func redacted(_ event: SessionEvent) -> JSONValue {
        guard case .object(var entry) = event.recordEntry else { return event.recordEntry }
        var data = event.data
        var removed = false
        // participant.left's reason is an enumeration (left, timeout, kicked, transferred), not free text.
        for key in redactedFields where data[key] != nil && !(key == "reason" && event.type == "participant.left") {
            data.removeValue(forKey: key)
            removed = true
        }
        if case .object(var document)? = data["document"], document["name"] != nil {
            document.removeValue(forKey: "name")
            data["document"] = .object(document)
            removed = true
        }
        if case .object(var session)? = data["session"] {
            if session.removeValue(forKey: "applicant") != nil { removed = true }
            if session.removeValue(forKey: "note") != nil { removed = true }
            data["session"] = .object(session)
        }
        entry["data"] = .object(data)
        if removed { entry["redacted"] = true }
        return .object(entry)
    }

    static func redactedDocument(_ document: JSONValue) -> JSONValue {
        guard case .object(var o) = document else { return document }
        o.removeValue(forKey: "name")
        return .object(o)
    }
}
