public import Logging
public import RelayCore
import RelayTransport

/// Receives the added latency of every delivery of a load run. Called on the load loop's thread
/// while the run lasts; read it once `run` has returned.
public protocol LoadLatencySink: AnyObject, Sendable {
    func record(nanoseconds: UInt64)
}

/// Many simulated participants on one client loop, for measuring the relay's audio path.
///
/// Unlike `ClientLoop`, nothing here is async per connection: one `TransportHandler` drives every
/// connection from callbacks on a single libwebsockets thread, and a 1 ms tick sends what is due,
/// so thousands of connections at 50 packets a second cost one thread.
/// Use in order: `setUp`, `run` (as often as wanted), `endSessions`, `shutdown`.
public final class LoadGenerator: Sendable {
    private let loop: ServiceLoop
    private let driver: LoadDriver

    /// - Parameters:
    ///   - tokens: signs a token for an identity (the relay's secret is the caller's business).
    ///   - latencies: where each delivery's latency goes.
    ///   - progress: called about once a second while sending, with the counts so far.
    public init(
        plan: LoadPlan, tokens: @escaping @Sendable (Identity) -> String, latencies: (any LoadLatencySink)? = nil,
        progress: (@Sendable (LoadTally) -> Void)? = nil, logger: Logger = Logger(label: "windowrelay.load")
    ) throws(LoadError) {
        guard plan.sessions > 0 else { throw .badPlan("at least one session") }
        guard plan.parties == 2 || plan.parties == 3 else { throw .badPlan("parties must be 2 or 3") }
        guard !plan.packets.isEmpty, plan.packets.allSatisfy({ (1...1275).contains($0.count) }) else {
            throw .badPlan("packets must be 1 to 1275 bytes each, and at least one")
        }
        guard plan.seconds > 0, plan.drainSeconds >= 0, plan.setupConcurrency > 0 else {
            throw .badPlan("seconds, drain and set-up concurrency must be positive")
        }
        switch plan.pace {
        case .paced(let rate) where rate <= 0 || rate > 1000: throw .badPlan("rate must be 0 to 1000 packets a second")
        case .flood(let inFlight) where inFlight < 1: throw .badPlan("in-flight must be at least 1")
        default: break
        }
        // The client's queue holds only its own outgoing packets; a large bound never drops them.
        let limits = ConnectionLimits(maxMessageBytes: 1 << 20, sendQueueBytes: 64 << 20, mediaBudgetBytes: 64 << 20)
        loop = ServiceLoop(listen: nil, limits: limits, tickMillis: 1, logger: logger)
        driver = LoadDriver(plan: plan, loop: loop, tokens: tokens, latencies: latencies, progress: progress)
        do {
            _ = try loop.start(handler: driver)
        } catch {
            throw .transport("\(error)")
        }
    }

    /// Connects every party and brings every session to all parties speaking on open tracks.
    /// - Returns: the number of open connections.
    public func setUp(timeout seconds: Double = 120) async throws(LoadError) -> Int {
        let driver = self.driver
        let result: Result<Int, LoadError> = await withCheckedContinuation { done in
            loop.execute { driver.beginSetUp(timeoutSeconds: seconds, done: done) }
        }
        return try result.get()
    }

    /// Sends for the plan's seconds, then waits up to its drain seconds for what is still under
    /// way (or until every delivery arrived), and returns the counts.
    public func run() async -> LoadTally {
        let driver = self.driver
        return await withCheckedContinuation { done in
            loop.execute { driver.beginRun(done: done) }
        }
    }

    /// Ends every session (`session.end`, outcome completed; the relay finalises the recordings)
    /// and closes the connections. - Returns: how many sessions confirmed their end.
    public func endSessions(timeout seconds: Double = 60) async -> Int {
        let driver = self.driver
        return await withCheckedContinuation { done in
            loop.execute { driver.beginEnding(timeoutSeconds: seconds, done: done) }
        }
    }

    /// Stops the loop; connections still open are dropped.
    public func shutdown() {
        loop.stop()
    }
}
