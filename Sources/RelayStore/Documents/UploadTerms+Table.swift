import Foundation
internal import GRDB
public import RelayCore

/// A partial upload found at start-up, with what its file holds.
public struct RecoveredUpload: Sendable, Hashable {
    public var upload: UploadTerms
    /// The length of its partial file (0 when the file is missing): where the upload resumes.
    public var bytesOnDisk: Int
    /// Unix millis of the latest write to the file, or the offer when later: expiry counts from it.
    public var touchedAtMillis: Int64
}

/// What the start-up sweep of partial uploads found and did.
public struct DocumentRecovery: Sendable, Hashable {
    /// Uploads kept, by id.
    public var uploads: [RecoveredUpload]
    /// Uploads dropped because they were untouched for longer than the partial TTL.
    public var expired: Int
    /// Files in `uploads/` that belonged to no upload, deleted.
    public var orphanFiles: Int
    /// Above every upload id ever handed out.
    public var nextUploadId: UInt32
}

/// The `upload` table: one row per upload the server has promised to resume.
extension UploadTerms {
    func insert(_ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO upload (id, sessionId, owner, name, mime, size, sha256, createdAt) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [Int64(id), sessionId, owner, name, mime, size, sha256, createdAt]
        )
    }

    static func delete(id: UInt32, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM upload WHERE id = ?", arguments: [Int64(id)])
    }

    static func fetchAll(_ db: Database) throws -> [UploadTerms] {
        try Row.fetchAll(db, sql: "SELECT * FROM upload ORDER BY id").compactMap { row in
            guard let id = UInt32(exactly: row["id"] as Int64) else { return nil }
            return UploadTerms(
                id: id,
                sessionId: row["sessionId"],
                owner: row["owner"],
                name: row["name"],
                mime: row["mime"],
                size: row["size"],
                sha256: row["sha256"],
                createdAt: row["createdAt"]
            )
        }
    }

    /// The highest id ever inserted (AUTOINCREMENT keeps it after deletes), 0 before the first.
    static func highestId(_ db: Database) throws -> Int64 {
        let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'upload'") ?? 0
        let rows = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM upload") ?? 0
        return max(sequence, rows)
    }
}
