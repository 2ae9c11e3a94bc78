import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import RelayTransport

#if canImport(Glibc)
import Glibc
#endif

/// An active session between a clerk of qd-xihaian and an approver of cd-gaoxin, both joined, on connections
/// of a client loop with a large send queue (so a test can push a whole file at once).
final class DocumentSession: Sendable {
    static let service = "social-insurance-transfer"
    let relay: TestRelay
    let loop: ClientLoop
    let sessionId: String
    let clerk: ClientConnection
    let approver: ClientConnection

    init(relay: TestRelay, loop: ClientLoop, sessionId: String, clerk: ClientConnection, approver: ClientConnection) {
        self.relay = relay
        self.loop = loop
        self.sessionId = sessionId
        self.clerk = clerk
        self.approver = approver
    }

    deinit { loop.shutdown() }

    static func open(
        _ relay: TestRelay,
        clerk: String = "clerk-1",
        approver: String = "appr-1"
    ) async throws
        -> DocumentSession
    {
        let loop = try ClientLoop(limits: ConnectionLimits(maxMessageBytes: 4 << 20, sendQueueBytes: 256 << 20))
        let c = try await Self.hello(relay, loop, relay.token(clerk, .clerk, unit: "qd-xihaian"))
        let created = try await c.request([
            "type": "session.create", "id": "create", "service": .string(service), "toUnit": "cd-gaoxin",
        ])
        guard let sid = created["result"]?["session"]?["id"]?.stringValue else { throw TestFailure("\(created)") }
        let a = try await Self.hello(relay, loop, relay.token(approver, .approver, unit: "cd-gaoxin"))
        let accepted = try await a.request(["type": "session.accept", "id": "accept", "sessionId": .string(sid)])
        guard accepted["type"] == "ok" else { throw TestFailure("\(accepted)") }
        return DocumentSession(relay: relay, loop: loop, sessionId: sid, clerk: c, approver: a)
    }

    static func hello(_ relay: TestRelay, _ loop: ClientLoop, _ token: String) async throws -> ClientConnection {
        let c = try await loop.connect(ClientEndpoint(host: "127.0.0.1", port: relay.port, tls: relay.tls))
        let reply = try await c.request(["type": "hello", "id": "h", "token": .string(token)])
        guard reply["type"] == "ok" else { throw TestFailure("hello refused: \(reply)") }
        return c
    }

    /// Connects `sub` again and joins the session (after a drop or a restart).
    func rejoin(_ relay: TestRelay, _ sub: String, _ role: Role, unit: String) async throws -> ClientConnection {
        let c = try await Self.hello(relay, loop, relay.token(sub, role, unit: unit))
        let joined = try await c.request(["type": "session.join", "id": "j", "sessionId": .string(sessionId)])
        guard joined["type"] == "ok" else { throw TestFailure("join refused: \(joined)") }
        return c
    }

    func offer(
        _ c: ClientConnection,
        _ file: TestFile,
        name: String? = nil,
        mime: String? = nil,
        size: Int? = nil,
        sha256: String? = nil
    ) async throws -> JSONValue {
        try await c.request([
            "type": "doc.offer", "id": "offer", "sessionId": .string(sessionId), "name": .string(name ?? file.name),
            "mime": .string(mime ?? file.mime), "size": JSONValue(size ?? file.bytes.count),
            "sha256": .string(sha256 ?? file.sha256),
        ])
    }
}

/// A document to upload.
struct TestFile {
    var name: String
    var mime: String
    var bytes: [UInt8]
    /// Lowercase hex SHA-256 of `bytes`.
    let sha256: String

    init(name: String, mime: String, bytes: [UInt8]) {
        self.name = name
        self.mime = mime
        self.bytes = bytes
        sha256 = SHA256.hex(bytes)
    }

