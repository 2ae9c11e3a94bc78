import Foundation
import Glibc
import RelayCore
import Testing

@testable import RelayStore

/// FNV-1a over the bytes, spread to 32 bytes: order-sensitive, enough to tell the writer's hashing works.
final class TestDigest: DocumentDigest {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    func update(_ buffer: UnsafeRawBufferPointer) {
        for byte in buffer {
            state = (state ^ UInt64(byte)) &* 0x100_0000_01b3
        }
    }

    func finalize() -> [UInt8] {
        var out: [UInt8] = []
        for i in 0..<4 { withUnsafeBytes(of: (state &+ UInt64(i)).bigEndian) { out += $0 } }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digest = TestDigest()
        bytes.withUnsafeBytes { digest.update($0) }
        return DocumentWriter.hex(digest.finalize())
    }
}

@Suite("Document store: partial files, verification, recovery")
struct DocumentStoreTests {
    let directory = TemporaryDirectory()

    func open() throws -> (RelayStore, DocumentStore) {
        let store = try RelayStore(dataDirectory: directory.path)
        return (store, try DocumentStore(store: store, dataDirectory: directory.path, digest: { TestDigest() }))
    }

    static func upload(_ id: UInt32, size: Int, sha256: String, createdAt: Int64 = 1_000) -> UploadTerms {
        UploadTerms(
            id: id,
            sessionId: "s_1",
            owner: "u1",
            name: "../../x.pdf",
            mime: "application/pdf",
            size: size,
            sha256: sha256,
            createdAt: createdAt
        )
    }

    func append(
        _ documents: DocumentStore,
        _ id: UInt32,
        _ offset: Int,
        _ bytes: [UInt8]
    ) async -> Result<Int, DocumentStoreError> {
        await withCheckedContinuation { c in
            documents.append(upload: id, offset: offset, bytes: bytes) { c.resume(returning: $0) }
        }
    }

    func finish(
        _ documents: DocumentStore,
        _ id: UInt32,
        _ size: Int,
        _ sha: String
    ) async
        -> Result<FinishedUpload, DocumentStoreError>
    {
        await withCheckedContinuation { c in
            documents.finish(upload: id, size: size, sha256: sha) { c.resume(returning: $0) }
        }
    }

    func register(_ documents: DocumentStore, _ upload: UploadTerms) async -> Result<Void, DocumentStoreError> {
        await withCheckedContinuation { c in documents.register(upload) { c.resume(returning: $0) } }
    }

    @Test func chunksAppendAndAVerifiedFileMovesToItsContentAddress() async throws {
        defer { directory.remove() }
        let (store, documents) = try open()
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let sha = TestDigest.hex(bytes)
        _ = try await register(documents, Self.upload(1, size: bytes.count, sha256: sha)).get()
        #expect(try await append(documents, 1, 0, Array(bytes[0..<4000])).get() == 4000)
        #expect(try await append(documents, 1, 4000, Array(bytes[4000...])).get() == 10_000)
        let finished = try await finish(documents, 1, bytes.count, sha).get()
        let path = try #require(documents.layout.documentPath(sha256: sha))
        #expect(finished == .stored(path: path))
        #expect(FileManager.default.contents(atPath: path) == Data(bytes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: documents.layout.uploadsDirectory).isEmpty)
        // The row is gone: nothing to resume after a restart.
        documents.close()
        let (_, again) = (
            store, try DocumentStore(store: store, dataDirectory: directory.path, digest: { TestDigest() })
        )
        #expect(try again.recover(nowMillis: 2_000, ttlMillis: 3_600_000).uploads.isEmpty)
        again.close()
        store.close()
    }

    @Test func aMismatchDropsTheBytes() async throws {
        defer { directory.remove() }
        let (store, documents) = try open()
        let bytes = [UInt8](repeating: 1, count: 3000)
        let claimed = String(repeating: "0", count: 64)
        _ = try await register(documents, Self.upload(4, size: 3000, sha256: claimed)).get()
        _ = try await append(documents, 4, 0, bytes).get()
        let finished = try await finish(documents, 4, 3000, claimed).get()
        #expect(finished == .checksumMismatch(actual: TestDigest.hex(bytes)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: documents.layout.uploadsDirectory).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: documents.layout.documentsDirectory).isEmpty)
        documents.close()
        store.close()
    }

