import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import RelayTransport
import Synchronization
import Testing

/// Counts the latencies a load run reports.
final class LatencyCount: LoadLatencySink {
    private let state = Mutex<(count: Int, max: UInt64)>((0, 0))
    func record(nanoseconds: UInt64) { state.withLock { $0 = ($0.count + 1, Swift.max($0.max, nanoseconds)) } }
    var count: Int { state.withLock { $0.count } }
}

@Suite("The audio load generator (windowrelay bench audio)")
struct BenchSmokeTests {
    static func plan(
        _ relay: TestRelay,
        sessions: Int,
        parties: Int = 2,
        pace: LoadPlan.Pace,
        seconds: Double
    ) throws
        -> LoadPlan
    {
        let encoder = try OpusEncoder(bitrate: 32_000)
        let packets = try (0..<25).map { i in
            try encoder.encode(pcm: OpusEncoder.sine(frequency: 300, amplitude: 0.3, count: 960, start: i * 960))
        }
        return LoadPlan(
            endpoint: ClientEndpoint(host: "127.0.0.1", port: relay.port),
            sessions: sessions,
            parties: parties,
            pace: pace,
            seconds: seconds,
            drainSeconds: 3,
            runTag: "smoke",
            packets: packets
        )
    }

    static func generator(
        _ relay: TestRelay,
        _ plan: LoadPlan,
        _ sink: LatencyCount,
        loops: Int = 1
    ) throws
        -> LoadGenerator
    {
        try LoadGenerator(
            plan: plan,
            loops: loops,
            tokens: { relay.token($0.sub, $0.role, unit: $0.unit, session: $0.sessionScope) },
            latencies: sink
        )
    }

    /// On each event backend (`listen.eventLoop`): a whole session (hello, create, accept, audio) works on both.
    @Test(arguments: EventBackend.allCases)
    func pacedSessionsDeliverEveryPacketAndCountIt(backend: EventBackend) async throws {
        let relay = try TestRelay { $0.listen.eventLoop = backend }
        let sink = LatencyCount()
        let load = try Self.generator(
            relay,
            try Self.plan(relay, sessions: 3, pace: .paced(packetsPerSecond: 50), seconds: 2),
            sink
        )
        defer { load.shutdown() }
        #expect(try await load.setUp(timeout: 30) == 6)
        let tally = await load.run()
        // 6 speakers × 50/s × 2 s, each packet owed to the one other party.
        #expect(tally.sent == 600)
        #expect(tally.expected == 600)
        #expect(tally.delivered > 0)
        #expect(tally.lost == 0)
        #expect(tally.unmatched == 0)
        #expect(tally.connectionsClosed == 0)
        #expect(sink.count == tally.delivered)
        #expect(await load.endSessions(timeout: 30) == 3)
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("windowrelay_audio_packets_total{result=\"forwarded\"} 600"))
    }

    @Test func threePartySessionsOweEachPacketToTwoReceivers() async throws {
        let relay = try TestRelay()
        let sink = LatencyCount()
        let plan = try Self.plan(relay, sessions: 2, parties: 3, pace: .paced(packetsPerSecond: 25), seconds: 1)
        let load = try Self.generator(relay, plan, sink)
        defer { load.shutdown() }
        #expect(try await load.setUp(timeout: 30) == 6)
        let tally = await load.run()
        #expect(tally.sent == 150)
        #expect(tally.receiversPerPacket == 2)
        #expect(tally.delivered == 300)
        #expect(tally.lost == 0)
    }

    @Test func sessionsSharedOverSeveralLoopsAreCountedOnce() async throws {
        let relay = try TestRelay()
        let sink = LatencyCount()
        let plan = try Self.plan(relay, sessions: 5, pace: .paced(packetsPerSecond: 20), seconds: 1)
        let load = try Self.generator(relay, plan, sink, loops: 2)
        defer { load.shutdown() }
        #expect(try await load.setUp(timeout: 30) == 10)
        let tally = await load.run()
        #expect(tally.sent == 200)
        #expect(tally.delivered == 200)
        #expect(sink.count == 200)
        // A second run counts afresh.
        let again = await load.run()
        #expect(again.sent == 200)
        #expect(again.lost == 0)
        #expect(await load.endSessions(timeout: 30) == 5)
    }

    @Test func aFloodKeepsPacketsInFlightAndLosesNone() async throws {
        // A flood goes past the default 400 messages a second of one connection.
        let relay = try TestRelay { $0.limits.messagesPerSecond = 1_000_000 }
        let sink = LatencyCount()
        let load = try Self.generator(
            relay,
            try Self.plan(relay, sessions: 1, pace: .flood(inFlight: 2), seconds: 1),
            sink
        )
        defer { load.shutdown() }
        _ = try await load.setUp(timeout: 30)
        let tally = await load.run()
        #expect(tally.delivered > 0)
        #expect(tally.lost == 0)
        #expect(tally.stalls == 0)
        #expect(tally.serverErrors == 0)
    }

    @Test func aRefusedSetUpSaysWhichSessionAndWhy() async throws {
        let relay = try TestRelay()
        var plan = try Self.plan(relay, sessions: 1, pace: .paced(packetsPerSecond: 50), seconds: 1)
        plan.toUnit = "no-such-unit"
        let load = try Self.generator(relay, plan, LatencyCount())
        defer { load.shutdown() }
        await #expect(throws: LoadError.self) { try await load.setUp(timeout: 30) }
    }

    @Test func aBadPlanIsRefusedBeforeConnecting() throws {
        let relay = try TestRelay()
        var plan = try Self.plan(relay, sessions: 1, pace: .paced(packetsPerSecond: 50), seconds: 1)
        plan.parties = 4
        #expect(throws: LoadError.badPlan("parties must be 2 or 3")) {
            _ = try Self.generator(relay, plan, LatencyCount())
        }
    }
}

