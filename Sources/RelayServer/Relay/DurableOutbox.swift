import DequeModule

/// Keeps what clients see in the order of what is durable. Loop-bound.
///
/// Every request's visible effects (its reply, the events it caused, a replay) are a *release*.
/// A release that waits for a store batch runs when that batch is committed; a release that waits
/// for nothing runs at once if nothing is pending, or else after the last pending one. Releases
/// therefore run in submission order, so a client never sees a reply before an earlier event and
/// never sees an event that is not on disk.
struct DurableOutbox<Result> {
    typealias Release = (Result?) -> Void

    private struct Entry {
        var ticket: UInt64
        var result: Result?
        var completed: Bool
        var releases: [Release]
    }

    private var entries: Deque<Entry> = []
    private var nextTicket: UInt64 = 1

    /// Releases waiting on the store.
    var pendingCount: Int { entries.count }

    /// Registers a release that waits for a store batch; returns the batch's ticket, to be passed
    /// to `complete` when the batch is committed.
    mutating func awaitBatch(_ release: @escaping Release) -> UInt64 {
        let ticket = nextTicket
        nextTicket += 1
        entries.append(Entry(ticket: ticket, result: nil, completed: false, releases: [release]))
        return ticket
    }

    /// With nothing pending, keeps nothing and returns true: the caller runs `release` now.
    /// Otherwise queues it behind the last pending batch (it runs with a nil result) and returns false.
    mutating func release(_ release: @escaping Release) -> Bool {
        guard !entries.isEmpty else { return true }
        entries[entries.count - 1].releases.append { _ in release(nil) }
        return false
    }

    /// Marks batch `ticket` committed (with its result) and returns the releases now due, in order.
    mutating func complete(ticket: UInt64, result: Result) -> [(Release, Result?)] {
        guard let index = entries.firstIndex(where: { $0.ticket == ticket }) else { return [] }
        entries[index].completed = true
        entries[index].result = result
        var due: [(Release, Result?)] = []
        while let head = entries.first, head.completed {
            entries.removeFirst()
            for (i, release) in head.releases.enumerated() {
                due.append((release, i == 0 ? head.result : nil))
            }
        }
        return due
    }
}