    @Test func afterARestartAnUploadResumesFromItsFileAndHashesTheWhole() async throws {
        defer { directory.remove() }
        let bytes = (0..<9000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
        let sha = TestDigest.hex(bytes)
        do {
            let (store, documents) = try open()
            _ = try await register(documents, Self.upload(7, size: 9000, sha256: sha)).get()
            _ = try await append(documents, 7, 0, Array(bytes[0..<5000])).get()
            documents.close()
            store.close()
        }
        let (store, documents) = try open()
        let recovery = try documents.recover(nowMillis: Timestamp.millis(Date()), ttlMillis: 3_600_000)
        #expect(recovery.uploads.map(\.upload.id) == [7])
        #expect(recovery.uploads.first?.bytesOnDisk == 5000)
        #expect(recovery.nextUploadId == 8)
        _ = try await append(documents, 7, 5000, Array(bytes[5000...])).get()
        #expect(
            try await finish(documents, 7, 9000, sha).get()
                == .stored(path: documents.layout.documentPath(sha256: sha)!)
        )
        documents.close()
        store.close()
    }

    @Test func theStartUpSweepDeletesExpiredUploadsAndOrphanFiles() async throws {
        defer { directory.remove() }
        let now = Timestamp.millis(Date())
        do {
            let (store, documents) = try open()
            _ = try await register(
                documents,
                Self.upload(
                    1,
                    size: 100,
                    sha256: String(repeating: "1", count: 64),
                    createdAt: now - 10 * 3_600_000
                )
            ).get()
            _ = try await register(
                documents,
                Self.upload(
                    2,
                    size: 100,
                    sha256: String(repeating: "2", count: 64),
                    createdAt: now
                )
            ).get()
            _ = try await append(documents, 1, 0, [1, 2, 3]).get()
            _ = try await register(
                documents,
                Self.upload(
                    3,
                    size: 100,
                    sha256: String(repeating: "3", count: 64),
                    createdAt: now
                )
            ).get()
            documents.close()
            store.close()
        }
        let layout = DocumentLayout(dataDirectory: directory.path)
        // Upload 1's file was last written 10 hours ago; a stray file belongs to no upload.
        var times = [
            timespec(tv_sec: Int(now / 1000) - 36_000, tv_nsec: 0),
            timespec(tv_sec: Int(now / 1000) - 36_000, tv_nsec: 0),
        ]
        #expect(utimensat(AT_FDCWD, layout.partialPath(upload: 1), &times, 0) == 0)
        #expect(FileManager.default.createFile(atPath: layout.uploadsDirectory + "/99.part", contents: Data([1])))
        #expect(FileManager.default.createFile(atPath: layout.uploadsDirectory + "/notes.txt", contents: Data([1])))

        let (store, documents) = try open()
        let recovery = try documents.recover(nowMillis: now, ttlMillis: 3_600_000)
        #expect(recovery.expired == 1)
        #expect(recovery.orphanFiles == 2)
        #expect(recovery.uploads.map(\.upload.id) == [2, 3])
        #expect(recovery.uploads.allSatisfy { $0.bytesOnDisk == 0 })
        #expect(recovery.nextUploadId == 4)
        #expect(!FileManager.default.fileExists(atPath: layout.partialPath(upload: 1)))
        #expect(!FileManager.default.fileExists(atPath: layout.uploadsDirectory + "/99.part"))
        #expect(try store.appliedMigrations() == ["v1-sessions-events", "v2-documents"])
        documents.close()
        store.close()
    }

    @Test func pathsComeOnlyFromCheckedDigestsAndNumbers() {
        let layout = DocumentLayout(dataDirectory: "/data")
        #expect(
            layout.documentPath(sha256: String(repeating: "a", count: 64)) == "/data/documents/"
                + String(repeating: "a", count: 64)
        )
        #expect(layout.documentPath(sha256: "../../etc/passwd") == nil)
        #expect(layout.documentPath(sha256: String(repeating: "A", count: 64)) == nil)
        #expect(layout.partialPath(upload: 42) == "/data/uploads/42.part")
        #expect(DocumentLayout.uploadId(ofPartialName: "42.part") == 42)
        #expect(DocumentLayout.uploadId(ofPartialName: "../42.part") == nil)
    }
}
