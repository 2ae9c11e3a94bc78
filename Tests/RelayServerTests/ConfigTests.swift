import Foundation
import Logging
import Testing

@testable import RelayServer
import RelayTransport

/// A scratch folder for one test's files.
struct Scratch {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("windowrelay-config-\(UUID().uuidString)").path

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

private func load(_ yaml: String, environment: [String: String] = [:]) throws(ConfigError) -> RelayConfiguration {
    try RelayConfiguration.load(yaml: yaml, path: "relay.yaml", environment: environment)
}

private func loadError(_ yaml: String) -> ConfigError? {
    do {
        _ = try load(yaml)
        return nil
    } catch {
        return error
    }
}

@Suite struct ConfigTests {
    @Test func emptyFileAndMissingKeysKeepDefaults() throws {
        #expect(try load("") == RelayConfiguration())
        #expect(try load("# nothing\n") == RelayConfiguration())
        let partial = try load("listen:\n  port: 9000\ntls:\n")
        var expected = RelayConfiguration()
        expected.listen.port = 9000
        #expect(partial == expected)
        #expect(partial.listen.host == "0.0.0.0")
        #expect(partial.docs.maxBytes == 50 * 1024 * 1024)
        #expect(partial.scheme == "ws")
    }

    @Test func shippedRelayYamlListsEveryKeyAtItsDefault() throws {
        let path = repositoryRoot + "/config/relay.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try RelayConfiguration.load(path: path, environment: [:]) == RelayConfiguration())
        let keys = try RelayConfiguration.entries(yaml: text, path: path).map(\.key)
        #expect(keys == RelayConfiguration.knownKeys)
    }

    @Test func fullFileSetsEveryKey() throws {
        let configuration = try load(
            """
            listen: {host: 127.0.0.1, port: 0, eventLoop: poll}
            tls:
              cert: certs/dev-server.crt
              key: certs/dev-server.key
              clientCA: certs/dev-ca.crt
            auth: {secretFile: /etc/windowrelay/secret}
            storage: {dataDir: /var/lib/windowrelay}
            catalog: /etc/windowrelay/catalog.yaml
            queue: {maxWaitSeconds: 60, maxWaitingPerUnit: 5}
            docs:
              maxBytes: 10 MiB
              allowedTypes: [application/pdf]
              chunkMax: 64KiB
              partialTtlHours: 2
            sessions: {reconnectGraceSeconds: 0, heartbeatMs: 5000, helloTimeoutSeconds: 3}
            limits:
              maxMessageBytes: 2MiB
              messagesPerSecond: 50
              bytesPerSecond: 1_048_576
              sendQueueBytes: 8MiB
              maxChatLength: 100
              maxConnectionsPerIP: 10
              maxOpenUploadsPerParticipant: 1
              maxUploadBytesPerSession: 1GiB
              maxHTTPHeaderBytes: 16KiB
            log: {level: debug, format: json}
            recording: {enabled: false}
            """
        )
        #expect(configuration.listen.host == "127.0.0.1")
        #expect(configuration.listen.port == 0)
        #expect(configuration.listen.eventLoop == .poll)
        #expect(configuration.tls.cert == "certs/dev-server.crt")
        #expect(configuration.tls.key == "certs/dev-server.key")
        #expect(configuration.tls.clientCA == "certs/dev-ca.crt")
        #expect(configuration.scheme == "wss")
        #expect(configuration.auth.secretFile == "/etc/windowrelay/secret")
        #expect(configuration.storage.dataDir == "/var/lib/windowrelay")
        #expect(configuration.catalog == "/etc/windowrelay/catalog.yaml")
        #expect(configuration.queue.maxWaitSeconds == 60)
        #expect(configuration.queue.maxWaitingPerUnit == 5)
        #expect(configuration.docs.maxBytes == 10 << 20)
        #expect(configuration.docs.allowedTypes == ["application/pdf"])
        #expect(configuration.docs.chunkMax == 64 << 10)
        #expect(configuration.docs.partialTtlHours == 2)
        #expect(configuration.sessions.reconnectGraceSeconds == 0)
        #expect(configuration.sessions.heartbeatMs == 5000)
        #expect(configuration.sessions.helloTimeoutSeconds == 3)
        #expect(configuration.limits.maxMessageBytes == 2 << 20)
        #expect(configuration.limits.messagesPerSecond == 50)
        #expect(configuration.limits.bytesPerSecond == 1 << 20)
        #expect(configuration.limits.sendQueueBytes == 8 << 20)
        #expect(configuration.limits.maxChatLength == 100)
        #expect(configuration.limits.maxConnectionsPerIP == 10)
        #expect(configuration.limits.maxOpenUploadsPerParticipant == 1)
        #expect(configuration.limits.maxUploadBytesPerSession == 1 << 30)
        #expect(configuration.limits.maxHTTPHeaderBytes == 16 << 10)
        #expect(configuration.log.level == Logger.Level.debug)
        #expect(configuration.log.format == .json)
        #expect(configuration.recording.enabled == false)
    }

