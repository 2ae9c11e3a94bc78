import Foundation
import RelayClient
import RelayCore
import RelayMedia
import Testing

@Suite(
    "Recordings survive a crash (PROTOCOL §8)",
    .enabled(if: ChildRelay.executable != nil, "no windowrelay executable beside the test bundle; run swift build")
)
struct AudioCrashTests {
    @Test func aRecordingCutByKill9IsRepairedAtStartUpPlaysAndIsExported() async throws {
        let executable = try #require(ChildRelay.executable)
        let directory = TestRelay.temporaryDirectory()
        let config = try ChildRelay.writeConfiguration(in: directory, dataDir: directory + "/data")
        let client = try ClientLoop()
        defer { client.shutdown() }

        let first = try await ChildRelay(executable: executable, configPath: config)
        let clerk = try await RestartCrashTests.device(client, first, "clerk-rec", .clerk, unit: "qd-xihaian")
        let approver = try await RestartCrashTests.device(client, first, "approver-rec", .approver, unit: "cd-gaoxin")
        let sid = try await SessionReplayTests.activeSession(clerk: clerk, approver: approver)
        let opened = try await clerk.ok("audio.open", ["sessionId": .string(sid)])
        let track = try #require(opened["track"]?.intValue)
        // 4 s of audio: enough for several Ogg pages to be on disk before the crash.
        for (i, packet) in try AudioTests.sinePackets(count: 200).enumerated() {
            clerk.connection.send(binary: try AudioTests.frame(track: UInt16(track), seq: UInt16(i), timestamp: UInt32(i * 960), packet))
        }
        try await clerk.barrier()
        try await Task.sleep(for: .milliseconds(500))
        try await first.crash()

        let second = try await ChildRelay(executable: executable, configPath: config)
        defer { Task { _ = try? await second.stop() } }
        let file = directory + "/data/recordings/\(sid)/track-\(track).opus"
        let info = try AudioTests().run("/usr/bin/opusinfo", [file])
        #expect(info.status == 0, "opusinfo: \(info.output)")
        let rejoined = try await RestartCrashTests.device(client, second, "clerk-rec", .clerk, unit: "qd-xihaian")
        _ = try await rejoined.ok("session.join", ["sessionId": .string(sid), "lastSeq": 0])
        let removed = try await rejoined.next("track.removed", session: sid)
        #expect(removed["reason"] == "recovered")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(removed["sha256"]?.stringValue == SHA256.hex(Array(bytes)))

        let out = directory + "/export"
        let export = try await ChildRelay.run(executable, ["record", "export", sid, "--out", out, "--config", config])
        #expect(export.status == 0, "\(export.stderr)")
        let manifest = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))))
        #expect(manifest["tracks"]?.arrayValue?.count == 1)
        #expect(FileManager.default.contents(atPath: out + "/recordings/\(sid)/track-\(track).opus") == bytes)
        let verify = try await ChildRelay.run(executable, ["record", "verify", sid, "--config", config])
        #expect(verify.status == 0, "\(verify.stderr)")
    }
}

@Suite("Audio policing and signalling (PROTOCOL §6)")
struct AudioPolicingTests {
    @Test func aFloodOfInvalidFramesClosesTheSenderWith4400AndNoOneElse() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        _ = try await s.clerk.request(["type": "audio.open", "id": "o", "sessionId": .string(s.sessionId)])
        for i in 0..<80 {
            s.clerk.send(binary: try AudioTests.frame(track: 1, seq: UInt16(i), timestamp: UInt32(i * 960), [0xFF, 0xFF]))
        }
        #expect(try await s.clerk.closeCode() == 4400)
        let reply = try await s.approver.request(["type": "chat.send", "id": "c", "sessionId": .string(s.sessionId), "text": "ok?"])
        #expect(reply["type"] == "ok")
    }

    @Test func aFloodOfUnreadableFramesIsPolicedTheSameWay() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        // An unknown kind and an audio header cut short: told once, then 4400 at the 51st in a second.
        s.clerk.send(binary: [0x7F, 1, 2, 3])
        let told = try await s.clerk.nextJSON()
        #expect(told["code"] == "bad_request")
        #expect(told["message"]?.stringValue?.hasPrefix("binary frame refused") == true)
        for _ in 0..<80 { s.clerk.send(binary: [0x01, 0x00]) }
        #expect(try await s.clerk.closeCode() == 4400)
        let reply = try await s.approver.request(["type": "chat.send", "id": "c", "sessionId": .string(s.sessionId), "text": "ok?"])
        #expect(reply["type"] == "ok")
    }

    @Test func signalGoesToOneParticipantOnlyAndNotToStrangers() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        let offer: JSONValue = ["sdp": "v=0 offer", "kind": "offer"]
        let sent = try await s.clerk.request([
            "type": "signal", "id": "s", "sessionId": .string(s.sessionId), "to": "approver-a", "data": offer,
        ])
        #expect(sent["type"] == "ok")
        let got = try await s.approver.next(type: "signal")
        #expect(got["from"] == "clerk-a")
        #expect(got["data"] == offer)
        #expect(got["seq"] == nil)
        let stranger = try await s.clerk.request([
            "type": "signal", "id": "t", "sessionId": .string(s.sessionId), "to": "nobody", "data": offer,
        ])
        #expect(stranger["code"] == "not_found")
        let huge = try await s.clerk.request([
            "type": "signal", "id": "u", "sessionId": .string(s.sessionId), "to": "approver-a",
            "data": .string(String(repeating: "x", count: 70_000)),
        ])
        #expect(huge["code"] == "too_large")
        // Counted in the record, not stored: the one relayed signal is in session.ended, its SDP nowhere.
        let ended = try await s.clerk.request([
            "type": "session.end", "id": "e", "sessionId": .string(s.sessionId), "outcome": "completed",
        ])
        #expect(ended["type"] == "ok")
        let record = try relay.get(
            "/v1/sessions/\(s.sessionId)/record", headers: ["Authorization": "Bearer \(relay.token("clerk-a", .clerk, unit: "qd-xihaian"))"])
        let entries = try JSONValue.parse(record.body)["events"]?.arrayValue ?? []
        #expect(entries.last?["data"]?["signals"] == 1)
        #expect(!String(decoding: record.body, as: UTF8.self).contains("v=0 offer"))
    }
}
