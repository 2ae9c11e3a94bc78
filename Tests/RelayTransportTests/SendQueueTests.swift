import RelayTransport
import Testing

/// A payload shared by reference, as one `OutboundFrame` is shared by every receiver of a packet.
private final class Frame {
    let name: String
    init(_ name: String) { self.name = name }
}

extension SendQueue {
    /// Removes every item, first to last (as the writer does), and returns them.
    fileprivate mutating func drain() -> [Item] {
        var items: [Item] = []
        while !isEmpty { items.append(removeFirst()) }
        return items
    }
}

@Suite("SendQueue: per-connection drop rules (PROTOCOL §6, decisions D6)")
struct SendQueueTests {
    @Test func mediaOverTheBudgetDropsThisQueuesOldestMediaFirst() {
        var q = SendQueue<String>(limitBytes: 1000, mediaBudgetBytes: 100)
        #expect(q.enqueue("m1", frameClass: .media, bytes: 40) == .queued)
        #expect(q.enqueue("m2", frameClass: .media, bytes: 40) == .queued)
        #expect(q.enqueue("j1", frameClass: .message, bytes: 50) == .queued)
        // 40 + 40 + 40 > 100: m1, the oldest media, goes.
        #expect(q.enqueue("m3", frameClass: .media, bytes: 40) == .queuedDroppingMedia(1))
        #expect(q.queuedMediaBytes == 80)
        #expect(q.queuedBytes == 130)
        #expect(q.droppedSinceDrainedBytes == 40)
        #expect(q.droppedMediaFrames == 1)
        // 80 + 90 > 100 and 40 + 90 > 100: m2 and m3 both go, oldest first.
        #expect(q.enqueue("m4", frameClass: .media, bytes: 90) == .queuedDroppingMedia(2))
        #expect(q.droppedMediaFrames == 3)
        #expect(q.drain().map(\.payload) == ["j1", "m4"])
    }

    @Test func messagesAreNeverDroppedWhateverTheMediaBudget() {
        var q = SendQueue<String>(limitBytes: 10_000, mediaBudgetBytes: 100)
        for i in 1...5 {
            #expect(q.enqueue("j\(i)", frameClass: .message, bytes: 50) == .queued)
        }
        #expect(q.enqueue("ping", frameClass: .control, bytes: 12) == .queued)
        // Messages and control frames do not count against the media budget.
        #expect(q.enqueue("m1", frameClass: .media, bytes: 60) == .queued)
        #expect(q.enqueue("m2", frameClass: .media, bytes: 60) == .queuedDroppingMedia(1))
        #expect(q.drain().map(\.payload) == ["j1", "j2", "j3", "j4", "j5", "ping", "m2"])
    }

    @Test func aMediaFrameLargerThanTheBudgetIsQueuedAfterDroppingEveryOlderMediaFrame() {
        var q = SendQueue<String>(limitBytes: 1000, mediaBudgetBytes: 100)
        _ = q.enqueue("m1", frameClass: .media, bytes: 30)
        _ = q.enqueue("j1", frameClass: .message, bytes: 10)
        _ = q.enqueue("m2", frameClass: .media, bytes: 30)
        #expect(q.enqueue("big", frameClass: .media, bytes: 150) == .queuedDroppingMedia(2))
        #expect(q.queuedMediaBytes == 150)
        #expect(q.drain().map(\.payload) == ["j1", "big"])
    }

    @Test func theBacklogIsWhatIsQueuedPlusMediaDroppedSinceTheQueueWasLastEmpty() {
        var q = SendQueue<String>(limitBytes: 1000, mediaBudgetBytes: 100)
        _ = q.enqueue("j1", frameClass: .message, bytes: 20)
        _ = q.enqueue("m1", frameClass: .media, bytes: 70)
        _ = q.enqueue("m2", frameClass: .media, bytes: 70)
        #expect(q.queuedBytes == 90)
        #expect(q.droppedSinceDrainedBytes == 70)
        #expect(q.backlogBytes == 160)
        // Writing an item lowers what is queued but not what was dropped while the queue was never empty.
        #expect(q.removeFirst().payload == "j1")
        #expect(q.backlogBytes == 140)
        #expect(q.droppedSinceDrainedBytes == 70)
    }

    @Test func theVerdictIsOverflowOnlyPastTheLimit() {
        var q = SendQueue<String>(limitBytes: 200, mediaBudgetBytes: 100)
        #expect(q.enqueue("j1", frameClass: .message, bytes: 100) == .queued)
        #expect(q.enqueue("j2", frameClass: .message, bytes: 100) == .queued)
        #expect(q.backlogBytes == 200)
        #expect(q.enqueue("j3", frameClass: .message, bytes: 1) == .overflow)
        // The item is still queued: the caller decides to close (4408) and discard.
        #expect(q.count == 3)
        #expect(q.backlogBytes == 201)
    }

