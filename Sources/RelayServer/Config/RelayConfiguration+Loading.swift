import Foundation
import Logging
import RelayTransport
import Yams

extension RelayConfiguration {
    /// Every key a configuration file may set, in the order of `config/relay.yaml`.
    public static let knownKeys: [String] = [
        "listen.host", "listen.port", "listen.eventLoop",
        "tls.cert", "tls.key", "tls.clientCA",
        "auth.secretFile",
        "storage.dataDir",
        "catalog",
        "queue.maxWaitSeconds", "queue.maxWaitingPerUnit",
        "docs.maxBytes", "docs.allowedTypes", "docs.chunkMax", "docs.partialTtlHours",
        "sessions.reconnectGraceSeconds", "sessions.heartbeatMs", "sessions.helloTimeoutSeconds",
        "limits.maxMessageBytes", "limits.messagesPerSecond", "limits.bytesPerSecond", "limits.sendQueueBytes",
        "limits.maxChatLength", "limits.maxConnectionsPerIP", "limits.maxOpenUploadsPerParticipant",
        "limits.maxUploadBytesPerSession", "limits.maxHTTPHeaderBytes",
        "log.level", "log.format",
        "recording.enabled",
    ]

    /// The names before the dot: `listen`, `tls`, …
    static let sections = Set(knownKeys.compactMap { $0.contains(".") ? String($0.prefix { $0 != "." }) : nil })

    /// The environment variable whose value, when set and non-empty, is the token secret.
    public static let secretVariable = "WINDOWRELAY_SECRET"

    /// The bytes of a binary document frame before its data: type u8, upload u32, offset u64.
    static let documentFrameHeaderBytes = 13

    /// Reads a configuration file; keys it leaves out keep their defaults.
    ///
    /// Unknown keys, values of the wrong type and values out of range are errors that name the file, the
    /// line and the key. `WINDOWRELAY_SECRET` in `environment` overrides `auth.secretFile`.
    public static func load(path: String, environment: [String: String]) throws(ConfigError) -> RelayConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: Self.reason(error))
        }
        return try load(yaml: text, path: path, environment: environment)
    }

    /// Reads configuration text; `path` is only used in messages.
    public static func load(
        yaml: String,
        path: String,
        environment: [String: String]
    ) throws(ConfigError) -> RelayConfiguration {
        var configuration = RelayConfiguration()
        var lines: [String: Int] = [:]
        for entry in try entries(yaml: yaml, path: path) {
            try configuration.apply(entry)
            lines[entry.key] = entry.line
        }
        try configuration.checkConsistency(path: path, lines: lines)
        if let secret = environment[secretVariable], !secret.isEmpty {
            configuration.auth.secretFromEnvironment = secret
        }
        return configuration
    }

    /// The file's settings as dotted keys: `listen: {port: 1}` is `listen.port`.
    static func entries(yaml: String, path: String) throws(ConfigError) -> [ConfigEntry] {
        guard let root = try compose(yaml: yaml, path: path) else { return [] }
        let rootEntry = ConfigEntry(key: "(the top level)", node: root, path: path)
        if rootEntry.isNull { return [] }
        guard case let .mapping(mapping) = root else { throw rootEntry.wrongType("a mapping of keys") }

        var result: [ConfigEntry] = []
        for (keyNode, value) in mapping {
            let name = try keyName(keyNode, path: path)
            let section = ConfigEntry(key: name, node: value, path: path, keyLine: keyNode.mark?.line)
            guard sections.contains(name) else {
                result.append(section)
                continue
            }
            if section.isNull { continue }
            guard case let .mapping(children) = value else { throw section.wrongType("a mapping of keys") }
            for (childKey, childValue) in children {
                let key = name + "." + (try keyName(childKey, path: path))
                // The key's own line: a value on the next lines (a list) would point past it.
                result.append(ConfigEntry(key: key, node: childValue, path: path, keyLine: childKey.mark?.line))
            }
        }
        for entry in result where !knownKeys.contains(entry.key) {
            throw .unknownKey(path: path, line: entry.line, key: entry.key, suggestion: suggestion(for: entry.key))
        }
        return result
    }

    private static func compose(yaml: String, path: String) throws(ConfigError) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, path: path)
        } catch {
            throw .syntax(path: path, line: nil, problem: "\(error)")
        }
    }

    static func syntaxError(_ error: YamlError, path: String) -> ConfigError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            let while_ = context.map { " (\($0.text))" } ?? ""
            return .syntax(path: path, line: mark.line, problem: problem + while_)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return .syntax(path: path, line: context.mark.line, problem: "duplicate key \(keys)")
        default:
            return .syntax(path: path, line: nil, problem: "\(error)")
        }
    }

    private static func keyName(_ node: Node, path: String) throws(ConfigError) -> String {
        guard case let .scalar(scalar) = node else {
            throw .wrongType(
                path: path,
                line: node.mark?.line,
                key: "(key)",
                expected: "a plain key",
                found: ConfigEntry.describe(node)
            )
        }
        return scalar.string
    }

    /// The known key closest to a misspelt one, when it is close enough to be a typo.
    static func suggestion(for key: String) -> String? {
        let lowered = key.lowercased()
        let scored = (knownKeys + sections.sorted()).map { (key: $0, distance: editDistance(lowered, $0.lowercased())) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= 3 else { return nil }
        return best.key
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    static func reason(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileReadNoSuchFile, .fileNoSuchFile: return "no such file"
            case .fileReadNoPermission: return "permission denied"
            case .fileReadInapplicableStringEncoding: return "not UTF-8 text"
            default: break
            }
        }
        return error.localizedDescription
    }
}

