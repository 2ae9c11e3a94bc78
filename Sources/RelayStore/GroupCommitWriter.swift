import Foundation
internal import GRDB
import Logging
import RelayCore
import RelayPlatform

/// The store's single writer: a thread that commits every queued batch in one transaction (group commit).
///
/// `@unchecked Sendable` is safe because every mutable property is touched only with `condition`
/// locked (`pending`, `closing`, `finished`, `counters`), or only on the writer thread (`encoder`,
/// `decoder`, the database writes); `pool` is itself thread-safe.
final class GroupCommitWriter: @unchecked Sendable {
    typealias Completion = @Sendable (Result<StoreBatchResult, StoreError>) -> Void

    private struct Pending {
        var batch: StoreBatch
        var completion: Completion
    }

    private let pool: DatabasePool
    private let logger: Logger
    /// Bounds one transaction, so that one huge burst does not hold every completion until it is all written.
    private let maxBatchesPerCommit: Int

    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var closing = false
    private var stalled = false
    private var finished = false
    private var counters = StoreStats()
    private var thread: Thread?

    private let encoder = EventRow.makeEncoder()
    private let decoder = JSONDecoder()

    init(pool: DatabasePool, logger: Logger, maxBatchesPerCommit: Int = 1024) {
        self.pool = pool
        self.logger = logger
        self.maxBatchesPerCommit = maxBatchesPerCommit
    }

    func start() {
        let thread = Thread { [self] in
            nameCurrentThread("wr-store")  // for top -H, ps -L and perf (docs/operations.md)
            run()
        }
        condition.lock()
        self.thread = thread
        condition.unlock()
        thread.start()
    }

    /// Appends a batch and wakes the writer; never waits for the database.
    func enqueue(_ batch: StoreBatch, completion: @escaping Completion) {
        condition.lock()
        if closing {
            counters.batchesFailed += 1
            condition.unlock()
            completion(.failure(.closed))
            return
        }
        pending.append(Pending(batch: batch, completion: completion))
        condition.signal()
        condition.unlock()
    }

    var stats: StoreStats {
        condition.lock()
        defer { condition.unlock() }
        var snapshot = counters
        snapshot.queuedBatches = pending.count
        return snapshot
    }