    @Test func aReceiverThatStopsReadingOverflowsThroughDroppedMedia() {
        // Only 50 bytes of media are ever queued, but what was dropped counts as behind (D6).
        var q = SendQueue<String>(limitBytes: 200, mediaBudgetBytes: 50)
        #expect(q.enqueue("m1", frameClass: .media, bytes: 50) == .queued)
        #expect(q.enqueue("m2", frameClass: .media, bytes: 50) == .queuedDroppingMedia(1))
        #expect(q.enqueue("m3", frameClass: .media, bytes: 50) == .queuedDroppingMedia(1))
        #expect(q.enqueue("m4", frameClass: .media, bytes: 50) == .queuedDroppingMedia(1))
        #expect(q.backlogBytes == 200)
        #expect(q.enqueue("m5", frameClass: .media, bytes: 50) == .overflow)
        #expect(q.queuedBytes == 50)
        #expect(q.droppedSinceDrainedBytes == 200)
    }

    @Test func drainingTheQueueResetsTheDroppedCountButNotTheLifetimeFrameCount() {
        var q = SendQueue<String>(limitBytes: 1000, mediaBudgetBytes: 50)
        _ = q.enqueue("m1", frameClass: .media, bytes: 40)
        _ = q.enqueue("m2", frameClass: .media, bytes: 40)
        _ = q.enqueue("j1", frameClass: .message, bytes: 10)
        #expect(q.droppedSinceDrainedBytes == 40)
        #expect(q.removeFirst().payload == "m2")
        #expect(q.droppedSinceDrainedBytes == 40)
        #expect(q.removeFirst().payload == "j1")
        #expect(q.isEmpty)
        #expect(q.droppedSinceDrainedBytes == 0)
        #expect(q.backlogBytes == 0)
        #expect(q.queuedMediaBytes == 0)
        #expect(q.droppedMediaFrames == 1)
        #expect(q.first == nil)
    }

    @Test func removeAllEmptiesEverythingButTheLifetimeFrameCount() {
        var q = SendQueue<String>(limitBytes: 1000, mediaBudgetBytes: 50)
        _ = q.enqueue("m1", frameClass: .media, bytes: 40)
        _ = q.enqueue("m2", frameClass: .media, bytes: 40)
        _ = q.enqueue("j1", frameClass: .message, bytes: 10)
        q.removeAll()
        #expect(q.isEmpty)
        #expect(q.count == 0)
        #expect(q.queuedBytes == 0)
        #expect(q.queuedMediaBytes == 0)
        #expect(q.backlogBytes == 0)
        #expect(q.droppedMediaFrames == 1)
    }

    @Test func theMediaBudgetIsNeverAboveTheLimit() {
        let q = SendQueue<String>(limitBytes: 100, mediaBudgetBytes: 1000)
        #expect(q.limitBytes == 100)
        #expect(q.mediaBudgetBytes == 100)
    }

    @Test func itemsKeepTheirClassAndSize() {
        var q = SendQueue<String>(limitBytes: 1000, mediaBudgetBytes: 100)
        _ = q.enqueue("j1", frameClass: .message, bytes: 7)
        #expect(q.first?.payload == "j1")
        #expect(q.first?.frameClass == .message)
        #expect(q.first?.bytes == 7)
        let item = q.removeFirst()
        #expect(item.frameClass == .message && item.bytes == 7)
    }

    @Test func anotherReceiversQueueIsUnaffectedByThisOnesDropsAndOverflow() {
        // The same frames (shared by reference) go to a slow receiver with a small budget and a fast one.
        var slow = SendQueue<Frame>(limitBytes: 120, mediaBudgetBytes: 40)
        var fast = SendQueue<Frame>(limitBytes: 10_000, mediaBudgetBytes: 1000)
        let frames = (1...4).map { Frame("m\($0)") }
        var slowVerdicts: [SendQueue<Frame>.Verdict] = []
        for frame in frames {
            slowVerdicts.append(slow.enqueue(frame, frameClass: .media, bytes: 40))
            #expect(fast.enqueue(frame, frameClass: .media, bytes: 40) == .queued)
        }
        #expect(slowVerdicts == [.queued, .queuedDroppingMedia(1), .queuedDroppingMedia(1), .overflow])
        #expect(fast.droppedMediaFrames == 0)
        #expect(fast.backlogBytes == 160)
        let delivered = fast.drain().map(\.payload)
        #expect(delivered.map(\.name) == ["m1", "m2", "m3", "m4"])
        #expect(zip(delivered, frames).allSatisfy { $0 === $1 })
        #expect(slow.drain().map(\.payload.name) == ["m4"])
    }
}
