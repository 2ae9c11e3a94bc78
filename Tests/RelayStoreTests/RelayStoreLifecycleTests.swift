import Foundation
import RelayCore
@testable import RelayStore
import Testing

@Suite struct RelayStoreLifecycleTests {
    @Test func reopeningLoadsOnlySessionsThatAreNotEnded() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let store = try RelayStore(dataDirectory: dir.path)
            let batches = [
                StoreBatch(
                    events: (1...3).map { event("s_a", $0) },
                    summaries: [summary("s_a", state: "active", createdAt: 2000, lastSeq: 3)]
                ),
                StoreBatch(events: [event("s_b", 1)], summaries: [summary("s_b", createdAt: 1000, lastSeq: 1)]),
                StoreBatch(
                    events: [event("s_b", 2, type: "session.ended")],
                    summaries: [summary("s_b", state: "ended", createdAt: 1000, lastSeq: 2)]
                ),
                StoreBatch(
                    events: (1...2).map { event("s_c", $0) },
                    summaries: [summary("s_c", state: "queued", createdAt: 1500, lastSeq: 2)]
                ),
            ]
            for batch in batches {
                #expect(await store.commit(batch).isSuccess)
            }
            store.close()
        }

        let reopened = try RelayStore(dataDirectory: dir.path)
        defer { reopened.close() }
        let live = try reopened.liveEvents()
        #expect(live.map { "\($0.sessionId)#\($0.seq)" } == ["s_c#1", "s_c#2", "s_a#1", "s_a#2", "s_a#3"])
        #expect(live.first == event("s_c", 1))
        #expect(try reopened.sessionCount() == 3)
        #expect(try reopened.summary(sessionId: "s_b") == summary("s_b", state: "ended", createdAt: 1000, lastSeq: 2))
        #expect(try reopened.summary(sessionId: "s_x") == nil)
        #expect(try reopened.summaries(includeEnded: false, limit: 10).map(\.id) == ["s_a", "s_c"])
        #expect(try reopened.summaries(includeEnded: true, limit: 2).map(\.id) == ["s_a", "s_c"])
        #expect(try reopened.summaries(includeEnded: true, limit: 10).map(\.id) == ["s_a", "s_c", "s_b"])
        #expect(try reopened.events(sessionId: "s_b", afterSeq: 0).count == 2)
        #expect(try reopened.appliedMigrations() == ["v1-sessions-events", "v2-documents"])
        let plan = try reopened.liveEventsQueryPlan().joined(separator: "; ")
        #expect(plan.contains("session_live"))
    }

    @Test func closeDrainsTheQueueAndIsSafeTwice() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        let completed = Collector<Bool>()
        for seq in 1...200 {
            store.enqueue(StoreBatch(events: [event("s_1", seq)])) { completed.append($0.isSuccess) }
        }
        store.close()
        #expect(completed.values.count == 200)
        #expect(completed.values.allSatisfy { $0 })
        store.close()

        let afterClose = Collector<StoreError?>()
        store.enqueue(StoreBatch(events: [event("s_1", 201)])) { afterClose.append($0.failure) }
        #expect(afterClose.values == [.closed])
        #expect(throws: StoreError.closed) { try store.events(sessionId: "s_1", afterSeq: 0) }
        #expect(store.stats.batchesFailed == 1)

        let reopened = try RelayStore(dataDirectory: dir.path)
        defer { reopened.close() }
        #expect(try reopened.events(sessionId: "s_1", afterSeq: 0).map(\.seq) == Array(1...200))
    }

    @Test func closingFromACompletionDoesNotDeadlock() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        let result: Result<StoreBatchResult, StoreError> = await withCheckedContinuation { continuation in
            store.enqueue(StoreBatch(events: [event("s_1", 1)])) { result in
                store.close()  // on the writer thread: must return without waiting for itself
                continuation.resume(returning: result)
            }
        }
        #expect(result.isSuccess)
        store.close()
        #expect(throws: StoreError.closed) { try store.sessionCount() }

        let reopened = try RelayStore(dataDirectory: dir.path)
        defer { reopened.close() }
        #expect(try reopened.events(sessionId: "s_1", afterSeq: 0).map(\.seq) == [1])
    }

    @Test func aDuplicateSeqFailsItsBatchAloneAndLaterBatchesSucceed() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        defer { store.close() }
        #expect(await store.commit(StoreBatch(events: [event("s_1", 1)])).isSuccess)

        let results = Collector<(String, Result<StoreBatchResult, StoreError>)>()
        let burst: [(String, StoreBatch)] = [
            ("good-before", StoreBatch(events: [event("s_2", 1)])),
            (
                "duplicate",
                StoreBatch(events: [event("s_1", 2), event("s_1", 1)], summaries: [summary("s_1", lastSeq: 2)])
            ),
            ("not-json", StoreBatch(events: [event("s_3", 1, data: ["level": .number(.nan)])])),
            ("good-after", StoreBatch(events: [event("s_2", 2)])),
        ]
        for (name, batch) in burst {
            store.enqueue(batch) { results.append((name, $0)) }
        }
        let following = await store.commit(StoreBatch(events: [event("s_1", 2)]))

        let byName = Dictionary(uniqueKeysWithValues: results.values.map { ($0.0, $0.1) })
        #expect(results.values.map(\.0) == burst.map(\.0))
        #expect(byName["good-before"]?.isSuccess == true)
        #expect(byName["duplicate"]?.failure == .duplicateEvent(sessionId: "s_1", seq: 1))
        if case .invalidData(let sessionId, let seq, _)? = byName["not-json"]?.failure {
            #expect(sessionId == "s_3" && seq == 1)
        } else {
            Issue.record("expected invalidData, got \(String(describing: byName["not-json"]))")
        }
        #expect(byName["good-after"]?.isSuccess == true)
        #expect(following.isSuccess)

        // The failed batch left nothing behind: neither its new event nor its summary.
        #expect(try store.events(sessionId: "s_1", afterSeq: 0).map(\.seq) == [1, 2])
        #expect(try store.summary(sessionId: "s_1") == nil)
        #expect(try store.events(sessionId: "s_2", afterSeq: 0).map(\.seq) == [1, 2])
        #expect(try store.events(sessionId: "s_3", afterSeq: 0).isEmpty)
        #expect(store.stats.batchesFailed == 2)
    }

    @Test func aFullDiskStallsTheWriterWithoutLosingOrReorderingAnything() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        defer { store.close() }
        #expect(await store.commit(StoreBatch(events: [event("s_1", 1)])).isSuccess)

        let pages = try #require(try store.writerPragma("page_count"))
        try store.setWriterPragma("max_page_count", pages + 1)
        let bulky: [String: JSONValue] = ["text": .string(String(repeating: "x", count: 2000))]
        // Neither batch can commit while the disk is full; the second must not overtake the first.
        // Both are enqueued from here, in this order (two Tasks could enqueue in either order).
        let results = Collector<(String, Result<StoreBatchResult, StoreError>)>()
        store.enqueue(StoreBatch(events: (2...200).map { event("s_1", $0, data: bulky) })) { results.append(("big", $0)) }
        store.enqueue(StoreBatch(events: [event("s_1", 201)])) { results.append(("next", $0)) }
        var waited = 0
        while !store.isStalled && waited < 200 {
            try await Task.sleep(for: .milliseconds(25))
            waited += 1
        }
        #expect(store.isStalled)
        #expect(try store.events(sessionId: "s_1", afterSeq: 0).map(\.seq) == [1])

        // Space returns: the same batches commit, in order, and the stall clears.
        try store.setWriterPragma("max_page_count", 1_073_741_823)
        // A commit enqueued after both completes after both.
        #expect(await store.commit(StoreBatch(events: [event("s_2", 1)])).isSuccess)
        #expect(results.values.map(\.0) == ["big", "next"])
        #expect(results.values.allSatisfy { $0.1.isSuccess })
        #expect(!store.isStalled)
        #expect(try store.events(sessionId: "s_1", afterSeq: 0).map(\.seq) == Array(1...201))
        #expect(store.stats.failedCommits > 0)
    }

    @Test func aFullDiskErrorSaysSo() {
        let failure = StoreError.diskFull(message: "database or disk is full")
        #expect(failure.isDiskFull)
        #expect(failure.description.contains("full"))
    }

    @Test func errorsSayWhatToDo() {
        #expect(StoreError.closed.description.contains("shutting down"))
        #expect(StoreError.duplicateEvent(sessionId: "s_1", seq: 4).description.contains("event 4 of session s_1"))
        #expect(StoreError.diskFull(message: "database or disk is full").isDiskFull)
        #expect(!StoreError.closed.isDiskFull)
    }
}
