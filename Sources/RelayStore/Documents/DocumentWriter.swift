import Foundation
internal import GRDB
import Glibc
import Logging
import RelayCore
import RelayPlatform

/// An incremental SHA-256 the document writer feeds as chunks arrive (the server gives RelayMedia's).
public protocol DocumentDigest: AnyObject {
    func update(_ buffer: UnsafeRawBufferPointer)
    /// The 32-byte digest of everything fed.
    func finalize() -> [UInt8]
}

/// How a finished upload ended.
public enum FinishedUpload: Sendable, Hashable {
    /// Synced, checked and stored at `path` (`documents/<sha256>`).
    case stored(path: String)
    /// The bytes' SHA-256 was `actual`, not the one offered: they were dropped.
    case checksumMismatch(actual: String)
}

/// The document writer: one thread that appends chunks to partial files, hashes them as they come, syncs
/// and verifies finished files and moves them into place, in the order jobs were queued.
///
/// `@unchecked Sendable`: `jobs`, `closing`, `finished` and `queuedBytes` are touched only with `condition`
/// locked; `open` (file descriptors and digests) only on the writer thread; `pool` is thread-safe.
final class DocumentWriter: @unchecked Sendable {
    enum Job {
        case register(UploadTerms, @Sendable (Result<Void, DocumentStoreError>) -> Void)
        case append(UInt32, offset: Int, bytes: [UInt8], @Sendable (Result<Int, DocumentStoreError>) -> Void)
        case finish(UInt32, size: Int, sha256: String, @Sendable (Result<FinishedUpload, DocumentStoreError>) -> Void)
        case discard(UInt32, (@Sendable () -> Void)?)
    }

    /// A partial file being written: its descriptor, the digest of its bytes so far, its length.
    private final class OpenPartial {
        let fd: Int32
        let digest: any DocumentDigest
        var length: Int

        init(fd: Int32, digest: any DocumentDigest, length: Int) {
            self.fd = fd
            self.digest = digest
            self.length = length
        }

        deinit { Glibc.close(fd) }
    }

    let layout: DocumentLayout
    private let pool: DatabasePool
    private let makeDigest: @Sendable () -> any DocumentDigest
    private let logger: Logger

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var closing = false
    private var finished = false
    private var thread: Thread?
    private var queued = 0
    private var open: [UInt32: OpenPartial] = [:]

