import Foundation
internal import GRDB
public import Logging
public import RelayCore

/// The SQLite event store of one node: sessions and their events in `<dataDir>/relay.sqlite` (WAL).
///
/// Writes go through one writer thread with group commit (`enqueue`); reads use the pool's reader
/// connections from any thread. A commit is durable when its completion runs (`synchronous = FULL`).
public final class RelayStore: EventStore {
    /// The database file's name inside the data directory.
    public static let databaseFileName = "relay.sqlite"

    /// Full path of the SQLite database file.
    public let databasePath: String
    let pool: DatabasePool
    private let writer: GroupCommitWriter

    /// Opens (creating if needed) the store under `dataDirectory` and brings its schema up to date.
    public init(
        dataDirectory: String,
        logger: Logger = Logger(label: "windowrelay.store")
    ) throws(StoreError) {
        try Self.prepareDirectory(dataDirectory)
        databasePath = URL(fileURLWithPath: dataDirectory).appendingPathComponent(Self.databaseFileName).path

        var configuration = Configuration()
        configuration.label = "windowrelay.store"
        configuration.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: databasePath, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` on the writer after opening it in WAL mode. FULL syncs the WAL
            // on every commit, so that a completion means "on disk", power loss included.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try Schema.migrator.migrate(pool)
        } catch {
            throw StoreError(error)
        }
        writer = GroupCommitWriter(pool: pool, logger: logger)
        writer.start()
        logger.info("event store open", metadata: ["path": "\(databasePath)"])
    }

    deinit {
        writer.close()
    }

    // MARK: - Writes

    public func enqueue(
        _ batch: StoreBatch,
        completion: @escaping @Sendable (Result<StoreBatchResult, StoreError>) -> Void
    ) {
        writer.enqueue(batch, completion: completion)
    }

    public var stats: StoreStats { writer.stats }

    /// True while commits fail and are being retried (for example the disk is full): nothing
    /// queued is lost, but nothing new should be promised until it clears.
    public var isStalled: Bool { writer.isStalled }

    /// Transactions committed since the store was opened.
    public var commitCount: Int { writer.stats.commits }

    public func close() {
        writer.close()
    }

    // MARK: - Reads

    public func events(sessionId: String, afterSeq: Int) throws(StoreError) -> [SessionEvent] {
        try read { db in
            try EventRow.fetchAll(
                db,
                sql: "SELECT * FROM event WHERE sessionId = ? AND seq > ? ORDER BY seq",
                arguments: [sessionId, afterSeq]
            )
        }.events(decoder: JSONDecoder())
    }

    public func summary(sessionId: String) throws(StoreError) -> SessionSummary? {
        try read { db in try SessionRow.fetchOne(db, key: sessionId) }?.summary
    }

    public func summaries(includeEnded: Bool, limit: Int) throws(StoreError) -> [SessionSummary] {
        // The literal 'ended' (not a parameter) lets SQLite use the partial index `session_live`.
        let sql = includeEnded
            ? "SELECT * FROM session ORDER BY createdAt DESC, id DESC LIMIT ?"
            : "SELECT * FROM session WHERE state <> 'ended' ORDER BY createdAt DESC, id DESC LIMIT ?"
        return try read { db in
            try SessionRow.fetchAll(db, sql: sql, arguments: [max(0, limit)])
        }.map(\.summary)
    }

    public func liveEvents() throws(StoreError) -> [SessionEvent] {
        try read { db in
            try EventRow.fetchAll(db, sql: Self.liveEventsSQL)
        }.events(decoder: JSONDecoder())
    }

    public func sessionCount() throws(StoreError) -> Int {
        try read { db in try SessionRow.fetchCount(db) }
    }

    static let liveEventsSQL = """
        SELECT event.* FROM session INDEXED BY session_live
        JOIN event ON event.sessionId = session.id
        WHERE session.state <> 'ended'
        ORDER BY session.createdAt, session.id, event.seq
        """

    /// Runs `body` on a reader connection, mapping every failure to a `StoreError`.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws(StoreError) -> T {
        if writer.isClosing { throw .closed }
        do {
            return try pool.read(body)
        } catch {
            throw writer.isClosing ? .closed : StoreError(error)
        }
    }

    // MARK: - Start-up

    private static func prepareDirectory(_ path: String) throws(StoreError) {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .dataDirectory(path: path, reason: "it is not a directory") }
            return
        }
        do {
            try files.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw .dataDirectory(path: path, reason: "\(error.localizedDescription)")
        }
    }
}
