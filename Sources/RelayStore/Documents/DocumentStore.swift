import Foundation
internal import GRDB
import Glibc
public import Logging
public import RelayCore

/// Document bytes of one node: partial uploads that resume after a restart, and finished documents stored by
/// content, all under `storage.dataDir` (see `DocumentLayout`).
///
/// Writes run on a writer thread of their own (`DocumentWriter`), in the order they were queued; completions
/// run on that thread and must be short (hop to your own). `recover` blocks and is for start-up only.
public final class DocumentStore: Sendable {
    public let layout: DocumentLayout
    private let store: RelayStore
    private let writer: DocumentWriter

    /// Opens the document folders of `store`'s data directory and starts the writer.
    /// - Parameter digest: makes the incremental SHA-256 each upload is hashed with.
    public init(
        store: RelayStore,
        dataDirectory: String,
        digest: @escaping @Sendable () -> any DocumentDigest,
        logger: Logger = Logger(label: "windowrelay.documents")
    ) throws(DocumentStoreError) {
        self.store = store
        layout = DocumentLayout(dataDirectory: dataDirectory)
        try layout.prepare()
        writer = DocumentWriter(layout: layout, pool: store.pool, makeDigest: digest, logger: logger)
        writer.start()
    }

    deinit {
        writer.close()
    }

    // MARK: Start-up

    /// The partial uploads to resume, after deleting those untouched for `ttlMillis` and files that belong to
    /// no upload. Blocks: call it before the service loop runs.
    public func recover(nowMillis: Int64, ttlMillis: Int64) throws(DocumentStoreError) -> DocumentRecovery {
        let rows: [UploadTerms]
        let highest: Int64
        do {
            (rows, highest) = try store.pool.read { db in
                (try UploadTerms.fetchAll(db), try UploadTerms.highestId(db))
            }
        } catch {
            throw .database(StoreError(error))
        }
        var kept: [RecoveredUpload] = []
        var expired: [UInt32] = []
        for row in rows {
            let path = layout.partialPath(upload: row.id)
            var info = stat()
            let exists = stat(path, &info) == 0
            let length = exists ? Int(info.st_size) : 0
            let modified = exists ? Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec / 1_000_000) : 0
            let touched = max(row.createdAt, modified)
            if nowMillis - touched >= ttlMillis {
                unlink(path)
                expired.append(row.id)
            } else {
                kept.append(RecoveredUpload(upload: row, bytesOnDisk: min(length, row.size), touchedAtMillis: touched))
            }
        }
        if !expired.isEmpty {
            do {
                try store.pool.write { db in for id in expired { try UploadTerms.delete(id: id, db) } }
            } catch {
                throw .database(StoreError(error))
            }
        }
        let keep = Set(kept.map(\.upload.id))
        var orphans = 0
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.uploadsDirectory)) ?? []
        for name in names where DocumentLayout.uploadId(ofPartialName: name).map({ !keep.contains($0) }) ?? true {
            if unlink(layout.uploadsDirectory + "/" + name) == 0 { orphans += 1 }
        }
        let next = UInt32(clamping: highest + 1)
        return DocumentRecovery(uploads: kept, expired: expired.count, orphanFiles: orphans, nextUploadId: max(1, next))
    }

    // MARK: Writes (on the writer thread, in order)

    /// Remembers a new upload so that it resumes after a restart; completes once the row is committed.
    public func register(
        _ upload: UploadTerms,
        completion: @escaping @Sendable (Result<Void, DocumentStoreError>) -> Void
    ) {
        writer.enqueue(.register(upload, completion))
    }

    /// Writes `bytes` at `offset` of upload `id`'s partial file and hashes them; completes with the file's length.
    public func append(
        upload id: UInt32,
        offset: Int,
        bytes: [UInt8],
        completion: @escaping @Sendable (Result<Int, DocumentStoreError>) -> Void
    ) {
        writer.enqueue(.append(id, offset: offset, bytes: bytes, completion))
    }

    /// Syncs upload `id`'s `size` bytes, checks their SHA-256 against `sha256` and, when it matches, moves the file
    /// to `documents/<sha256>` (synced) and forgets the upload; on a mismatch the bytes are dropped.
    public func finish(
        upload id: UInt32,
        size: Int,
        sha256: String,
        completion: @escaping @Sendable (Result<FinishedUpload, DocumentStoreError>) -> Void
    ) {
        writer.enqueue(.finish(id, size: size, sha256: sha256, completion))
    }

    /// Deletes upload `id`'s partial file and row.
    public func discard(upload id: UInt32, completion: (@Sendable () -> Void)? = nil) {
        writer.enqueue(.discard(id, completion))
    }

    /// Chunk bytes queued for the writer and not yet written.
    public var queuedBytes: Int { writer.queuedBytes }

    /// Finishes the job under way and drops the rest (partial files stay for the restart). Call it before
    /// closing the event store. Safe to call more than once.
    public func close() {
        writer.close()
    }
}
