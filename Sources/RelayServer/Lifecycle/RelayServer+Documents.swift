import Foundation
import Logging
import RelayCore
import RelayMedia
import RelayStore

extension RelayServer {
    /// Opens the document store and brings back the partial uploads that can still resume (the start-up sweep:
    /// uploads past `docs.partialTtlHours`, of sessions no longer live, or of owners who left are deleted).
    static func openDocuments(
        _ configuration: RelayConfiguration,
        store: RelayStore,
        book: SessionBook,
        logger: Logger
    ) throws(RelayStartupError) -> (DocumentStore, UploadBook) {
        let ttl = Int64(configuration.docs.partialTtlHours) * 3_600_000
        let documentStore: DocumentStore
        let recovery: DocumentRecovery
        do {
            documentStore = try DocumentStore(
                store: store,
                dataDirectory: configuration.storage.dataDir,
                digest: { DocumentSHA256() },
                logger: logger
            )
            recovery = try documentStore.recover(nowMillis: Timestamp.millis(Date()), ttlMillis: ttl)
        } catch {
            store.close()
            throw .storage("documents: \(error)")
        }
        var uploads = UploadBook(
            rules: UploadRules(
                maxBytes: configuration.docs.maxBytes,
                allowedTypes: configuration.docs.allowedTypes,
                chunkMax: configuration.docs.chunkMax,
                maxOpenPerParticipant: configuration.limits.maxOpenUploadsPerParticipant,
                maxBytesPerSession: configuration.limits.maxUploadBytesPerSession,
                partialTtlMillis: ttl
            ),
            nextId: recovery.nextUploadId
        )
        var dropped = 0
        for found in recovery.uploads {
            let row = found.upload
            let participant = book.session(row.sessionId).flatMap { $0.isLive ? $0.participant(row.owner) : nil }
            guard let participant, !participant.presence.hasLeft else {
                documentStore.discard(upload: row.id)
                dropped += 1
                continue
            }
            uploads.restore(Upload(row, received: found.bytesOnDisk, touchedAt: found.touchedAtMillis))
        }
        if !recovery.uploads.isEmpty || recovery.expired + recovery.orphanFiles > 0 {
            logger.info(
                "partial uploads recovered",
                metadata: [
                    "resumable": "\(recovery.uploads.count - dropped)", "expired": "\(recovery.expired)",
                    "sessionOver": "\(dropped)", "orphanFiles": "\(recovery.orphanFiles)",
                ]
            )
        }
        return (documentStore, uploads)
    }
}

/// RelayMedia's incremental SHA-256 as the document writer's digest.
final class DocumentSHA256: DocumentDigest {
    private let hasher = SHA256Hasher()

    func update(_ buffer: UnsafeRawBufferPointer) { hasher.update(buffer) }
    func finalize() -> [UInt8] { hasher.finalize() }
}
