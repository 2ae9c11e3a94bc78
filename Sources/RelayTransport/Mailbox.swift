import Glibc
import Synchronization

/// Jobs posted from any thread for the service thread, which drains them when woken.
///
/// Posting never blocks on the loop: it appends under a short lock and asks lws to wake the loop
/// (`lws_cancel_service`, the only lws call other threads may make). Wake-ups coalesce.
final class Mailbox: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])

    /// Appends a job; returns true when the mailbox was empty (the loop needs waking).
    func post(_ job: @escaping @Sendable () -> Void) -> Bool {
        jobs.withLock { jobs in
            jobs.append(job)
            return jobs.count == 1
        }
    }

    func drain() -> [@Sendable () -> Void] {
        jobs.withLock { jobs in
            let taken = jobs
            jobs.removeAll(keepingCapacity: true)
            return taken
        }
    }
}

/// A value that may only be used on the service thread that owns it, carried across threads
/// inside mailbox jobs (like NIO's `NIOLoopBound`).
///
/// It is `@unchecked Sendable` because the value is only read through `value`, which checks
/// that the caller is on the owning loop's thread.
public struct LoopBound<Value>: @unchecked Sendable {
    private let _value: Value
    private let loop: LoopIdentity

    public init(_ value: Value, loop: LoopIdentity) {
        precondition(loop.inLoop, "LoopBound must be created on its loop")
        self._value = value
        self.loop = loop
    }

    public var value: Value {
        precondition(loop.inLoop, "LoopBound used off its loop")
        return _value
    }
}

/// Says whether the caller runs on a given service thread.
public final class LoopIdentity: Sendable {
    private let threadID = Atomic<UInt>(0)

    init() {}

    func bindToCurrentThread() { threadID.store(Self.current, ordering: .releasing) }

    public var inLoop: Bool { threadID.load(ordering: .acquiring) == Self.current }

    private static var current: UInt { UInt(pthread_self()) }
}

