internal import GRDB

/// Facts about the open database, for tests and for an operator's health check.
extension RelayStore {
    /// Names of the migrations applied to the database, in order.
    func appliedMigrations() throws(StoreError) -> [String] {
        try read { db in try Schema.migrator.appliedIdentifiers(db) }.sorted()
    }

    /// Names of the tables that exist (SQLite's and GRDB's own excluded).
    func tableNames() throws(StoreError) -> Set<String> {
        try read { db in
            try String.fetchSet(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                    + "AND name NOT LIKE 'grdb_%'"
            )
        }
    }

    /// The writer connection's `PRAGMA name` as an integer (`synchronous`: 2 is FULL).
    func writerPragma(_ name: String) throws(StoreError) -> Int? {
        do {
            return try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA \(name)") }
        } catch {
            throw StoreError(error)
        }
    }

    /// Sets a writer-connection pragma (tests use `max_page_count` to simulate a full disk).
    func setWriterPragma(_ name: String, _ value: Int) throws(StoreError) {
        do {
            try pool.writeWithoutTransaction { db in _ = try Int.fetchOne(db, sql: "PRAGMA \(name) = \(value)") }
        } catch {
            throw StoreError(error)
        }
    }

    /// SQLite's plan for the start-up query, one detail per line.
    func liveEventsQueryPlan() throws(StoreError) -> [String] {
        try read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + Self.liveEventsSQL).map { $0["detail"] as String }
        }
    }
}