    /// A "PDF" of `size` bytes: the %PDF- signature, then pseudo-random 64 KiB blocks, each stamped with its
    /// number so that bytes landing at the wrong offset change the hash. Cheap even in a debug build.
    static func pdf(_ size: Int, name: String = "营业执照.pdf", seed: UInt64 = 1) -> TestFile {
        var generator = SeededGenerator(seed: seed)
        var block = [UInt8](repeating: 0, count: 1 << 16)
        block.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices { words[i] = generator.next() }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        var index: UInt64 = 0
        while bytes.count < size {
            withUnsafeBytes(of: index ^ seed) { stamp in block.replaceSubrange(0..<8, with: stamp) }
            bytes.append(contentsOf: block.prefix(size - bytes.count))
            index += 1
        }
        let header = Array("%PDF-1.7\n".utf8)
        bytes.replaceSubrange(0..<min(size, header.count), with: header.prefix(size))
        return TestFile(name: name, mime: "application/pdf", bytes: bytes)
    }

    /// True when `other` holds exactly these bytes (by length and SHA-256: fast in a debug build).
    func matches(_ other: [UInt8]) -> Bool {
        other.count == bytes.count && SHA256.hex(other) == sha256
    }
}

/// xorshift64*: deterministic test bytes.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

/// What an uploader saw while sending chunks.
struct UploadOutcome {
    var progress: [JSONValue] = []
    var available: JSONValue?
    var failed: JSONValue?
    var errors: [JSONValue] = []
}

extension ClientConnection {
    /// Sends `bytes[from..<upTo]` of upload `upload` as chunks of `chunk` bytes, all at once.
    func sendChunks(upload: Int, _ bytes: [UInt8], from: Int = 0, upTo: Int? = nil, chunk: Int = 262_144) {
        var offset = from
        let end = upTo ?? bytes.count
        while offset < end {
            let n = min(chunk, end - offset)
            let frame = try! BinaryFrame.encodeDocumentChunk(
                .init(upload: UInt32(upload), offset: UInt64(offset)),
                payload: bytes[offset..<offset + n]
            )
            send(binary: frame)
            offset += n
        }
    }

    /// Reads until `doc.available` for `sha256`, or `doc.failed` for `upload`; keeps progress and errors.
    func awaitUploadEnd(upload: Int, sha256: String, timeout: Double = 30) async throws -> UploadOutcome {
        var outcome = UploadOutcome()
        while true {
            let m = try await nextJSON(timeout: timeout)
            switch m["type"]?.stringValue {
            case "doc.progress" where m["upload"]?.intValue == upload:
                outcome.progress.append(m)
            case "doc.available" where m["document"]?["sha256"]?.stringValue == sha256:
                outcome.available = m
                return outcome
            case "doc.failed" where m["upload"]?.intValue == upload:
                outcome.failed = m
                return outcome
            case "error":
                outcome.errors.append(m)
            default:
                break
            }
        }
    }
}

extension TestRelay {
    /// Stops the server and its client loop now (deinit then finds them stopped).
    func stopNow() {
        client.shutdown()
        server.shutdown(grace: .milliseconds(200))
    }

    /// An HTTP GET that reads the whole answer (Connection: close), for large bodies.
    func download(
        _ path: String,
        headers: [String: String] = [:]
    ) throws
        -> (status: Int, headers: [String: String], body: [UInt8])
    {
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        let out = Array(head.utf8)
        guard out.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == out.count else {
            throw TestFailure("send failed")
        }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var expected: Int?
        var bodyStart = 0
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
            if expected == nil, let end = Self.headerEnd(data) {
                bodyStart = end + 4
                let text = String(decoding: data[0..<end], as: UTF8.self)
                let length = text.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                expected = length.flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? -1
            }
            if let expected, expected >= 0, data.count - bodyStart >= expected { break }
        }
        guard let end = Self.headerEnd(data) else { throw TestFailure("no HTTP response") }
        let lines = String(decoding: data[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(end + 4)...])
        if let expected, expected >= 0, body.count > expected { body = Array(body.prefix(expected)) }
        return (status, fields, body)
    }

    private static func headerEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10
        {
            return i
        }
        return nil
    }
}