    init(
        layout: DocumentLayout,
        pool: DatabasePool,
        makeDigest: @escaping @Sendable () -> any DocumentDigest,
        logger: Logger
    ) {
        self.layout = layout
        self.pool = pool
        self.makeDigest = makeDigest
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in
            nameCurrentThread("wr-documents")  // for top -H, ps -L and perf (docs/operations.md)
            run()
        }
        condition.lock()
        self.thread = thread
        condition.unlock()
        thread.start()
    }

    /// Queues a job; never waits for the disk. After `close`, the job fails at once with `.closed`.
    func enqueue(_ job: Job) {
        condition.lock()
        if closing {
            condition.unlock()
            Self.fail(job, .closed)
            return
        }
        if case .append(_, _, let bytes, _) = job { queued += bytes.count }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Chunk bytes queued and not yet written.
    var queuedBytes: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued
    }

    /// Finishes the job under way, fails the queued ones with `.closed` (partial files stay, so uploads resume
    /// after a restart) and waits for the thread to end.
    func close() {
        condition.lock()
        closing = true
        let dropped = jobs
        jobs.removeAll()
        queued = 0
        condition.broadcast()
        condition.unlock()
        for job in dropped { Self.fail(job, .closed) }
        condition.lock()
        while !finished && thread != nil && thread !== Thread.current { condition.wait() }
        condition.unlock()
    }

    private static func fail(_ job: Job, _ error: DocumentStoreError) {
        switch job {
        case .register(_, let completion): completion(.failure(error))
        case .append(_, _, _, let completion): completion(.failure(error))
        case .finish(_, _, _, let completion): completion(.failure(error))
        case .discard(_, let completion): completion?()
        }
    }

    // MARK: - The writer thread

    private func run() {
        while let batch = nextJobs() {
            for job in batch {
                perform(job)
                if case .append(_, _, let bytes, _) = job {
                    condition.lock()
                    queued -= bytes.count
                    condition.unlock()
                }
            }
        }
        open.removeAll()
        condition.lock()
        finished = true
        // The thread's closure holds this object: let go of the thread so that neither keeps the other.
        thread = nil
        condition.broadcast()
        condition.unlock()
    }

    private func nextJobs() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !closing { condition.wait() }
        if jobs.isEmpty { return nil }
        var batch: [Job] = []
        swap(&batch, &jobs)
        return batch
    }

    private func perform(_ job: Job) {
        switch job {
        case .register(let upload, let completion):
            completion(database { db in try upload.insert(db) })
        case .append(let id, let offset, let bytes, let completion):
            completion(append(id, offset: offset, bytes: bytes))
        case .finish(let id, let size, let sha256, let completion):
            completion(finish(id, size: size, sha256: sha256))
        case .discard(let id, let completion):
            discard(id)
            completion?()
        }
    }

    private func database(_ body: (Database) throws -> Void) -> Result<Void, DocumentStoreError> {
        do {
            try pool.write(body)
            return .success(())
        } catch {
            return .failure(.database(StoreError(error)))
        }
    }

    /// The open partial file of upload `id`, positioned at `offset`: opened (or created) and its first `offset`
    /// bytes hashed when it was not open yet (after a restart), cut back if it holds more.
    private func partial(_ id: UInt32, at offset: Int) -> Result<OpenPartial, DocumentStoreError> {
        if let current = open[id], current.length == offset { return .success(current) }
        open[id] = nil
        let path = layout.partialPath(upload: id)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(.io(operation: "open", path: path, errno: errno)) }
        let file = OpenPartial(fd: fd, digest: makeDigest(), length: 0)
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.io(operation: "stat", path: path, errno: errno)) }
        let onDisk = Int(info.st_size)
        guard onDisk >= offset else { return .failure(.missingBytes(path: path, onDisk: onDisk, expected: offset)) }
        if onDisk > offset, ftruncate(fd, off_t(offset)) != 0 {
            return .failure(.io(operation: "truncate", path: path, errno: errno))
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while file.length < offset {
            let want = min(buffer.count, offset - file.length)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(file.length)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .failure(.io(operation: "read", path: path, errno: n < 0 ? errno : EIO)) }
            buffer.withUnsafeBytes { file.digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            file.length += n
        }
        open[id] = file
        return .success(file)
    }

    private func append(_ id: UInt32, offset: Int, bytes: [UInt8]) -> Result<Int, DocumentStoreError> {
        let file: OpenPartial
        switch partial(id, at: offset) {
        case .success(let f): file = f
        case .failure(let error): return .failure(error)
        }
        let path = layout.partialPath(upload: id)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                pwrite(file.fd, raw.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = n < 0 ? errno : EIO
                open[id] = nil
                return .failure(.io(operation: "write", path: path, errno: code))
            }
            done += n
        }
        bytes.withUnsafeBytes { file.digest.update($0) }
        file.length += bytes.count
        return .success(file.length)
    }

    private func finish(_ id: UInt32, size: Int, sha256: String) -> Result<FinishedUpload, DocumentStoreError> {
        let file: OpenPartial
        switch partial(id, at: size) {
        case .success(let f): file = f
        case .failure(let error): return .failure(error)
        }
        open[id] = nil
        let path = layout.partialPath(upload: id)
        while fsync(file.fd) != 0 {
            guard errno == EINTR else { return .failure(.io(operation: "sync", path: path, errno: errno)) }
        }
        let actual = Self.hex(file.digest.finalize())
        guard actual == sha256, let target = layout.documentPath(sha256: sha256) else {
            discard(id)
            return .success(.checksumMismatch(actual: actual))
        }
        var existing = stat()
        if stat(target, &existing) == 0 && Int(existing.st_size) == size {
            // The same bytes are already stored (content addressing): keep that copy.
            unlink(path)
        } else {
            guard rename(path, target) == 0 else { return .failure(.io(operation: "move", path: target, errno: errno)) }
            if let error = syncDirectory(layout.documentsDirectory) { return .failure(error) }
        }
        if case .failure(let error) = database({ db in try UploadTerms.delete(id: id, db) }) {
            logger.warning("upload row not deleted", metadata: ["upload": "\(id)", "error": "\(error)"])
        }
        return .success(.stored(path: target))
    }

    private func discard(_ id: UInt32) {
        open[id] = nil
        unlink(layout.partialPath(upload: id))
        if case .failure(let error) = database({ db in try UploadTerms.delete(id: id, db) }) {
            logger.warning("upload row not deleted", metadata: ["upload": "\(id)", "error": "\(error)"])
        }
    }

    /// fsync of a folder, so that a rename into it survives a power loss.
    private func syncDirectory(_ path: String) -> DocumentStoreError? {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return .io(operation: "open", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        return fsync(fd) == 0 ? nil : .io(operation: "sync", path: path, errno: errno)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
