public import RelayCore

/// The stored summary row of one session: for listing sessions and for choosing what to load at start-up.
///
/// The caller writes it in the same batch as the events that changed it; the store never derives it.
public struct SessionSummary: Sendable, Hashable {
    /// The `state` value of a session that is over; such sessions are not loaded at start-up.
    public static let endedState = "ended"

    public var id: String
    /// `queued`, `active` or `ended` (PROTOCOL §3); stored as given.
    public var state: String
    public var service: String
    public var fromUnit: String
    /// Milliseconds since 1970 (UTC).
    public var createdAtMillis: Int64
    public var endedAtMillis: Int64?
    public var outcome: String?
    /// The seq of the session's latest stored event.
    public var lastSeq: Int
    /// The hash of the session's latest event: the head of its record chain.
    public var head: String

    public init(
        id: String,
        state: String,
        service: String,
        fromUnit: String,
        createdAtMillis: Int64,
        endedAtMillis: Int64? = nil,
        outcome: String? = nil,
        lastSeq: Int,
        head: String
    ) {
        self.id = id
        self.state = state
        self.service = service
        self.fromUnit = fromUnit
        self.createdAtMillis = createdAtMillis
        self.endedAtMillis = endedAtMillis
        self.outcome = outcome
        self.lastSeq = lastSeq
        self.head = head
    }

    public var isEnded: Bool { state == Self.endedState }
}

/// A range of a session's events to read back once everything queued before it is durable.
public struct ReplayRequest: Sendable, Hashable {
    public var sessionId: String
    /// Events with a seq above this one…
    public var afterSeq: Int
    /// …up to and including this one.
    public var throughSeq: Int

    public init(sessionId: String, afterSeq: Int, throughSeq: Int) {
        self.sessionId = sessionId
        self.afterSeq = afterSeq
        self.throughSeq = throughSeq
    }
}

/// One unit of work for the writer: events and summaries stored together or not at all, then an optional replay.
///
/// An empty batch is allowed: it completes after every batch queued before it (an ordering barrier).
public struct StoreBatch: Sendable, Hashable {
    public var events: [SessionEvent]
    public var summaries: [SessionSummary]
    public var replay: ReplayRequest?

    public init(events: [SessionEvent] = [], summaries: [SessionSummary] = [], replay: ReplayRequest? = nil) {
        self.events = events
        self.summaries = summaries
        self.replay = replay
    }
}

/// What a committed batch gives back.
public struct StoreBatchResult: Sendable, Hashable {
    /// The events of the batch's `replay` range, in seq order; empty without a replay.
    public var replayed: [SessionEvent]

    public init(replayed: [SessionEvent] = []) {
        self.replayed = replayed
    }
}

/// Counters of the writer since the store was opened, for metrics.
public struct StoreStats: Sendable, Hashable {
    /// Transactions that committed.
    public var commits: Int = 0
    /// Transactions that failed as a whole (every batch in them failed).
    public var failedCommits: Int = 0
    /// Batches completed with success.
    public var batchesStored: Int = 0
    /// Batches completed with failure (including those refused because the store was closed).
    public var batchesFailed: Int = 0
    /// Batches written by committed transactions (an empty batch needs none).
    public var batchesCommitted: Int = 0
    /// Events stored.
    public var eventsStored: Int = 0
    /// Batches waiting for the writer when the stats were taken.
    public var queuedBatches: Int = 0
    /// The most batches one transaction carried.
    public var maxBatchesPerCommit: Int = 0
    /// Duration of the latest transaction, BEGIN to COMMIT (the fsync included), in microseconds.
    public var lastCommitMicros: Int = 0
    /// Sum of all transactions' durations, in microseconds (divide by `commits` for a mean).
    public var totalCommitMicros: Int = 0

    public init() {}

    /// Mean batches per committed transaction: how much group commit saved.
    public var batchesPerCommit: Double {
        commits == 0 ? 0 : Double(batchesCommitted) / Double(commits)
    }
}
