import DequeModule
import Synchronization

/// What arrived on one connection and not yet read, with an awaiting reader that can time out.
///
/// The loop thread pushes; one reader at a time awaits `next`. A time-out leaves the queue intact.
final class Inbox: Sendable {
    private struct State {
        var buffer: Deque<ClientEvent> = []
        var waiter: (id: UInt64, continuation: CheckedContinuation<ClientEvent?, Never>)?
        var nextWaiter: UInt64 = 0
        var finished = false
    }

    private let state = Mutex(State())

    func push(_ event: ClientEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<ClientEvent?, Never>? in
            guard !state.finished else { return nil }
            if let w = state.waiter {
                state.waiter = nil
                return w.continuation
            }
            state.buffer.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// No more events after what is buffered.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<ClientEvent?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.buffer.isEmpty ? state.waiter?.continuation : nil
        }
        waiter?.resume(returning: nil)
    }

    func next(timeout seconds: Double) async throws(ClientError) -> ClientEvent {
        let event: ClientEvent? = await withCheckedContinuation { continuation in
            let (ready, id) = state.withLock { state -> (ClientEvent??, UInt64) in
                if let first = state.buffer.popFirst() { return (.some(first), 0) }
                if state.finished { return (.some(nil), 0) }
                state.nextWaiter += 1
                state.waiter = (state.nextWaiter, continuation)
                return (nil, state.nextWaiter)
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            Task { [self] in
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                self.timeOut(id)
            }
        }
        guard let event else {
            if state.withLock({ $0.finished }) { throw .closed(code: nil) }
            throw .timedOut("a message within \(seconds) s")
        }
        return event
    }

    private func timeOut(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<ClientEvent?, Never>? in
            guard let w = state.waiter, w.id == id else { return nil }
            state.waiter = nil
            return w.continuation
        }
        waiter?.resume(returning: nil)
    }
}
