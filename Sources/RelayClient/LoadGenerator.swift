public import Logging
public import RelayCore
import RelayTransport
import Synchronization

/// Receives the added latency of every delivery of a load run. Called on the load loops' threads
/// while the run lasts; read it once `run` has returned.
public protocol LoadLatencySink: AnyObject, Sendable {
    func record(nanoseconds: UInt64)
}

/// Many simulated participants on libwebsockets client loops, for measuring the relay's audio path.
///
/// Unlike `ClientLoop`, nothing here is async per connection: a `TransportHandler` drives every
/// connection of its loop from callbacks on that loop's thread, a 1 ms metronome sends what is
/// due, and thousands of connections at 50 packets a second cost one thread. With `loops` > 1 the
/// sessions are shared out over that many loops (a session stays on one loop, so matching a
/// delivery to its send time never crosses threads): each `poll` then watches fewer sockets.
/// Use in order: `setUp`, `run` (as often as wanted), `endSessions`, `shutdown`.
public final class LoadGenerator: Sendable {
    private let shards: [(loop: ServiceLoop, driver: LoadDriver)]
    private let metronome: LoadMetronome
    private let progressSum: ProgressSum?

    /// - Parameters:
    ///   - loops: client loops (threads) to share the sessions over.
    ///   - tokens: signs a token for an identity (the relay's secret is the caller's business).
    ///   - latencies: where each delivery's latency goes.
    ///   - progress: called about once a second while sending, with the counts so far.
    public init(
        plan: LoadPlan,
        loops: Int = 1,
        tokens: @escaping @Sendable (Identity) -> String,
        latencies: (any LoadLatencySink)? = nil,
        progress: (@Sendable (LoadTally) -> Void)? = nil,
        logger: Logger = Logger(label: "windowrelay.load")
    ) throws(LoadError) {
        try Self.check(plan)
        guard (1...plan.sessions).contains(loops) else { throw .badPlan("loops must be 1 to the number of sessions") }
        if let problem = plan.target.check(sessions: plan.sessions, loops: loops) { throw .badPlan(problem) }
        // The client's queue holds only its own outgoing packets; a large bound never drops them.
        let limits = ConnectionLimits(maxMessageBytes: 1 << 20, sendQueueBytes: 64 << 20, mediaBudgetBytes: 64 << 20)
        let sum = progress.map { ProgressSum(shards: loops, report: $0) }
        var shards: [(loop: ServiceLoop, driver: LoadDriver)] = []
        var first = 0
        for index in 0..<loops {
            var share = plan
            share.sessions = plan.sessions / loops + (index < plan.sessions % loops ? 1 : 0)
            share.setupConcurrency = max(1, plan.setupConcurrency / loops)
            // The loop's own tick is only a backstop: the metronome paces (see LoadMetronome).
            let loop = ServiceLoop(listen: nil, limits: limits, tickMillis: 1000, logger: logger)
            var shardProgress: (@Sendable (LoadTally) -> Void)?
            if let sum { shardProgress = { tally in sum.update(shard: index, tally) } }
            let driver = LoadDriver(
                plan: share,
                firstSession: first,
                loop: loop,
                tokens: tokens,
                latencies: latencies,
                progress: shardProgress
            )
            do {
                _ = try loop.start(handler: driver)
            } catch {
                for shard in shards { shard.loop.stop() }
                throw .transport("\(error)")
            }
            shards.append((loop, driver))
            first += share.sessions
        }
        self.shards = shards
        progressSum = sum
        metronome = LoadMetronome(
            beats: shards.map { shard in LoadMetronome.Beat(loop: shard.loop, tick: { shard.driver.pace() }) },
            intervalNanos: 1_000_000
        )
    }

    deinit {
        metronome.stop()
    }

    private static func check(_ plan: LoadPlan) throws(LoadError) {
        guard plan.sessions > 0 else { throw .badPlan("at least one session") }
        guard plan.parties == 2 || plan.parties == 3 else { throw .badPlan("parties must be 2 or 3") }
        guard !plan.packets.isEmpty, plan.packets.allSatisfy({ (1...1275).contains($0.count) }) else {
            throw .badPlan("packets must be 1 to 1275 bytes each, and at least one")
        }
        guard plan.target == .windowrelay || plan.sessions * plan.parties <= 1 << 16 else {
            throw .badPlan("at most 65,536 parties: their numbers are the track numbers")
        }
        guard plan.seconds > 0, plan.drainSeconds >= 0, plan.setupConcurrency > 0 else {
            throw .badPlan("seconds, drain and set-up concurrency must be positive")
        }
        switch plan.pace {
        case .paced(let rate) where rate <= 0 || rate > 1000: throw .badPlan("rate must be 0 to 1000 packets a second")
        case .flood(let inFlight) where inFlight < 1: throw .badPlan("in-flight must be at least 1")
        default: break
        }
    }

    /// Connects every party and brings every session to all parties speaking on open tracks.
    /// - Returns: the number of open connections.
    public func setUp(timeout seconds: Double = 120) async throws(LoadError) -> Int {
        var connections = 0
        var failure: LoadError?
        for result in await each({ driver, done in driver.beginSetUp(timeoutSeconds: seconds, done: done) }) {
            switch result {
            case .success(let n): connections += n
            case .failure(let error): failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return connections
    }

    /// Sends for the plan's seconds, then waits for what is still under way (until every delivery
    /// arrived, or none did for the plan's drain seconds), and returns the counts.
    public func run() async -> LoadTally {
        var tally = LoadTally()
        let parts = await each { driver, done in driver.beginRun(done: done) }
        tally.receiversPerPacket = parts.first?.receiversPerPacket ?? 1
        for part in parts { tally.merge(part) }
        return tally
    }

    /// Ends every session (`session.end`, outcome completed; the relay finalises the recordings)
    /// and closes the connections. - Returns: how many sessions confirmed their end.
    public func endSessions(timeout seconds: Double = 60) async -> Int {
        await each { driver, done in driver.beginEnding(timeoutSeconds: seconds, done: done) }.reduce(0, +)
    }

    /// Stops the loops; connections still open are dropped.
    public func shutdown() {
        metronome.stop()
        for shard in shards { shard.loop.stop() }
    }

    /// Starts `begin` on every loop at once and collects what each one resumes with.
    private func each<Value: Sendable>(
        _ begin: @escaping @Sendable (LoadDriver, CheckedContinuation<Value, Never>) -> Void
    ) async -> [Value] {
        await withTaskGroup(of: Value.self) { group in
            for shard in shards {
                group.addTask {
                    await withCheckedContinuation { done in shard.loop.execute { begin(shard.driver, done) } }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }
}

/// Adds up the progress of every loop: reports second n once every loop has reported it.
private final class ProgressSum: Sendable {
    private struct State {
        var parts: [(second: Int, tally: LoadTally)]
        var reported = 0
    }

    private let state: Mutex<State>
    private let report: @Sendable (LoadTally) -> Void

    init(shards: Int, report: @escaping @Sendable (LoadTally) -> Void) {
        state = Mutex(State(parts: Array(repeating: (0, LoadTally()), count: shards)))
        self.report = report
    }

    func update(shard: Int, _ tally: LoadTally) {
        let total: LoadTally? = state.withLock { state in
            state.parts[shard] = (Int(tally.sendingSeconds.rounded()), tally)
            let second = state.parts.map(\.second).min() ?? 0
            guard second > state.reported else { return nil }
            state.reported = second
            var sum = LoadTally()
            for part in state.parts { sum.merge(part.tally) }
            return sum
        }
        if let total { report(total) }
    }
}
