import ArgumentParser
import Foundation
import Histogram
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import RelayTransport

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load generators that measure a running relay.",
        subcommands: [BenchEvents.self, BenchAudio.self, BenchIdle.self]
    )
}

/// Durable events through the whole path: request → core → group commit → broadcast → `ok`.
struct BenchEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Chat events through the durable path: events/s and request-to-ok latency.",
        discussion: """
            Opens --sessions two-party sessions (a clerk of --from-unit queues for --to-unit, an approver
            accepts), then every clerk sends chat messages closed-loop (one outstanding each) for
            --duration seconds. Each chat is one session event, committed before its `ok`.
            Tokens are signed with the secret of --config, which must be the relay's.
            """
    )

    @Option(help: "The relay's host.") var host = "127.0.0.1"
    @Option(help: "The relay's port.") var port: Int
    @Option(help: "Concurrent sessions (each with one outstanding request).") var sessions = 50
    @Option(help: "Seconds of load.") var duration = 10.0
    @Option(help: "Unit of the clerks.") var fromUnit = "qd-xihaian"
    @Option(help: "Unit of the approvers.") var toUnit = "cd-gaoxin"
    @Option(help: "A service both units handle.") var service = "social-insurance-transfer"
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try RelayConfiguration.load(path: options.config, environment: ProcessInfo.processInfo.environment)
        let authority = TokenAuthority(secret: try configuration.loadSecret())
        let loop = try ClientLoop()
        defer { loop.shutdown() }
        let endpoint = ClientEndpoint(host: host, port: port)
        let run = UUID().uuidString.prefix(8)
        func hello(_ sub: String, _ role: Role, _ unit: String) async throws -> ClientConnection {
            let c = try await loop.connect(endpoint)
            let now = Int64(Date().timeIntervalSince1970)
            let token = authority.sign(TokenClaims(sub: sub, role: role, unit: unit, exp: now + 3600, iat: now))
            let reply = try await c.request(["type": "hello", "id": "h", "token": .string(token)], timeout: 30)
            guard reply["type"] == "ok" else { throw Failure("hello refused: \(reply)") }
            return c
        }
        var pairs: [(ClientConnection, ClientConnection, String)] = []
        for i in 0..<sessions {
            let clerk = try await hello("bench-\(run)-c\(i)", .clerk, fromUnit)
            let approver = try await hello("bench-\(run)-a\(i)", .approver, toUnit)
            let created = try await clerk.request(
                ["type": "session.create", "id": "c", "service": .string(service), "toUnit": .string(toUnit)], timeout: 30)
            guard let sid = created["result"]?["session"]?["id"]?.stringValue else { throw Failure("create: \(created)") }
            let accepted = try await approver.request(["type": "session.accept", "id": "a", "sessionId": .string(sid)], timeout: 30)
            guard accepted["type"] == "ok" else { throw Failure("accept: \(accepted)") }
            pairs.append((clerk, approver, sid))
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(duration * 1000))
        let started = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (Histogram<UInt64>, Int).self) { group in
            for (clerk, approver, sid) in pairs {
                group.addTask {
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000)
                    var n = 0
                    while ContinuousClock.now < deadline {
                        let t0 = ContinuousClock.now
                        let reply = try await clerk.request(
                            ["type": "chat.send", "id": .string("m\(n)"), "sessionId": .string(sid), "text": "bench message"],
                            timeout: 30)
                        guard reply["type"] == "ok" else { throw Failure("chat: \(reply)") }
                        let d = ContinuousClock.now - t0
                        _ = histogram.record(UInt64(d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000))
                        n += 1
                    }
                    return (histogram, n)
                }
                group.addTask {
                    // The approver receives every chat: drain it so its inbox stays small.
                    var received = 0
                    while ContinuousClock.now < deadline {
                        if (try? await approver.nextJSON(timeout: 0.5))?["type"] == "chat" { received += 1 }
                    }
                    return (Histogram<UInt64>(highestTrackableValue: 60_000_000), 0)
                }
            }
            var total = Histogram<UInt64>(highestTrackableValue: 60_000_000)
            var count = 0
            for try await (h, n) in group {
                total.add(h)
                count += n
            }
            return (total, count)
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let (histogram, count) = results
        print("sessions \(sessions), duration \(String(format: "%.1f", seconds)) s")
        print("durable events: \(count) (\(String(format: "%.0f", Double(count) / seconds))/s)")
        print("request→ok µs: p50 \(histogram.valueAtPercentile(50)), p99 \(histogram.valueAtPercentile(99)), "
              + "p99.9 \(histogram.valueAtPercentile(99.9)), max \(histogram.max)")
    }
}
