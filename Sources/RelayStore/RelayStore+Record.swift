public import RelayCore

extension RelayStore {
    /// A session's full record (PROTOCOL §8) as the store holds it, or nil when it has none: the
    /// session object rebuilt from its summary row, every event, and the documents its
    /// `doc.available` events announced. Reads the database: never on the service loop.
    public func record(sessionId: String) throws(StoreError) -> RecordManifest? {
        guard let summary = try summary(sessionId: sessionId) else { return nil }
        let events = try events(sessionId: sessionId, afterSeq: 0)
        return RecordManifest(
            session: summary.sessionJSON, events: events, documents: DocumentRecord.manifestEntries(events))
    }
}

extension SessionSummary {
    /// The session object rebuilt from the summary row: `{id, state, service, fromUnit, createdAt,
    /// outcome?}` (the full object, with `units`, is in the `session.state` events).
    public var sessionJSON: JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "state": .string(state), "service": .string(service), "fromUnit": .string(fromUnit),
            "createdAt": .string(Timestamp.rfc3339(millis: createdAtMillis)),
        ]
        if let outcome { o["outcome"] = .string(outcome) }
        return .object(o)
    }
}