    /// The e2e tests write their configuration with JSON scalars (Tests/e2e/conftest.py).
    @Test func jsonStyleScalarsLoad() throws {
        let configuration = try load(
            """
            listen:
              host: "127.0.0.1"
              port: 0
            storage:
              dataDir: "/tmp/e2e/data"
            catalog: "/repo/config/catalog.yaml"
            limits:
              sendQueueBytes: "64KiB"
            recording:
              enabled: false
            docs:
              allowedTypes: ["application/pdf"]
            tls:
              cert: null
            """
        )
        #expect(configuration.listen.host == "127.0.0.1")
        #expect(configuration.storage.dataDir == "/tmp/e2e/data")
        #expect(configuration.catalog == "/repo/config/catalog.yaml")
        #expect(configuration.limits.sendQueueBytes == 64 << 10)
        #expect(configuration.docs.allowedTypes == ["application/pdf"])
        #expect(configuration.tls.cert == nil)
    }

    @Test func unknownKeyNamesTheKeyAndLineAndSuggests() {
        let error = loadError("# header\nlisten:\n  host: 127.0.0.1\n  prot: 9000\n")
        #expect(error == .unknownKey(path: "relay.yaml", line: 4, key: "listen.prot", suggestion: "listen.port"))
        #expect(error?.description == "relay.yaml:4: unknown key \"listen.prot\" (did you mean \"listen.port\"?)")

        let section = loadError("listne:\n  port: 1\n")
        #expect(section == .unknownKey(path: "relay.yaml", line: 1, key: "listne", suggestion: "listen"))
        let farOff = loadError("\n\ncolour: blue\n")
        #expect(farOff == .unknownKey(path: "relay.yaml", line: 3, key: "colour", suggestion: nil))
    }

    @Test func wrongTypeNamesKeyLineAndExpectation() {
        let port = loadError("listen:\n  port: eighty\n")
        #expect(
            port
                == .wrongType(
                    path: "relay.yaml",
                    line: 2,
                    key: "listen.port",
                    expected: "an integer",
                    found: "\"eighty\""
                )
        )
        #expect(port?.description == "relay.yaml:2: \"listen.port\" must be an integer, found \"eighty\"")
        let quoted = loadError("listen:\n  port: \"8443\"\n")
        #expect(quoted?.description.contains("must be an integer") == true)
        let section = loadError("listen: 8443\n")
        #expect(section?.description == "relay.yaml:1: \"listen\" must be a mapping of keys, found \"8443\"")
        let list = loadError("docs:\n  allowedTypes: application/pdf\n")
        #expect(list?.description.hasPrefix("relay.yaml:2: \"docs.allowedTypes\" must be a list of strings") == true)
        let flag = loadError("recording:\n  enabled: yes\n")
        #expect(flag?.description.contains("must be true or false") == true)
        let level = loadError("log:\n  level: verbose\n")
        #expect(level?.description.contains("one of trace, debug, info") == true)
        let eventLoop = loadError("listen:\n  eventLoop: epoll\n")
        #expect(eventLoop?.description.contains("\"listen.eventLoop\" must be one of libev, poll") == true)
        let empty = loadError("listen:\n  port:\n")
        #expect(empty?.description.contains("found no value (remove the key to use its default)") == true)
    }