extension RelayConfiguration {
    /// Sets the property of one entry; the key is known (checked in `entries`).
    mutating func apply(_ entry: ConfigEntry) throws(ConfigError) {
        let positive = 1...Int.max
        switch entry.key {
        case "listen.host": listen.host = try entry.string()
        case "listen.port": listen.port = try entry.integer(in: 0...65535)
        case "listen.eventLoop": listen.eventLoop = try entry.choice(EventBackend.self)
        case "tls.cert": tls.cert = try entry.optionalString()
        case "tls.key": tls.key = try entry.optionalString()
        case "tls.clientCA": tls.clientCA = try entry.optionalString()
        case "auth.secretFile": auth.secretFile = try entry.string()
        case "storage.dataDir": storage.dataDir = try entry.string()
        case "catalog": catalog = try entry.string()
        case "queue.maxWaitSeconds": queue.maxWaitSeconds = try entry.integer(in: positive)
        case "queue.maxWaitingPerUnit": queue.maxWaitingPerUnit = try entry.integer(in: positive)
        case "docs.maxBytes": docs.maxBytes = try entry.byteSize(in: positive)
        case "docs.allowedTypes": docs.allowedTypes = try Self.mimeTypes(entry)
        case "docs.chunkMax": docs.chunkMax = try entry.byteSize(in: 1...Int(UInt32.max))
        case "docs.partialTtlHours": docs.partialTtlHours = try entry.integer(in: positive)
        case "sessions.reconnectGraceSeconds": sessions.reconnectGraceSeconds = try entry.integer(in: 0...Int.max)
        case "sessions.heartbeatMs": sessions.heartbeatMs = try entry.integer(in: 100...Int.max)
        case "sessions.helloTimeoutSeconds": sessions.helloTimeoutSeconds = try entry.integer(in: positive)
        case "limits.maxMessageBytes": limits.maxMessageBytes = try entry.byteSize(in: 1024...Int.max)
        case "limits.messagesPerSecond": limits.messagesPerSecond = try entry.integer(in: positive)
        case "limits.bytesPerSecond": limits.bytesPerSecond = try entry.byteSize(in: positive)
        case "limits.sendQueueBytes": limits.sendQueueBytes = try entry.byteSize(in: positive)
        case "limits.maxChatLength": limits.maxChatLength = try entry.integer(in: positive)
        case "limits.maxConnectionsPerIP": limits.maxConnectionsPerIP = try entry.integer(in: positive)
        case "limits.maxOpenUploadsPerParticipant":
            limits.maxOpenUploadsPerParticipant = try entry.integer(in: positive)
        case "limits.maxUploadBytesPerSession": limits.maxUploadBytesPerSession = try entry.byteSize(in: positive)
        case "limits.maxHTTPHeaderBytes": limits.maxHTTPHeaderBytes = try entry.byteSize(in: 1024...Int.max)
        case "log.level": log.level = try entry.choice(Logger.Level.self)
        case "log.format": log.format = try entry.choice(Log.Format.self)
        case "recording.enabled": recording.enabled = try entry.bool()
        default:
            throw .unknownKey(path: entry.path, line: entry.line, key: entry.key, suggestion: nil)
        }
    }

    private static func mimeTypes(_ entry: ConfigEntry) throws(ConfigError) -> [String] {
        let types = try entry.stringList()
        guard !types.isEmpty else {
            throw entry.outOfRange("is empty; list the MIME types documents may have (e.g. application/pdf)")
        }
        for type in types {
            let parts = type.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
                throw entry.outOfRange("has \"\(type)\", which is not a MIME type like application/pdf")
            }
        }
        return types
    }

    /// Settings that are each fine but do not work together.
    func checkConsistency(path: String, lines: [String: Int]) throws(ConfigError) {
        if (tls.cert == nil) != (tls.key == nil) {
            let (given, missing) = tls.cert == nil ? ("tls.key", "tls.cert") : ("tls.cert", "tls.key")
            throw .inconsistent(
                path: path,
                line: lines[given],
                problem: "\"\(given)\" is set but \"\(missing)\" is not; set both for wss://, or neither for ws://"
            )
        }
        if tls.clientCA != nil && tls.cert == nil {
            throw .inconsistent(
                path: path,
                line: lines["tls.clientCA"],
                problem: "\"tls.clientCA\" needs \"tls.cert\" and \"tls.key\": client certificates need TLS"
            )
        }
        let largestFrame = docs.chunkMax + Self.documentFrameHeaderBytes
        if largestFrame > limits.maxMessageBytes {
            throw .inconsistent(
                path: path,
                line: lines["docs.chunkMax"] ?? lines["limits.maxMessageBytes"],
                problem: "\"docs.chunkMax\" (\(docs.chunkMax)) plus the \(Self.documentFrameHeaderBytes)-byte "
                    + "frame header exceeds \"limits.maxMessageBytes\" (\(limits.maxMessageBytes)); "
                    + "lower the first or raise the second"
            )
        }
    }
}
