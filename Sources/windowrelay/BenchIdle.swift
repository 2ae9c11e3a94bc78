import ArgumentParser
import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import RelayTransport

/// Idle connections after hello: what each one costs the relay in resident memory.
struct BenchIdle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Idle connections after hello: the relay's resident memory per connection.",
        discussion: """
            Opens --connections WebSockets, each saying hello as its own clerk of --unit (tokens signed
            with the secret of --config, which must be the relay's), waits --settle seconds, and reads the
            relay's VmRSS (/proc, --server-pid) before the first connection and after the last.
            The relay's limits.maxConnectionsPerIP must allow them, and both processes need file
            descriptors (ulimit -n) for every connection.
            """
    )

    @Option(help: "The relay's host.") var host = "127.0.0.1"
    @Option(help: "The relay's port.") var port: Int
    @Option(help: "Connections to open and keep idle.") var connections = 5_000
    @Option(help: "Connections being opened at once.") var concurrency = 100
    @Option(help: "Seconds to wait after the last hello before reading the relay's memory.") var settle = 3.0
    @Option(help: "Process id of the relay (Linux /proc).") var serverPid: Int32
    @Option(help: "Unit of the clerks.") var unit = "qd-xihaian"
    @Option(help: "Append the figures as one JSON line to this file.") var json: String?
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try RelayConfiguration.load(
            path: options.config,
            environment: ProcessInfo.processInfo.environment
        )
        let authority = TokenAuthority(secret: try configuration.loadSecret())
        let loop = try ClientLoop()
        defer { loop.shutdown() }
        let endpoint = ClientEndpoint(host: host, port: port)
        let tag = String(UUID().uuidString.prefix(8)).lowercased()
        let unit = self.unit
        let before = try ProcessSample.read(pid: serverPid)
        let started = ContinuousClock.now

        let opened = try await withThrowingTaskGroup(of: ClientConnection.self) { group in
            var all: [ClientConnection] = []
            all.reserveCapacity(connections)
            for i in 0..<connections {
                if i >= concurrency, let done = try await group.next() { all.append(done) }
                group.addTask {
                    let connection = try await loop.connect(endpoint)
                    let now = Int64(Date().timeIntervalSince1970)
                    let claims = TokenClaims(sub: "idle-\(tag)-\(i)", role: .clerk, unit: unit, exp: now + 3600, iat: now)
                    let hello: JSONValue = ["type": "hello", "id": "h", "token": .string(authority.sign(claims))]
                    let reply = try await connection.request(hello, timeout: 60)
                    guard reply["type"]?.stringValue == "ok" else {
                        throw Failure("hello \(i) refused: \(reply["message"]?.stringValue ?? "\(reply)")")
                    }
                    return connection
                }
            }
            for try await done in group { all.append(done) }
            return all
        }
        let openedIn = ContinuousClock.now - started
        try await Task.sleep(for: .milliseconds(Int(settle * 1000)))
        let after = try ProcessSample.read(pid: serverPid)
        let usage = ServerUsage(
            cpuSeconds: after.cpuSeconds(since: before),
            rssBeforeBytes: before.residentBytes,
            rssAfterBytes: after.residentBytes,
            connections: opened.count
        )
        let mib = { (bytes: UInt64) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        print("idle: \(opened.count) connections after hello, opened in \(openedIn)")
        print(
            "server RSS: \(mib(usage.rssBeforeBytes)) before, \(mib(usage.rssAfterBytes)) after; "
                + String(format: "%.1f KiB per connection", usage.rssPerConnectionBytes / 1024)
        )
        if let json {
            let line: JSONValue = [
                "run": ["label": "idle", "target": "windowrelay", "connections": JSONValue(opened.count)],
                "rssBeforeBytes": .number(Double(usage.rssBeforeBytes)),
                "rssAfterBytes": .number(Double(usage.rssAfterBytes)),
                "rssPerConnectionBytes": .number(usage.rssPerConnectionBytes.rounded()),
            ]
            try BenchAudio.append(line: line.canonicalText, to: json)
        }
        for connection in opened { connection.close() }
        try await Task.sleep(for: .milliseconds(500))
    }
}
