import Foundation
import RelayCore
@testable import RelayStore

/// A fresh data directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("relaystore-\(UUID().uuidString)").path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Collects values from the writer thread.
final class Collector<Value: Sendable>: @unchecked Sendable {
    // Safe: `storage` is only touched with `lock` held.
    private let lock = NSLock()
    private var storage: [Value] = []

    func append(_ value: Value) {
        lock.lock()
        storage.append(value)
        lock.unlock()
    }

    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}

extension RelayStore {
    /// Enqueues a batch and waits for its completion.
    func commit(_ batch: StoreBatch) async -> Result<StoreBatchResult, StoreError> {
        await withCheckedContinuation { continuation in
            enqueue(batch) { continuation.resume(returning: $0) }
        }
    }
}

func event(
    _ sessionId: String,
    _ seq: Int,
    type: String = "chat",
    data: [String: JSONValue] = ["text": "hello"]
) -> SessionEvent {
    SessionEvent(
        sessionId: sessionId,
        seq: seq,
        atMillis: 1_790_000_000_000 + Int64(seq),
        type: type,
        actor: "u1",
        data: data,
        hash: String(repeating: "0", count: 63) + String(seq % 10)
    )
}

func summary(
    _ id: String,
    state: String = "active",
    createdAt: Int64 = 1_790_000_000_000,
    lastSeq: Int
) -> SessionSummary {
    SessionSummary(
        id: id,
        state: state,
        service: "passport",
        fromUnit: "unit-a",
        createdAtMillis: createdAt,
        endedAtMillis: state == SessionSummary.endedState ? createdAt + 60_000 : nil,
        outcome: state == SessionSummary.endedState ? "completed" : nil,
        lastSeq: lastSeq,
        head: "head-\(lastSeq)"
    )
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    var isSuccess: Bool { failure == nil }
}
