import Foundation
import Glibc
import RelayTransport
import Synchronization

/// Wakes the load loops every millisecond from a thread of its own, to pace the sends.
///
/// A 1 ms libwebsockets timer would not do: lws 4.1 gives `poll` its next timer in whole
/// milliseconds, rounded down, so the last millisecond before any timer is spent polling with a
/// zero timeout: with a 1 ms timer the loop never sleeps (measured: a whole core at 2,000
/// packets/s). Here a loop sleeps in `poll` until a packet arrives or this thread posts the next
/// tick through the loop's mailbox (`lws_cancel_service`); a tick is not posted to a loop again
/// while its previous one waits.
final class LoadMetronome: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// A loop to wake, and what to run there.
    struct Beat: Sendable {
        let loop: ServiceLoop
        let tick: @Sendable () -> Void
        let pending = Flag()
    }

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    init(beats: [Beat], intervalNanos: Int) {
        let thread = Thread { [self] in
            var next = timespec()
            clock_gettime(CLOCK_MONOTONIC, &next)
            while !stopped.load(ordering: .acquiring) {
                next.tv_nsec += intervalNanos
                while next.tv_nsec >= 1_000_000_000 {
                    next.tv_nsec -= 1_000_000_000
                    next.tv_sec += 1
                }
                _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nil)
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                if (now.tv_sec - next.tv_sec) * 1_000_000_000 + (now.tv_nsec - next.tv_nsec) > intervalNanos {
                    next = now  // fell behind (a busy core): skip the missed ticks, the loop sends what is due
                }
                for beat in beats
                where beat.pending.value.compareExchange(
                    expected: false,
                    desired: true,
                    ordering: .acquiringAndReleasing
                )
                .exchanged {
                    beat.loop.execute {
                        beat.pending.value.store(false, ordering: .releasing)
                        beat.tick()
                    }
                }
            }
            finished.signal()
        }
        thread.name = "windowrelay-load-metronome"
        thread.start()
    }

    /// Stops the thread and waits for it. Call once.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }
}