@Suite("Load statistics: loss, percentiles, /proc")
struct LoadStatisticsTests {
    @Test func lossIsWhatTheServerOwedMinusWhatArrived() {
        var tally = LoadTally(sent: 1_000, receiversPerPacket: 2, delivered: 1_990)
        #expect(tally.expected == 2_000)
        #expect(tally.lost == 10)
        #expect(tally.surplus == 0)
        tally.delivered = 2_003
        #expect(tally.lost == 0)
        #expect(tally.surplus == 3)
        tally.sendingSeconds = 2
        #expect(tally.deliveriesPerSecond == 1_001.5)
    }

    @Test func durationsAreFormattedForPeople() {
        #expect(LatencySummary.format(412_300) == "412 µs")
        #expect(LatencySummary.format(1_834_000) == "1.83 ms")
        #expect(LatencySummary.format(12_420_000) == "12.4 ms")
        #expect(LatencySummary.format(250_000_000) == "250 ms")
        #expect(LatencySummary.format(2_500_000_000) == "2.50 s")
        let summary = LatencySummary(count: 10, p50: 412_300, p99: 1_834_000, p999: 2_100_000, max: 12_420_000)
        #expect(summary.formatted == "p50 412 µs, p99 1.83 ms, p99.9 2.10 ms, max 12.4 ms")
        #expect(LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0).formatted == "no deliveries")
    }

    @Test func theReportChargesServerCPUToDeliveries() {
        var tally = LoadTally(sent: 50_000, receiversPerPacket: 1, delivered: 50_000)
        tally.sendingSeconds = 10
        tally.measuredSeconds = 10
        let server = ServerUsage(cpuSeconds: 2.5, rssBeforeBytes: 10 << 20, rssAfterBytes: 30 << 20, connections: 1_000)
        let report = LoadReport(
            title: "t",
            tally: tally,
            latency: LatencySummary(count: 1, p50: 1, p99: 1, p999: 1, max: 1),
            server: server
        )
        #expect(report.serverMicrosPerDelivery == 50)
        #expect(report.lines.contains("sent 50000 packets in 10.0 s, delivered 50000 of 50000 (5000 deliveries/s)"))
        #expect(report.lines.contains("lost inside the server: 0"))
        #expect(report.lines.contains("server CPU: 2.50 s over 10.0 s (25 % of a core), 50.00 µs per delivery"))
        #expect(report.lines.contains("server RSS: 10.0 MiB before, 30.0 MiB after; 20.5 KiB per connection (1000)"))
        #expect(!report.lines.contains { $0.hasPrefix("server threads") })  // none sampled
    }

