import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

/// Two people in an active session, each on its own connection, both joined.
struct ActiveSession {
    let clerk: ClientConnection
    let approver: ClientConnection
    let sessionId: String

    static func open(_ relay: TestRelay) async throws -> ActiveSession {
        let clerk = try await relay.join("clerk-a", .clerk, unit: "qd-xihaian")
        let approver = try await relay.join("approver-a", .approver, unit: "cd-gaoxin")
        let created = try await clerk.request([
            "type": "session.create", "id": "c", "service": "social-insurance-transfer", "toUnit": "cd-gaoxin",
        ])
        let sid = try #require(created["result"]?["session"]?["id"]?.stringValue)
        let accepted = try await approver.request(["type": "session.accept", "id": "a", "sessionId": .string(sid)])
        #expect(accepted["type"] == "ok")
        // (request() skips the events that come before its reply: the queued state is gone already.)
        let active = try await clerk.next(type: "session.state")
        #expect(active["session"]?["state"] == "active")
        return ActiveSession(clerk: clerk, approver: approver, sessionId: sid)
    }
}

@Suite("Opus audio relay and recording (PROTOCOL §6, §8)")
struct AudioTests {
    /// 3 s of a 440 Hz sine as 150 Opus packets of 20 ms.
    static func sinePackets(count: Int = 150) throws -> [[UInt8]] {
        let encoder = try OpusEncoder()
        return try (0..<count).map { i in
            try encoder.encode(pcm: OpusEncoder.sine(frequency: 440, amplitude: 0.3, count: 960, start: i * 960))
        }
    }

    static func frame(track: UInt16, seq: UInt16, timestamp: UInt32, _ packet: [UInt8]) throws -> [UInt8] {
        try BinaryFrame.encodeAudio(BinaryFrame.AudioHeader(track: track, seq: seq, timestamp: timestamp), payload: packet)
    }

    @Test func framesAreForwardedByteForByteInOrderAndRecordedAsAPlayableOggOpusFile() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        let opened = try await s.clerk.request([
            "type": "audio.open", "id": "o", "sessionId": .string(s.sessionId), "codec": "opus", "sampleRate": 48000,
            "channels": 1,
        ])
        let track = try #require(opened["result"]?["track"]?.intValue)
        #expect(track == 1)
        let added = try await s.approver.next(type: "track.added")
        #expect(added["track"] == 1)
        #expect(added["participant"]?["id"] == "clerk-a")

        let packets = try Self.sinePackets()
        var sent: [[UInt8]] = []
        for (i, packet) in packets.enumerated() {
            let frame = try Self.frame(track: 1, seq: UInt16(i), timestamp: UInt32(i * 960), packet)
            sent.append(frame)
            s.clerk.send(binary: frame)
        }
        var received: [[UInt8]] = []
        while received.count < sent.count {
            if case .binary(let bytes) = try await s.approver.next(timeout: 10) { received.append(bytes) }
        }
        #expect(received == sent)

        let closed = try await s.clerk.request(["type": "audio.close", "id": "x", "sessionId": .string(s.sessionId), "track": 1])
        #expect(closed["type"] == "ok")
        let removed = try await s.approver.next(type: "track.removed")
        #expect(removed["packets"] == 150)
        #expect(removed["lost"] == 0)
        let file = try #require(removed["file"]?.stringValue)
        let path = relay.dataDir + "/" + file
        let duration = try #require(removed["durationMs"]?.intValue)
        #expect(abs(duration - 3000) <= 100)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(removed["sha256"]?.stringValue == SHA256.hex(Array(bytes)))

        let info = try run("/usr/bin/opusinfo", [path])
        #expect(info.status == 0)
        let decoded = FileManager.default.temporaryDirectory.appendingPathComponent("wr-\(UUID().uuidString).wav").path
        defer { try? FileManager.default.removeItem(atPath: decoded) }
        let dec = try run("/usr/bin/opusdec", ["--quiet", path, decoded])
        #expect(dec.status == 0)
        // 48 kHz, 16-bit mono WAV: 96,000 bytes a second after a 44-byte header.
        let seconds = Double(((try? FileManager.default.attributesOfItem(atPath: decoded)[.size] as? Int) ?? 0) - 44) / 96_000
        #expect(abs(seconds - 3.0) <= 0.1)

