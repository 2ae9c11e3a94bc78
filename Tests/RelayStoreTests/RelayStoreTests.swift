import Foundation
import RelayCore
@testable import RelayStore
import Testing

@Suite struct RelayStoreTests {
    @Test func openingMigratesAndMakesCommitsDurable() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path + "/nested/data")
        defer { store.close() }

        #expect(try store.appliedMigrations() == ["v1-sessions-events", "v2-documents"])
        #expect(try store.tableNames() == ["event", "session", "upload"])
        #expect(try store.writerPragma("synchronous") == 2)  // FULL
        #expect(try store.sessionCount() == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/nested/data")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        #expect(FileManager.default.fileExists(atPath: store.databasePath))
    }

    @Test func aFileInPlaceOfTheDirectoryIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        #expect(FileManager.default.createFile(atPath: dir.path, contents: Data()))
        #expect {
            _ = try RelayStore(dataDirectory: dir.path)
        } throws: { error in
            guard case .dataDirectory(let path, _) = error as? StoreError else { return false }
            return path == dir.path
        }
    }

    @Test func burstIsGroupCommittedInOrder() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        defer { store.close() }

        let sessions = (0..<10).map { "s_\($0)" }
        let perSession = 100
        let completed = Collector<(Int, Bool)>()
        let start = ContinuousClock.now
        var batchCount = 0
        for seq in 1...perSession {
            for session in sessions {
                let index = batchCount
                let batch = StoreBatch(
                    events: [event(session, seq)],
                    summaries: [summary(session, lastSeq: seq)]
                )
                store.enqueue(batch) { result in completed.append((index, result.isSuccess)) }
                batchCount += 1
            }
        }
        let barrier = await store.commit(StoreBatch())
        let elapsed = ContinuousClock.now - start

        #expect(barrier.isSuccess)
        let results = completed.values
        #expect(results.map(\.0) == Array(0..<batchCount))
        #expect(results.allSatisfy { $0.1 })
        let stats = store.stats
        #expect(stats.commits < batchCount)
        #expect(stats.commits == store.commitCount)
        #expect(stats.eventsStored == sessions.count * perSession)
        #expect(stats.batchesStored == batchCount + 1)
        for session in sessions {
            let events = try store.events(sessionId: session, afterSeq: 0)
            #expect(events.map(\.seq) == Array(1...perSession))
            #expect(try store.summary(sessionId: session)?.lastSeq == perSession)
        }
        #expect(try store.sessionCount() == sessions.count)

        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "burst: \(batchCount) batches, \(stats.eventsStored) events in \(stats.commits) commits, "
                + "\(String(format: "%.3f", seconds)) s: \(Int(Double(stats.commits) / seconds)) commits/s, "
                + "\(Int(Double(stats.eventsStored) / seconds)) events/s, "
                + "\(String(format: "%.1f", stats.batchesPerCommit)) batches/commit, "
                + "max \(stats.maxBatchesPerCommit), mean commit \(stats.totalCommitMicros / max(1, stats.commits)) µs"
        )
    }

    @Test func batchesAwaitedOneByOneCommitOneByOne() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        defer { store.close() }

        let count = 100
        let start = ContinuousClock.now
        for seq in 1...count {
            let result = await store.commit(
                StoreBatch(events: [event("s_1", seq)], summaries: [summary("s_1", lastSeq: seq)])
            )
            #expect(result.isSuccess)
        }
        let elapsed = ContinuousClock.now - start
        #expect(store.commitCount == count)
        #expect(store.stats.batchesPerCommit == 1)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "sequential: \(count) commits in \(String(format: "%.3f", seconds)) s: "
                + "\(Int(Double(count) / seconds)) commits/s, mean commit \(store.stats.totalCommitMicros / count) µs"
        )
    }

    @Test func replayReturnsExactlyTheRangeAfterEverythingQueuedBefore() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        defer { store.close() }

        let first = await store.commit(StoreBatch(events: (1...20).map { event("s_1", $0) }))
        #expect(first.isSuccess)
        #expect(try store.events(sessionId: "s_1", afterSeq: 0).count == 20)

        let plain = await store.commit(replaying("s_1", after: 5, through: 12))
        #expect(try plain.get().replayed.map(\.seq) == Array(6...12))
        #expect(try plain.get().replayed.first == event("s_1", 6))

        let withOwnEvents = await store.commit(
            StoreBatch(
                events: [event("s_1", 21), event("s_1", 22)],
                replay: ReplayRequest(sessionId: "s_1", afterSeq: 18, throughSeq: 22)
            )
        )
        #expect(try withOwnEvents.get().replayed.map(\.seq) == [19, 20, 21, 22])

        // Queued behind a batch that is not committed yet: the replay still sees it.
        store.enqueue(StoreBatch(events: (23...25).map { event("s_1", $0) })) { _ in }
        let behind = await store.commit(replaying("s_1", after: 20, through: 25))
        #expect(try behind.get().replayed.map(\.seq) == [21, 22, 23, 24, 25])

        let otherSession = await store.commit(replaying("s_2", after: 0, through: 9))
        #expect(try otherSession.get().replayed.isEmpty)
        #expect(try store.events(sessionId: "s_1", afterSeq: 23).map(\.seq) == [24, 25])
    }

    @Test func emptyBatchIsAnOrderingBarrier() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        defer { store.close() }

        let completed = Collector<Int>()
        for seq in 1...50 {
            store.enqueue(StoreBatch(events: [event("s_1", seq)])) { _ in completed.append(seq) }
        }
        let barrier = await store.commit(StoreBatch())
        #expect(try barrier.get().replayed.isEmpty)
        #expect(completed.values == Array(1...50))
        #expect(try store.events(sessionId: "s_1", afterSeq: 0).count == 50)
    }

    @Test func eventDataRoundTripsExactly() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try RelayStore(dataDirectory: dir.path)
        defer { store.close() }

        let data: [String: JSONValue] = [
            "text": "Grüße aus Zürich: 你好, мир 🌍 \"quoted\" back\\slash a/b\n\ttab",
            "nested": ["list": [1, 2.5, -0.125, "x", nil, true, false, ["deep": ["deeper": "ä"]]]],
            "zero": 0, "one": 1, "big": .number(9_007_199_254_740_992), "tiny": 1e-300, "negative": -42,
            "flag": true, "none": nil, "empty": [:], "emptyList": [], "ключ": "значение",
        ]
        let original = event("s_1", 1, type: "form.updated", data: data)
        let stored = await store.commit(
            StoreBatch(events: [original], replay: ReplayRequest(sessionId: "s_1", afterSeq: 0, throughSeq: 1))
        )
        #expect(try stored.get().replayed == [original])
        #expect(try store.events(sessionId: "s_1", afterSeq: 0) == [original])
    }
}

private func replaying(_ sessionId: String, after: Int, through: Int) -> StoreBatch {
    StoreBatch(replay: ReplayRequest(sessionId: sessionId, afterSeq: after, throughSeq: through))
}