    @Test func theReportSplitsServerCPUByThreadBusiestFirst() {
        var tally = LoadTally(sent: 50_000, receiversPerPacket: 1, delivered: 50_000)
        tally.measuredSeconds = 10
        let server = ServerUsage(
            cpuSeconds: 2.5, rssBeforeBytes: 0, rssAfterBytes: 0, connections: 2,
            threadCPUSeconds: ["wr-recorder": 0.5, "wr-service": 2.0, "wr-store": 0.0])
        let report = LoadReport(
            title: "t", tally: tally, latency: LatencySummary(count: 1, p50: 1, p99: 1, p999: 1, max: 1), server: server)
        #expect(
            report.lines.contains(
                "server threads: wr-service 2.00 s (40.00 µs per delivery), wr-recorder 0.50 s (10.00 µs per delivery)"))
        let json = report.json(run: [:])
        #expect(json["server"]?["threadCPUSeconds"]?["wr-service"]?.doubleValue == 2.0)
        #expect(json["server"]?["threadCPUSeconds"]?["wr-store"]?.doubleValue == 0.0)
    }

    @Test func threadCPUIsChargedByNameBetweenTwoSamples() {
        let before = ProcessSample(cpuTicks: 100, residentBytes: 0, threadTicks: ["wr-service": 60, "wr-recorder": 30, "gone": 10])
        let after = ProcessSample(cpuTicks: 250, residentBytes: 0, threadTicks: ["wr-service": 180, "wr-recorder": 50, "new": 5])
        let perSecond = Double(ProcessSample.ticksPerSecond)
        #expect(
            after.threadCPUSeconds(since: before) == ["wr-service": 120 / perSecond, "wr-recorder": 20 / perSecond])
        #expect(ProcessSample.commandName(stat: "4242 (wind relay) x) S 1") == "wind relay) x")
        #expect(ProcessSample.commandName(stat: "4242 wr-service S 1") == nil)
    }

    @Test func procStatIsReadAfterTheCommandName() throws {
        // A real line of /proc/PID/stat, with a command name holding a space and a parenthesis.
        let line =
            "4242 (wind relay) x) S 1 4242 4242 0 -1 4194560 1523 0 0 0 731 219 0 0 20 0 3 0 "
            + "123456 812345344 5120 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 0 0 0 0 0 0\n"
        let times = try ProcessSample.parseStat(line)
        #expect(times.user == 731)
        #expect(times.system == 219)
        #expect(throws: ProcessSample.Failure.self) { try ProcessSample.parseStat("4242 (cut") }
        #expect(throws: ProcessSample.Failure.self) { try ProcessSample.parseStat("1 (a) S 1 2") }
    }

    @Test func vmRSSIsReadInKilobytes() {
        let status = "Name:\twindowrelay\nVmPeak:\t  900000 kB\nVmRSS:\t   20480 kB\nThreads:\t4\n"
        #expect(ProcessSample.parseResidentBytes(status: status) == 20_971_520)
        #expect(ProcessSample.parseResidentBytes(status: "Name:\tx\n") == nil)
    }

    @Test func thisProcessCanBeSampled() throws {
        let sample = try ProcessSample.read(pid: nil)
        #expect(sample.residentBytes > 0)
        #expect(!sample.threadTicks.isEmpty)  // at least this thread's name
        #expect(ProcessSample.ticksPerSecond > 0)
        #expect(throws: ProcessSample.Failure.self) { try ProcessSample.read(pid: Int32.max) }
    }
}

@Suite("Load session set-up, step by step")
struct LoadSessionSetupTests {
    @Test func twoPartiesGoFromHelloToTracks() {
        var setup = LoadSessionSetup(parties: 2, service: "svc", toUnit: "cd-gaoxin")
        #expect(setup.handle(.start) == [.connect(.clerk), .connect(.approver)])
        #expect(setup.handle(.opened(.approver)) == [.hello(.approver, sessionId: nil)])
        #expect(setup.handle(.replied(.approver, id: "h", reply: ["type": "ok", "id": "h"])) == [])
        let create = setup.handle(.replied(.clerk, id: "h", reply: ["type": "ok", "id": "h"]))
        #expect(
            create == [.send(.clerk, ["type": "session.create", "id": "c", "service": "svc", "toUnit": "cd-gaoxin"])]
        )
        let created: JSONValue = ["type": "ok", "id": "c", "result": ["session": ["id": "s_1"]]]
        #expect(
            setup.handle(.replied(.clerk, id: "c", reply: created))
                == [.send(.approver, ["type": "session.accept", "id": "a", "sessionId": "s_1"])]
        )
        let open = setup.handle(.replied(.approver, id: "a", reply: ["type": "ok", "id": "a"]))
        #expect(open.count == 2)
        #expect(setup.handle(.replied(.approver, id: "o", reply: ["type": "ok", "result": ["track": 1]])) == [])
        #expect(
            setup.handle(.replied(.clerk, id: "o", reply: ["type": "ok", "result": ["track": 2]]))
                == [.ready(sessionId: "s_1", tracks: [2, 1])]
        )
    }

    @Test func aThirdPartyJoinsWithAScopedTokenAfterTheAccept() {
        var setup = LoadSessionSetup(parties: 3, service: "svc", toUnit: "u")
        _ = setup.handle(.replied(.approver, id: "h", reply: ["type": "ok"]))
        _ = setup.handle(.replied(.clerk, id: "c", reply: ["type": "ok", "result": ["session": ["id": "s_9"]]]))
        #expect(setup.handle(.replied(.approver, id: "a", reply: ["type": "ok"])) == [.connect(.applicant)])
        #expect(setup.handle(.opened(.applicant)) == [.hello(.applicant, sessionId: "s_9")])
        #expect(
            setup.handle(.replied(.applicant, id: "h", reply: ["type": "ok"]))
                == [.send(.applicant, ["type": "session.join", "id": "j", "sessionId": "s_9"])]
        )
        #expect(setup.handle(.replied(.applicant, id: "j", reply: ["type": "ok"])).count == 3)
    }

    @Test func aRefusalFailsTheSessionOnce() {
        var setup = LoadSessionSetup(parties: 2, service: "svc", toUnit: "u")
        let refused: JSONValue = ["type": "error", "id": "c", "code": "forbidden", "message": "not your unit"]
        #expect(
            setup.handle(.replied(.clerk, id: "c", reply: refused)) == [.fail("clerk request c refused: not your unit")]
        )
        #expect(setup.handle(.opened(.clerk)) == [])
    }
}
