import Foundation
internal import GRDB
import RelayCore

/// The database schema: named, append-only migrations. Never edit one that has shipped; add the next.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // Raw SQL, so that a migration means the same thing whatever GRDB's schema DSL becomes.
        migrator.registerMigration("v1-sessions-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE event (
                        sessionId TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        at INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        data TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        PRIMARY KEY (sessionId, seq)
                    ) WITHOUT ROWID;
                    CREATE TABLE session (
                        id TEXT NOT NULL PRIMARY KEY,
                        state TEXT NOT NULL,
                        service TEXT NOT NULL,
                        fromUnit TEXT NOT NULL,
                        createdAt INTEGER NOT NULL,
                        endedAt INTEGER,
                        outcome TEXT,
                        lastSeq INTEGER NOT NULL,
                        head TEXT NOT NULL
                    );
                    CREATE INDEX session_createdAt ON session (createdAt);
                    CREATE INDEX session_live ON session (createdAt, id) WHERE state <> 'ended';
                    """
            )
        }
        // Partial document uploads, so that an offer resumes after a restart (the bytes are in
        // uploads/<id>.part). AUTOINCREMENT: an upload id is never handed out twice, also after restarts.
        migrator.registerMigration("v2-documents") { db in
            try db.execute(
                sql: """
                    CREATE TABLE upload (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        sessionId TEXT NOT NULL,
                        owner TEXT NOT NULL,
                        name TEXT NOT NULL,
                        mime TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        sha256 TEXT NOT NULL,
                        createdAt INTEGER NOT NULL
                    );
                    CREATE INDEX upload_resume ON upload (sessionId, owner, sha256);
                    """
            )
        }
        // Next: "v3-tracks".
        return migrator
    }
}

/// A row of `event`; `data` is the event's fields as JSON object text.
struct EventRow: Codable, FetchableRecord, TableRecord {
    static let databaseTableName = "event"

    /// Inserts the row with a cached statement (the writer's hot path: no SQL built per row).
    func insert(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT INTO event (sessionId, seq, at, type, actor, data, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        try statement.execute(arguments: [sessionId, seq, at, type, actor, data, hash])
    }

    var sessionId: String
    var seq: Int
    var at: Int64
    var type: String
    var actor: String
    var data: String
    var hash: String

    init(_ event: SessionEvent, encoder: JSONEncoder) throws(StoreError) {
        let json: Data
        do {
            json = try encoder.encode(event.data)
        } catch {
            throw .invalidData(sessionId: event.sessionId, seq: event.seq, reason: "\(error)")
        }
        sessionId = event.sessionId
        seq = event.seq
        at = event.atMillis
        type = event.type
        actor = event.actor
        data = String(decoding: json, as: UTF8.self)
        hash = event.hash
    }

    func event(decoder: JSONDecoder) throws(StoreError) -> SessionEvent {
        let fields: [String: JSONValue]
        do {
            fields = try decoder.decode([String: JSONValue].self, from: Data(data.utf8))
        } catch {
            throw .invalidData(sessionId: sessionId, seq: seq, reason: "\(error)")
        }
        return SessionEvent(
            sessionId: sessionId,
            seq: seq,
            atMillis: at,
            type: type,
            actor: actor,
            data: fields,
            hash: hash
        )
    }

    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// A row of `session`.
struct SessionRow: Codable, FetchableRecord, TableRecord {
    static let databaseTableName = "session"

    /// Inserts the row, or replaces every column of the stored one, with a cached statement.
    func upsert(_ db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO session (id, state, service, fromUnit, createdAt, endedAt, outcome, lastSeq, head)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    state = excluded.state, service = excluded.service, fromUnit = excluded.fromUnit,
                    createdAt = excluded.createdAt, endedAt = excluded.endedAt, outcome = excluded.outcome,
                    lastSeq = excluded.lastSeq, head = excluded.head
                """
        )
        try statement.execute(arguments: [id, state, service, fromUnit, createdAt, endedAt, outcome, lastSeq, head])
    }

    var id: String
    var state: String
    var service: String
    var fromUnit: String
    var createdAt: Int64
    var endedAt: Int64?
    var outcome: String?
    var lastSeq: Int
    var head: String

    init(_ summary: SessionSummary) {
        id = summary.id
        state = summary.state
        service = summary.service
        fromUnit = summary.fromUnit
        createdAt = summary.createdAtMillis
        endedAt = summary.endedAtMillis
        outcome = summary.outcome
        lastSeq = summary.lastSeq
        head = summary.head
    }

    var summary: SessionSummary {
        SessionSummary(
            id: id,
            state: state,
            service: service,
            fromUnit: fromUnit,
            createdAtMillis: createdAt,
            endedAtMillis: endedAt,
            outcome: outcome,
            lastSeq: lastSeq,
            head: head
        )
    }
}

extension Array where Element == EventRow {
    func events(decoder: JSONDecoder) throws(StoreError) -> [SessionEvent] {
        var events: [SessionEvent] = []
        events.reserveCapacity(count)
        for row in self {
            events.append(try row.event(decoder: decoder))
        }
        return events
    }
}
