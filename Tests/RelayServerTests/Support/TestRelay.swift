import Foundation
import Logging
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import RelayTransport

/// A real relay on 127.0.0.1, port 0, with a temporary data directory, and a client loop to drive it.
final class TestRelay: Sendable {
    static let secret = "windowrelay-test-secret-0123456789abcdef-0123456789"
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    let server: RelayServer
    let client: ClientLoop
    let port: Int
    let dataDir: String
    let tls: Bool
    let authority = TokenAuthority(secret: Array(TestRelay.secret.utf8))

    static func configuration(
        dataDir: String, tls: Bool = false, tweak: (inout RelayConfiguration) -> Void = { _ in }
    ) -> RelayConfiguration {
        var c = RelayConfiguration()
        c.listen.host = "127.0.0.1"
        c.listen.port = 0
        c.storage.dataDir = dataDir
        c.catalog = repoRoot.appendingPathComponent("config/catalog.yaml").path
        c.auth.secretFromEnvironment = secret
        c.log.level = .warning
        // Tests run in parallel on a small cooperative pool that their blocking set-up (stores, loops) can hold
        // for seconds on a busy machine: a client may say hello late. Tests of the time-out set their own.
        c.sessions.helloTimeoutSeconds = 60
        if tls {
            c.tls.cert = repoRoot.appendingPathComponent("certs/dev-server.crt").path
            c.tls.key = repoRoot.appendingPathComponent("certs/dev-server.key").path
        }
        tweak(&c)
        return c
    }

    static func temporaryDirectory() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("windowrelay-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    init(tls: Bool = false, dataDir: String? = nil, tweak: (inout RelayConfiguration) -> Void = { _ in }) throws {
        let dataDir = dataDir ?? Self.temporaryDirectory()
        self.dataDir = dataDir
        self.tls = tls
        var logger = Logger(label: "test-relay")
        logger.logLevel = .warning
        server = try RelayServer(configuration: Self.configuration(dataDir: dataDir, tls: tls, tweak: tweak), logger: logger)
        port = try server.start()
        client = try ClientLoop(trustedCAPath: Self.repoRoot.appendingPathComponent("certs/dev-ca.crt").path)
    }

    deinit {
        client.shutdown()
        server.shutdown(grace: .milliseconds(200))
    }

    func token(
        _ sub: String, _ role: Role, unit: String? = nil, session: String? = nil, name: String? = nil, ttl: Int64 = 3600
    ) -> String {
        let now = Int64(Date().timeIntervalSince1970)
        return authority.sign(TokenClaims(sub: sub, role: role, unit: unit, name: name, sid: session, exp: now + ttl, iat: now))
    }

    func connect() async throws -> ClientConnection {
        try await client.connect(ClientEndpoint(host: "127.0.0.1", port: port, tls: tls))
    }

    /// Connects and says hello; returns the connection and the hello reply.
    func join(
        _ sub: String, _ role: Role, unit: String? = nil, session: String? = nil
    ) async throws -> ClientConnection {
        let c = try await connect()
        let reply = try await c.request(["type": "hello", "id": "h", "token": .string(token(sub, role, unit: unit, session: session))])
        guard reply["type"]?.stringValue == "ok" else { throw TestFailure("hello refused: \(reply)") }
        return c
    }

    /// Plain HTTP GET over a socket (the relay serves HTTP on the same port).
    func get(_ path: String, headers: [String: String] = [:]) throws -> (status: Int, headers: [String: String], body: [UInt8]) {
        try HTTPTestClient.request(port: port, method: "GET", path: path, headers: headers)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