    @Test func valuesOutOfRangeAreRefused() {
        let port = loadError("listen:\n  port: 70000\n")
        #expect(
            port
                == .outOfRange(
                    path: "relay.yaml",
                    line: 2,
                    key: "listen.port",
                    problem: "is 70000; it must be between 0 and 65535"
                )
        )
        let zero = loadError("docs:\n  maxBytes: 0\n")
        #expect(zero?.description.contains("\"docs.maxBytes\" is 0 bytes; it must be at least 1 bytes") == true)
        let negative = loadError("queue:\n  maxWaitSeconds: -5\n")
        #expect(negative?.description.hasPrefix("relay.yaml:2: \"queue.maxWaitSeconds\" is -5") == true)
        let noTypes = loadError("docs:\n  allowedTypes: []\n")
        #expect(noTypes?.description.contains("is empty") == true)
        let notMime = loadError("docs:\n  allowedTypes: [pdf]\n")
        #expect(notMime?.description.contains("\"pdf\", which is not a MIME type") == true)
    }

    @Test(arguments: [
        ("1048576", 1_048_576), ("1MiB", 1 << 20), ("50MiB", 50 << 20), ("4 MiB", 4 << 20),
        ("512KiB", 512 << 10), ("2GiB", 2 << 30), ("100B", 100), ("7 kib", 7 << 10), ("1_024", 1024),
    ])
    func byteSizesParse(text: String, bytes: Int) throws {
        #expect(ByteSize.parse(text) == bytes)
        #expect(try load("limits:\n  sendQueueBytes: \"\(text)\"\n").limits.sendQueueBytes == bytes)
    }

    @Test(arguments: ["50MB", "1.5MiB", "MiB", "-1KiB", "", "12 parsecs", "99999999999999GiB"])
    func malformedByteSizesAreRefused(text: String) {
        #expect(ByteSize.parse(text) == nil)
        let error = loadError("docs:\n  maxBytes: \"\(text)\"\n")
        #expect(error?.description.contains("\"docs.maxBytes\" must be a byte size") == true)
    }

    @Test func inconsistentSettingsAreRefused() {
        let halfTLS = loadError("tls:\n  cert: a.crt\n")
        #expect(halfTLS?.description.contains("\"tls.cert\" is set but \"tls.key\" is not") == true)
        let clientCA = loadError("tls:\n  clientCA: ca.crt\n")
        #expect(clientCA?.description.contains("\"tls.clientCA\" needs") == true)
        let chunk = loadError("docs:\n  chunkMax: 1MiB\n")
        #expect(chunk?.description.hasPrefix("relay.yaml:2: \"docs.chunkMax\"") == true)
    }

    @Test func syntaxErrorsGiveTheLine() {
        let error = loadError("listen:\n  host: a\n   port: [1\n")
        guard case let .syntax(path, line, _)? = error else {
            Issue.record("expected a syntax error, got \(String(describing: error))")
            return
        }
        #expect(path == "relay.yaml")
        #expect(line != nil)
        let duplicate = loadError("listen:\n  port: 1\n  port: 2\n")
        #expect(duplicate?.description.contains("duplicate key \"port\"") == true)
    }

    @Test func missingConfigFileIsReported() {
        #expect(throws: ConfigError.unreadable(path: "/nonexistent/relay.yaml", reason: "no such file")) {
            try RelayConfiguration.load(path: "/nonexistent/relay.yaml", environment: [:])
        }
    }
}

@Suite struct SecretTests {
    let strong = "0123456789abcdef0123456789abcdef"

    @Test func environmentOverridesTheFile() throws {
        let scratch = try Scratch()
        let file = try scratch.write("secret.txt", "file-secret-file-secret-file-secret\n")
        let configuration = try load("auth:\n  secretFile: \(file)\n", environment: ["WINDOWRELAY_SECRET": strong])
        #expect(try configuration.loadSecret() == Array(strong.utf8))
        let emptyVariable = try load("auth:\n  secretFile: \(file)\n", environment: ["WINDOWRELAY_SECRET": ""])
        #expect(try emptyVariable.loadSecret() == Array("file-secret-file-secret-file-secret".utf8))
    }

    @Test func trailingWhiteSpaceIsTrimmedAndNothingIsDecoded() throws {
        let scratch = try Scratch()
        let file = try scratch.write("secret.txt", "  \(strong)==\t \r\n\n")
        let configuration = try load("auth:\n  secretFile: \(file)\n")
        #expect(try configuration.loadSecret() == Array("  \(strong)==".utf8))
    }

    @Test func shippedDevelopmentSecretLoads() throws {
        var configuration = RelayConfiguration()
        configuration.auth.secretFile = repositoryRoot + "/config/dev-secret.txt"
        #expect(try configuration.loadSecret() == Array("windowrelay-dev-secret-do-not-use-in-production".utf8))
    }

    @Test func missingSecretFileNamesThePathAndTheKey() throws {
        let configuration = try load("auth:\n  secretFile: /nonexistent/secret.txt\n")
        let expected = ConfigError.secretUnreadable(
            file: "/nonexistent/secret.txt",
            key: "auth.secretFile",
            reason: "no such file"
        )
        #expect(throws: expected) { try configuration.loadSecret() }
        #expect(expected.description.contains("/nonexistent/secret.txt (auth.secretFile)"))
        #expect(expected.description.contains("WINDOWRELAY_SECRET"))
    }

    @Test func emptyOrShortSecretsAreRefused() throws {
        let scratch = try Scratch()
        let blank = try load("auth:\n  secretFile: \(try scratch.write("blank.txt", " \n\n"))\n")
        #expect(throws: ConfigError.secretTooShort(source: blank.auth.secretFile, length: 0, minimum: 32)) {
            try blank.loadSecret()
        }
        let short = try load("", environment: ["WINDOWRELAY_SECRET": "hunter2\n"])
        #expect(throws: ConfigError.secretTooShort(source: "WINDOWRELAY_SECRET", length: 7, minimum: 32)) {
            try short.loadSecret()
        }
    }

    @Test func theSecretNeverShowsInDescriptions() throws {
        let configuration = try load("", environment: ["WINDOWRELAY_SECRET": strong])
        #expect(!String(describing: configuration).contains(strong))
        #expect(!String(reflecting: configuration).contains(strong))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains(strong))
    }
}