        // The record lists the track with the same summary.
        let record = try relay.get(
            "/v1/sessions/\(s.sessionId)/record",
            headers: ["Authorization": "Bearer \(relay.token("clerk-a", .clerk, unit: "qd-xihaian"))"])
        let manifest = try JSONValue.parse(record.body)
        #expect(manifest["tracks"]?.arrayValue?.first?["sha256"] == removed["sha256"])
    }

    @Test func aFrameOnSomeoneElsesTrackOrWithAnInvalidPacketIsNotForwarded() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        _ = try await s.clerk.request(["type": "audio.open", "id": "o", "sessionId": .string(s.sessionId)])
        _ = try await s.approver.next(type: "track.added")
        let good = try Self.sinePackets(count: 1)[0]
        // The approver sends on the clerk's track; the clerk sends garbage that libopus refuses.
        s.approver.send(binary: try Self.frame(track: 1, seq: 0, timestamp: 0, good))
        let refusal = try await s.approver.next(type: "error")
        #expect(refusal["code"] == "bad_request")
        s.clerk.send(binary: try Self.frame(track: 1, seq: 1, timestamp: 960, [0xFF, 0xFF]))
        let invalid = try await s.clerk.next(type: "error")
        #expect(invalid["message"]?.stringValue?.contains("Opus") == true)
        // A good frame still goes through, and it is the only binary the approver gets.
        let frame = try Self.frame(track: 1, seq: 2, timestamp: 1920, good)
        s.clerk.send(binary: frame)
        var binaries: [[UInt8]] = []
        while let event = try? await s.approver.next(timeout: 1) {
            if case .binary(let b) = event { binaries.append(b) }
        }
        #expect(binaries == [frame])
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("windowrelay_audio_packets_total{result=\"invalid\"} 2"))
        #expect(metrics.contains("windowrelay_audio_packets_total{result=\"forwarded\"} 1"))
        #expect(metrics.contains("windowrelay_audio_packets_total{result=\"received\"} 1"))
    }

    /// The relay caches where a track's packets go (Relay.audioRoute): the cache must follow a
    /// receiver that drops, comes back on a new connection, and leaves.
    @Test func audioFollowsAReceiverThatReconnectsAndThenLeaves() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        _ = try await s.clerk.request(["type": "audio.open", "id": "o", "sessionId": .string(s.sessionId)])
        _ = try await s.approver.next(type: "track.added")
        let packets = try Self.sinePackets(count: 3)
        let frames = try packets.enumerated().map { i, p in
            try Self.frame(track: 1, seq: UInt16(i), timestamp: UInt32(i * 960), p)
        }
        func binaries(_ c: ClientConnection) async -> [[UInt8]] {
            var out: [[UInt8]] = []
            while let event = try? await c.next(timeout: 1) {
                if case .binary(let b) = event { out.append(b) }
            }
            return out
        }
        s.clerk.send(binary: frames[0])
        #expect(await binaries(s.approver) == [frames[0]])

        s.approver.close()
        _ = try await s.approver.closeCode()
        let again = try await relay.join("approver-a", .approver, unit: "cd-gaoxin")
        let joined = try await again.request(["type": "session.join", "id": "j", "sessionId": .string(s.sessionId)])
        #expect(joined["type"] == "ok")
        s.clerk.send(binary: frames[1])
        #expect(await binaries(again) == [frames[1]])

        let left = try await again.request(["type": "session.leave", "id": "l", "sessionId": .string(s.sessionId)])
        #expect(left["type"] == "ok")
        s.clerk.send(binary: frames[2])
        #expect(await binaries(again).isEmpty)
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("windowrelay_audio_packets_total{result=\"received\"} 3"))
        #expect(metrics.contains("windowrelay_audio_packets_total{result=\"forwarded\"} 2"))
    }

    @Test func audioNeedsAnActiveSessionAndEndingTheSessionFinalisesTheRecordingFirst() async throws {
        let relay = try TestRelay()
        let clerk = try await relay.join("clerk-q", .clerk, unit: "qd-xihaian")
        let created = try await clerk.request([
            "type": "session.create", "id": "c", "service": "social-insurance-transfer", "toUnit": "cd-gaoxin",
        ])
        let queued = try #require(created["result"]?["session"]?["id"]?.stringValue)
        let refused = try await clerk.request(["type": "audio.open", "id": "o", "sessionId": .string(queued)])
        #expect(refused["code"] == "invalid_state")

        let s = try await ActiveSession.open(relay)
        _ = try await s.approver.request(["type": "audio.open", "id": "o", "sessionId": .string(s.sessionId)])
        for (i, p) in try Self.sinePackets(count: 25).enumerated() {
            s.approver.send(binary: try Self.frame(track: 1, seq: UInt16(i), timestamp: UInt32(i * 960), p))
        }
        s.clerk.send(json: ["type": "session.end", "id": "e", "sessionId": .string(s.sessionId), "outcome": "completed"])
        var seen: [JSONValue] = []
        while seen.last?["type"] != "ok" { seen.append(try await s.clerk.nextJSON()) }
        let types = seen.compactMap { $0["type"]?.stringValue }
        // The recording is final and recorded before the session ends, and the reply comes last.
        #expect(types.suffix(3) == ["track.removed", "session.ended", "ok"])
        let removed = try #require(seen.first { $0["type"] == "track.removed" })
        let end = try #require(seen.first { $0["type"] == "session.ended" })
        #expect((removed["seq"]?.intValue ?? 0) < (end["seq"]?.intValue ?? 0))
        #expect(removed["sha256"]?.stringValue?.count == 64)
    }

    func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
