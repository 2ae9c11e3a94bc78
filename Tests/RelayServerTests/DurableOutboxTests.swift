import Testing

@testable import RelayServer

/// What the releases did, in the order they ran.
private final class Log {
    var entries: [String] = []

    /// A release that logs `name` and the result it was given.
    func release(_ name: String) -> (String?) -> Void {
        { result in self.entries.append("\(name):\(result ?? "-")") }
    }
}

/// Runs releases as the relay does.
private func run(_ due: [((String?) -> Void, String?)]) {
    for (release, result) in due { release(result) }
}

@Suite("DurableOutbox: releases in submission order (decisions D4)")
struct DurableOutboxTests {
    @Test func releasesRunInSubmissionOrderWhenBatchesCompleteOutOfOrder() {
        var outbox = DurableOutbox<String>()
        let log = Log()
        let a = outbox.awaitBatch(log.release("A"))
        let b = outbox.awaitBatch(log.release("B"))
        let c = outbox.awaitBatch(log.release("C"))
        #expect(outbox.pendingCount == 3)

        let dueAfterC = outbox.complete(ticket: c, result: "c")
        #expect(dueAfterC.isEmpty)
        let dueAfterB = outbox.complete(ticket: b, result: "b")
        #expect(dueAfterB.isEmpty)
        #expect(outbox.pendingCount == 3)

        let dueAfterA = outbox.complete(ticket: a, result: "a")
        #expect(dueAfterA.map(\.1) == ["a", "b", "c"])
        run(dueAfterA)
        #expect(log.entries == ["A:a", "B:b", "C:c"])
        #expect(outbox.pendingCount == 0)
    }

    @Test func aBatchCompletedInOrderIsReleasedAtOnce() {
        var outbox = DurableOutbox<String>()
        let log = Log()
        let a = outbox.awaitBatch(log.release("A"))
        let b = outbox.awaitBatch(log.release("B"))
        run(outbox.complete(ticket: a, result: "a"))
        #expect(log.entries == ["A:a"])
        #expect(outbox.pendingCount == 1)
        run(outbox.complete(ticket: b, result: "b"))
        #expect(log.entries == ["A:a", "B:b"])
        #expect(outbox.pendingCount == 0)
    }

    @Test func aNoWaitReleaseRunsAtOnceWhenNothingIsPending() {
        var outbox = DurableOutbox<String>()
        let log = Log()
        // true: the caller runs it now; the outbox keeps nothing.
        #expect(outbox.release(log.release("X")) == true)
        #expect(outbox.pendingCount == 0)
        #expect(log.entries.isEmpty)
        let a = outbox.awaitBatch(log.release("A"))
        run(outbox.complete(ticket: a, result: "a"))
        #expect(log.entries == ["A:a"])
    }

    @Test func aNoWaitReleaseRunsAfterTheLastPendingBatchWithNoResult() {
        var outbox = DurableOutbox<String>()
        let log = Log()
        let a = outbox.awaitBatch(log.release("A"))
        let b = outbox.awaitBatch(log.release("B"))
        #expect(outbox.release(log.release("X")) == false)
        #expect(outbox.release(log.release("Y")) == false)
        // The no-wait releases do not count as batches.
        #expect(outbox.pendingCount == 2)

        run(outbox.complete(ticket: a, result: "a"))
        #expect(log.entries == ["A:a"])
        run(outbox.complete(ticket: b, result: "b"))
        #expect(log.entries == ["A:a", "B:b", "X:-", "Y:-"])
    }

    @Test func aNoWaitReleaseWaitsForEarlierBatchesCompletedOutOfOrder() {
        var outbox = DurableOutbox<String>()
        let log = Log()
        let a = outbox.awaitBatch(log.release("A"))
        let b = outbox.awaitBatch(log.release("B"))
        #expect(outbox.release(log.release("X")) == false)
        let c = outbox.awaitBatch(log.release("C"))

        #expect(outbox.complete(ticket: b, result: "b").isEmpty)
        run(outbox.complete(ticket: a, result: "a"))
        #expect(log.entries == ["A:a", "B:b", "X:-"])
        run(outbox.complete(ticket: c, result: "c"))
        #expect(log.entries == ["A:a", "B:b", "X:-", "C:c"])
    }

    @Test func completingAnUnknownOrFinishedTicketReleasesNothing() {
        var outbox = DurableOutbox<String>()
        let log = Log()
        let a = outbox.awaitBatch(log.release("A"))
        #expect(outbox.complete(ticket: a + 100, result: "?").isEmpty)
        run(outbox.complete(ticket: a, result: "a"))
        #expect(outbox.complete(ticket: a, result: "again").isEmpty)
        #expect(log.entries == ["A:a"])
    }

    @Test func ticketsAreDistinctAndIncreasing() {
        var outbox = DurableOutbox<String>()
        let tickets = (0..<3).map { _ in outbox.awaitBatch { _ in } }
        #expect(tickets == tickets.sorted())
        #expect(Set(tickets).count == 3)
    }
}
