import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The built `windowrelay` executable run as a child process (`serve` on a config of its own), for what an
/// in-process relay cannot show: a `kill -9` and a restart on the same data folder, and the CLI.
final class ChildRelay: Sendable {
    let process: Process
    let port: Int
    private let output: OutputCollector

    /// The `windowrelay` executable built beside the test bundle, or `$WINDOWRELAY_BIN`; nil when neither exists.
    static let executable: URL? = {
        var candidates: [URL] = []
        if let bin = ProcessInfo.processInfo.environment["WINDOWRELAY_BIN"], !bin.isEmpty {
            candidates.append(URL(fileURLWithPath: bin))
        }
        // `swift test` runs `<bin path>/windowrelayPackageTests.xctest`; the executable is its sibling.
        let starts: [String?] = [CommandLine.arguments.first, Bundle.main.executablePath, Bundle.main.bundlePath]
        for start in starts {
            guard let start, !start.isEmpty else { continue }
            var dir = URL(fileURLWithPath: start).deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(dir.appendingPathComponent("windowrelay"))
                dir = dir.deletingLastPathComponent()
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) && !isDirectory($0) }
    }()

    private static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }

    /// Writes a configuration for a child relay on 127.0.0.1, port 0, with `dataDir`; returns its path.
    static func writeConfiguration(
        in directory: String,
        dataDir: String,
        extra: [String: [String: String]] = [:]
    ) throws
        -> String
    {
        var sections: [String: [String: String]] = [
            "listen": ["host": "127.0.0.1", "port": "0"],
            "storage": ["dataDir": dataDir],
            "log": ["level": "warning"],
            "sessions": ["helloTimeoutSeconds": "120"],
        ]
        for (section, values) in extra { sections[section, default: [:]].merge(values) { $1 } }
        let catalog = TestRelay.repoRoot.appendingPathComponent("config/catalog.yaml").path
        var text = "# Written by ChildRelay\ncatalog: \(quoted(catalog))\n"
        for (section, values) in sections.sorted(by: { $0.key < $1.key }) {
            text += "\(section):\n"
            for (key, value) in values.sorted(by: { $0.key < $1.key }) { text += "  \(key): \(quoted(value))\n" }
        }
        let path = URL(fileURLWithPath: directory).appendingPathComponent("relay.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static func quoted(_ value: String) -> String {
        Int(value) != nil ? value : "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// The environment of every child: the test secret, so that `TestRelay.token` signs for it.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["WINDOWRELAY_SECRET"] = TestRelay.secret
        return environment
    }

    /// Starts `windowrelay serve --config <configPath>` and waits for its `listening on` line.
    init(executable: URL, configPath: String, timeout: Duration = .seconds(30)) async throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--config", configPath]
        process.environment = Self.environment
        process.currentDirectoryURL = TestRelay.repoRoot
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let output = OutputCollector(stdout.fileHandleForReading)
        try process.run()
        self.process = process
        self.output = output
        let deadline = ContinuousClock.now + timeout
        while true {
            if let port = output.listeningPort {
                self.port = port
                return
            }
            if !process.isRunning || ContinuousClock.now > deadline {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw TestFailure("windowrelay printed no 'listening on' line; it printed: \(output.text)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// `kill -9`: no shutdown, no flush; waits until it is gone.
    func crash() async throws {
        kill(process.processIdentifier, SIGKILL)
        try await exited()
    }

    /// SIGTERM, the graceful stop; returns the exit status.
    @discardableResult
    func stop() async throws -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        try await exited()
        return process.terminationStatus
    }

    private func exited(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw TestFailure("windowrelay did not exit") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Runs the executable with `arguments` to its end; returns its status and outputs.
    static func run(
        _ executable: URL,
        _ arguments: [String]
    ) async throws
        -> (status: Int32, stdout: String, stderr: String)
    {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = TestRelay.repoRoot
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let out = OutputCollector(stdout.fileHandleForReading)
        let err = OutputCollector(stderr.fileHandleForReading)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning || !out.finished || !err.finished {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw TestFailure("windowrelay \(arguments.joined(separator: " ")) did not finish")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (process.terminationStatus, out.text, err.text)
    }
}

/// Reads a pipe to its end on a thread of its own, so that a chatty child never blocks on a full pipe.
private final class OutputCollector: Sendable {
    private let state = Mutex<(bytes: [UInt8], finished: Bool)>(([], false))

    init(_ handle: FileHandle) {
        Thread { [self] in read(handle) }.start()
    }

    private func read(_ handle: FileHandle) {
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            state.withLock { $0.bytes.append(contentsOf: chunk) }
        }
        state.withLock { $0.finished = true }
    }

    var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
    var finished: Bool { state.withLock { $0.finished } }

    /// The port of the first `listening on ws://127.0.0.1:PORT` line.
    var listeningPort: Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("listening on ") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            let digits = line[line.index(after: colon)...].prefix { $0.isNumber }
            if let port = Int(digits) { return port }
        }
        return nil
    }
}
