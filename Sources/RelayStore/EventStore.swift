public import RelayCore

/// The durable store of sessions and their events, as the server uses it, whatever the database behind it.
///
/// RelayStore (SQLite) is the one backend today; a shared PostgreSQL backend for several nodes
/// (ARCHITECTURE.md, Scale) implements the same protocol. The store never interprets event data
/// and never computes hashes: the caller gives it finished events and summaries.
public protocol EventStore: Sendable {
    /// Queues a batch for the writer and returns at once, never blocking the caller.
    ///
    /// Batches commit in the order they were enqueued. `completion` runs on the writer's thread, in
    /// that same order, once the batch is durable (or has failed); it must be short (hop to your own
    /// thread). After `close()`, `completion` runs at once on the calling thread with `.closed`.
    func enqueue(_ batch: StoreBatch, completion: @escaping @Sendable (Result<StoreBatchResult, StoreError>) -> Void)

    /// Every stored event of a session with a seq above `afterSeq`, in seq order. Blocks the caller.
    func events(sessionId: String, afterSeq: Int) throws(StoreError) -> [SessionEvent]

    /// The summary of one session, or nil when it is unknown. Blocks the caller.
    func summary(sessionId: String) throws(StoreError) -> SessionSummary?

    /// Session summaries, newest first (by creation time), at most `limit`. Blocks the caller.
    func summaries(includeEnded: Bool, limit: Int) throws(StoreError) -> [SessionSummary]

    /// Every event of every session that is not ended, by session creation time then seq:
    /// what start-up replays to rebuild its in-memory state. Blocks the caller.
    func liveEvents() throws(StoreError) -> [SessionEvent]

    /// How many sessions are stored, ended or not. Blocks the caller.
    func sessionCount() throws(StoreError) -> Int

    /// The writer's counters so far.
    var stats: StoreStats { get }

    /// Stops accepting batches, commits what is queued, completes it, and closes the database.
    /// Safe to call more than once.
    func close()
}