    /// True while a commit keeps failing and is being retried (disk full, I/O errors).
    var isStalled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stalled
    }

    private func setStalled(_ value: Bool, counting: Bool) {
        condition.lock()
        stalled = value
        if counting { counters.failedCommits += 1 }
        condition.unlock()
    }

    var isClosing: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closing
    }

    /// Refuses new batches, lets the writer commit what is queued, and waits for it to finish and close
    /// the database. Called on the writer thread itself (from a completion), it does not wait.
    func close() {
        condition.lock()
        closing = true
        condition.broadcast()
        let onWriterThread = thread.map { $0 === Thread.current } ?? false
        while !finished && !onWriterThread && thread != nil {
            condition.wait()
        }
        condition.unlock()
    }

    // MARK: - The writer thread

    private func run() {
        while let jobs = nextJobs() {
            let results = commit(jobs.map(\.batch))
            for (job, result) in zip(jobs, results) {
                job.completion(result)
            }
        }
        do {
            try pool.close()
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(StoreError(error))"])
        }
        condition.lock()
        finished = true
        // The thread's closure holds this object: let go of the thread so that neither keeps the other.
        thread = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for work; returns up to `maxBatchesPerCommit` queued batches, or nil once closing with none left.
    private func nextJobs() -> [Pending]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !closing {
            condition.wait()
        }
        if pending.isEmpty { return nil }
        if pending.count <= maxBatchesPerCommit {
            var jobs: [Pending] = []
            jobs.reserveCapacity(pending.capacity)
            swap(&jobs, &pending)
            return jobs
        }
        let jobs = Array(pending.prefix(maxBatchesPerCommit))
        pending.removeFirst(maxBatchesPerCommit)
        return jobs
    }

    /// Writes the batches in one transaction; each batch in its own savepoint so that a bad batch
    /// (a duplicate seq) fails alone. A failure of the transaction itself (disk full, I/O) is retried.
    private func commit(_ batches: [StoreBatch]) -> [Result<StoreBatchResult, StoreError>] {
        var results = [Result<StoreBatchResult, StoreError>?](repeating: nil, count: batches.count)
        var rows = [[EventRow]](repeating: [], count: batches.count)
        var toWrite: [Int] = []
        for (index, batch) in batches.enumerated() {
            do throws(StoreError) {
                rows[index] = try batch.events.map { event throws(StoreError) in try EventRow(event, encoder: encoder) }
                if batch.events.isEmpty && batch.summaries.isEmpty && batch.replay == nil {
                    results[index] = .success(StoreBatchResult())
                } else {
                    toWrite.append(index)
                }
            } catch {
                logger.error("batch refused", metadata: ["error": "\(error)", "events": "\(batch.events.count)"])
                results[index] = .failure(error)
            }
        }

        if !toWrite.isEmpty {
            let start = ContinuousClock.now
            var committed = false
            var attempt = 0
            while true {
                do {
                    try pool.writeWithoutTransaction { db in
                        try db.inTransaction(.immediate) {
                            for index in toWrite {
                                results[index] = try write(batches[index], rows: rows[index], db)
                            }
                            return .commit
                        }
                    }
                    committed = true
                    break
                } catch {
                    // The transaction itself failed (disk full, I/O): nothing of it was written. Giving
                    // up would let later batches commit after a gap in a session's seqs, so the same
                    // batches are tried again, in order, until they commit or the store closes.
                    let failure = StoreError(error)
                    if attempt == 0 || attempt % 20 == 0 {
                        logger.error(
                            "commit failed; retrying the same batches",
                            metadata: ["error": "\(failure)", "batches": "\(toWrite.count)", "attempt": "\(attempt)"])
                    }
                    if isClosing {
                        for index in toWrite { results[index] = .failure(failure) }
                        break
                    }
                    setStalled(true, counting: true)
                    attempt += 1
                    Thread.sleep(forTimeInterval: min(2.0, 0.05 * Double(1 << min(attempt, 6))))
                }
            }
            if attempt > 0 {
                setStalled(false, counting: false)
                if committed { logger.notice("commit succeeded again", metadata: ["attempts": "\(attempt + 1)"]) }
            }
            let elapsed = ContinuousClock.now - start
            let micros = Int(elapsed.components.seconds) * 1_000_000
                + Int(elapsed.components.attoseconds / 1_000_000_000_000)
            record(committed: committed, batches: toWrite.count, micros: micros)
        }

        let final = results.map { $0 ?? .failure(.database(code: 1, extendedCode: 1, message: "batch not written")) }
        condition.lock()
        for (index, result) in final.enumerated() {
            switch result {
            case .success:
                counters.batchesStored += 1
                counters.eventsStored += batches[index].events.count
            case .failure:
                counters.batchesFailed += 1
            }
        }
        condition.unlock()
        return final
    }

    /// One batch inside the open transaction. Throws only when the whole transaction is lost.
    private func write(
        _ batch: StoreBatch,
        rows: [EventRow],
        _ db: Database
    ) throws -> Result<StoreBatchResult, StoreError> {
        var replayed: [SessionEvent] = []
        do {
            try db.inSavepoint {
                for row in rows {
                    do {
                        try row.insert(db)
                    } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                        throw StoreError.duplicateEvent(sessionId: row.sessionId, seq: row.seq)
                    }
                }
                for summary in batch.summaries {
                    try SessionRow(summary).upsert(db)
                }
                if let replay = batch.replay {
                    // Read inside the transaction, at this batch's place in the queue: everything before it
                    // is included, and the completion runs only once it is all durable.
                    replayed = try EventRow.fetchAll(
                        db,
                        sql: "SELECT * FROM event WHERE sessionId = ? AND seq > ? AND seq <= ? ORDER BY seq",
                        arguments: [replay.sessionId, replay.afterSeq, replay.throughSeq]
                    ).events(decoder: decoder)
                }
                return .commit
            }
        } catch {
            guard db.isInsideTransaction else { throw error }
            let failure = StoreError(error)
            logger.error("batch refused", metadata: ["error": "\(failure)", "events": "\(rows.count)"])
            return .failure(failure)
        }
        return .success(StoreBatchResult(replayed: replayed))
    }

    private func record(committed: Bool, batches: Int, micros: Int) {
        condition.lock()
        defer { condition.unlock() }
        if committed {
            counters.commits += 1
            counters.batchesCommitted += batches
            counters.maxBatchesPerCommit = max(counters.maxBatchesPerCommit, batches)
            counters.lastCommitMicros = micros
            counters.totalCommitMicros += micros
        } else {
            counters.failedCommits += 1
        }
    }
}
