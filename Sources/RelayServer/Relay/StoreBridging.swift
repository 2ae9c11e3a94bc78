import Dispatch
import RelayCore
import RelayStore
import Synchronization

extension RelayStore {
    /// Commits `batch` and waits for it: for start-up only, never on the service loop.
    func commitNow(_ batch: StoreBatch) throws(StoreError) {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<StoreBatchResult, StoreError>>(.failure(.closed))
        enqueue(batch) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        _ = try outcome.withLock { $0 }.get()
    }
}

extension SessionSummary {
    /// The store's summary row of a session as the book knows it.
    init(_ session: SessionState) {
        self.init(
            id: session.id, state: session.state.rawValue, service: session.service, fromUnit: session.fromUnit,
            createdAtMillis: session.createdAt, endedAtMillis: nil, outcome: session.outcome,
            lastSeq: session.lastSeq, head: session.head)
    }
}
