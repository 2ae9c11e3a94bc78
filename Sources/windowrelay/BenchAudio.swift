import ArgumentParser
import Foundation
import Histogram
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import RelayTransport
import Synchronization

/// Opus audio through the short path: deliveries/s, added latency, loss, and the server's cost.
struct BenchAudio: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Opus audio through the relay: deliveries/s, added latency, loss and server CPU per delivery.",
        discussion: """
            Opens --sessions sessions of --parties participants (a clerk of --from-unit, an approver of
            --to-unit who accepts, and with 3 parties an applicant who joins with a session token); every
            participant opens an audio track and sends real Opus packets (encoded once at --bitrate and
            cycled). Paced (default): every speaker sends --rate packets a second on a shared schedule for
            --duration seconds. --flood: every speaker keeps --in-flight packets undelivered instead.
            After the last send the run waits for late deliveries until none has come for --drain seconds,
            then counts every packet the relay owed (each to every other participant) and did not deliver
            as lost inside the server.
            Latency is receive time minus send time, both on this process's monotonic clock (it includes
            the generator's own queueing). With --server-pid, the relay's CPU time (utime + stime from
            /proc) over the run is divided by the deliveries, and its VmRSS is read before and after.
            Tokens are signed with the secret of --config, which must be the relay's. All sessions are
            ended (outcome completed) at the end. One process, one client thread: pin it with taskset.
            --target c-relay measures bench/c-relay instead (each party connects to /room/<session>, no
            protocol set-up); --target lws-mirror measures libwebsockets-test-server's lws-mirror-protocol
            (sessions share its 3 rooms, every member gets every packet, its own included, as text).
            """
    )

    @Option(help: "The relay's host.") var host = "127.0.0.1"
    @Option(help: "The relay's port.") var port: Int
    @Option(help: "Concurrent sessions.") var sessions = 100
    @Option(help: "Participants per session, all speaking: 2 or 3.") var parties = 2
    @Option(help: "Packets a second per speaker (paced runs).") var rate = 50.0
    @Option(help: "Seconds of sending.") var duration = 30.0
    @Option(help: "After the last send, seconds with no delivery before what is missing counts as lost.")
    var drain = 3.0
    @Flag(help: "Closed loop: every speaker keeps --in-flight packets undelivered (finds the ceiling).")
    var flood = false
    @Option(help: "Packets each speaker keeps undelivered with --flood.") var inFlight = 4
    @Option(help: "Process id of the relay, to charge its CPU time and memory to the run (Linux /proc).")
    var serverPid: Int32?
    @Option(help: "Opus bitrate of the packets (bits/s); 32000 gives about 80-byte packets.") var bitrate = 32_000
    @Option(help: "Client loops (threads) to share the sessions over; each poll() then watches fewer sockets.")
    var loops = 1
    @Option(help: "Sessions being set up at once.") var setupConcurrency = 50
    @Option(help: "Seconds allowed for setting every session up.") var setupTimeout = 300.0
    @Option(help: "Unit of the clerks.") var fromUnit = "qd-xihaian"
    @Option(help: "Unit of the approvers.") var toUnit = "cd-gaoxin"
    @Option(help: "A service both units handle.") var service = "social-insurance-transfer"
    @Flag(help: "Print counts every second while sending.") var progress = false
    @Option(help: "The server measured: windowrelay, c-relay or lws-mirror.", transform: Self.target)
    var target = LoadTarget.windowrelay
    @Option(help: "Append the figures as one JSON line to this file.") var json: String?
    @Option(help: "A name for this run in the JSON line.") var label: String?
    @OptionGroup var options: ConfigOption

    func run() async throws {
        // Only the relay checks tokens; the reference servers need no configuration.
        let authority: TokenAuthority? =
            target == .windowrelay
            ? TokenAuthority(
                secret: try RelayConfiguration.load(
                    path: options.config,
                    environment: ProcessInfo.processInfo.environment
                ).loadSecret()
            ) : nil
        let packets = try Self.opusPackets(bitrate: bitrate)
        let sizes = packets.map(\.count)
        let pace: LoadPlan.Pace = flood ? .flood(inFlight: inFlight) : .paced(packetsPerSecond: rate)
        let plan = LoadPlan(
            endpoint: ClientEndpoint(host: host, port: port),
            sessions: sessions,
            parties: parties,
            pace: pace,
            seconds: duration,
            drainSeconds: drain,
            service: service,
            fromUnit: fromUnit,
            toUnit: toUnit,
            runTag: String(UUID().uuidString.prefix(8)).lowercased(),
            setupConcurrency: setupConcurrency,
            packets: packets,
            target: target
        )
        let title =
            "audio (\(target.rawValue)): \(sessions) sessions × \(parties) parties, "
            + (flood ? "flood, \(inFlight) in flight per speaker" : "\(Self.number(rate)) packets/s per speaker")
            + ", \(Self.number(duration)) s; Opus \(sizes.min()!)–\(sizes.max()!) bytes "
            + "(mean \(sizes.reduce(0, +) / sizes.count)) at \(bitrate / 1000) kbit/s"

        let serverBefore = try serverPid.map { pid in try ProcessSample.read(pid: pid) }
        let histogram = LatencyHistogram()
        let sign: @Sendable (Identity) -> String = { identity in
            guard let authority else { return "" }
            let now = Int64(Date().timeIntervalSince1970)
            return authority.sign(
                TokenClaims(
                    sub: identity.sub,
                    role: identity.role,
                    unit: identity.unit,
                    sid: identity.sessionScope,
                    exp: now + 86_400,
                    iat: now
                )
            )
        }
        let report: (@Sendable (LoadTally) -> Void)? = progress ? Self.noteProgress : nil
        let generator = try LoadGenerator(
            plan: plan,
            loops: loops,
            tokens: sign,
            latencies: histogram,
            progress: report
        )
        defer { generator.shutdown() }

        let setupStarted = ContinuousClock.now
        let connections = try await generator.setUp(timeout: setupTimeout)
        Self.note("\(sessions) sessions ready, \(connections) connections, in \(ContinuousClock.now - setupStarted)")

        let serverAtStart = try serverPid.map { pid in try ProcessSample.read(pid: pid) }
        let selfAtStart = try ProcessSample.read(pid: nil)
        let tally = await generator.run()
        let selfAtEnd = try ProcessSample.read(pid: nil)
        let serverAtEnd = try serverPid.map { pid in try ProcessSample.read(pid: pid) }

        var usage: ServerUsage?
        if let serverBefore, let serverAtStart, let serverAtEnd {
            usage = ServerUsage(
                cpuSeconds: serverAtEnd.cpuSeconds(since: serverAtStart),
                rssBeforeBytes: serverBefore.residentBytes,
                rssAfterBytes: serverAtEnd.residentBytes,
                connections: connections,
                threadCPUSeconds: serverAtEnd.threadCPUSeconds(since: serverAtStart)
            )
        }
        let figures = LoadReport(
            title: title,
            tally: tally,
            latency: histogram.summary,
            server: usage,
            generatorCPUSeconds: selfAtEnd.cpuSeconds(since: selfAtStart)
        )
        for line in figures.lines { print(line) }
        if let json {
            let run: [String: JSONValue] = [
                "label": JSONValue(label), "target": .string(target.rawValue), "sessions": JSONValue(sessions),
                "parties": JSONValue(parties), "pace": flood ? "flood" : "paced", "rate": .number(rate),
                "inFlight": JSONValue(inFlight), "duration": .number(duration),
                "connections": JSONValue(connections), "packetBytesMean": JSONValue(sizes.reduce(0, +) / sizes.count),
            ]
            try Self.append(line: figures.json(run: run).canonicalText, to: json)
        }

        let ended = await generator.endSessions()
        if target == .windowrelay { Self.note("\(ended) of \(sessions) sessions ended") }
        if tally.lost > 0 || tally.connectionsClosed > 0 { throw ExitCode(2) }
    }

    /// Three seconds of speech-like sound (two tones under noise that swells and fades) as 20 ms
    /// Opus packets: realistic sizes, and every one passes the relay's libopus check.
    static func opusPackets(bitrate: Int) throws -> [[UInt8]] {
        let encoder = try OpusEncoder(bitrate: bitrate)
        var noise: UInt32 = 0x1234_5678
        return try (0..<150).map { frame in
            let base = frame * OpusEncoder.frameSamples
            let pcm = (0..<OpusEncoder.frameSamples).map { i -> Int16 in
                let t = Double(base + i) / 48_000
                noise = noise &* 1_664_525 &+ 1_013_904_223
                let white = Double(Int32(bitPattern: noise)) / Double(Int32.max)
                let envelope = 0.55 + 0.45 * sin(2 * Double.pi * 3 * t)
                let voice = 0.25 * sin(2 * Double.pi * 180 * t) + 0.12 * sin(2 * Double.pi * 720 * t)
                return Int16(clamping: Int(((voice + 0.08 * white) * envelope * 32767).rounded()))
            }
            return try encoder.encode(pcm: pcm)
        }
    }

    static func target(_ name: String) throws -> LoadTarget {
        guard let target = LoadTarget(rawValue: name) else {
            throw ValidationError("--target must be one of: \(LoadTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }

    static func append(line: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw Failure("cannot create \(path): does its folder exist?")
            }
        }
        guard let file = FileHandle(forWritingAtPath: path) else { throw Failure("cannot write \(path)") }
        defer { try? file.close() }
        try file.seekToEnd()
        try file.write(contentsOf: Data((line + "\n").utf8))
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    @Sendable static func noteProgress(_ t: LoadTally) {
        note(String(format: "%5.1f s: sent %d, delivered %d", t.sendingSeconds, t.sent, t.delivered))
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// The run's latencies in an HdrHistogram (ns, 3 significant digits, up to a minute).
final class LatencyHistogram: LoadLatencySink {
    private let histogram = Mutex(Histogram<UInt64>(highestTrackableValue: 60_000_000_000))

    func record(nanoseconds: UInt64) {
        histogram.withLock { _ = $0.record(min(nanoseconds, 60_000_000_000)) }
    }

    var summary: LatencySummary {
        histogram.withLock { h in
            LatencySummary(
                count: h.totalCount,
                p50: h.valueAtPercentile(50),
                p99: h.valueAtPercentile(99),
                p999: h.valueAtPercentile(99.9),
                max: h.max
            )
        }
    }
}
