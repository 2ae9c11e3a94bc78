import Foundation
import RelayClient
import RelayCore
import RelayServer
import Testing

/// Ending a session with recordings open: every recording is final and recorded (its
/// `track.removed` with the file's hash) before `session.ended`, however the session ends.
@Suite("Ending a session with tracks open (PROTOCOL §6, §8; decisions D8)")
struct AudioEndTests {
    /// Both sides open a track and speak a little; returns the two track numbers.
    static func twoTracks(_ s: ActiveSession) async throws -> (clerk: Int, approver: Int) {
        let a = try await s.clerk.request(["type": "audio.open", "id": "o1", "sessionId": .string(s.sessionId)])
        let b = try await s.approver.request(["type": "audio.open", "id": "o2", "sessionId": .string(s.sessionId)])
        let clerkTrack = try #require(a["result"]?["track"]?.intValue)
        let approverTrack = try #require(b["result"]?["track"]?.intValue)
        #expect(clerkTrack != approverTrack)
        for (i, p) in try AudioTests.sinePackets(count: 10).enumerated() {
            s.clerk.send(binary: try AudioTests.frame(track: UInt16(clerkTrack), seq: UInt16(i), timestamp: UInt32(i * 960), p))
            s.approver.send(binary: try AudioTests.frame(track: UInt16(approverTrack), seq: UInt16(i), timestamp: UInt32(i * 960), p))
        }
        return (clerkTrack, approverTrack)
    }

    /// The record's events and tracks, read with an ops token.
    static func record(_ relay: TestRelay, _ sessionId: String) throws -> (events: [JSONValue], tracks: [JSONValue]) {
        let token = relay.token("ops-record", .ops)
        let response = try relay.get("/v1/sessions/\(sessionId)/record", headers: ["Authorization": "Bearer \(token)"])
        #expect(response.status == 200)
        let record = try JSONValue.parse(response.body)
        return (record["events"]?.arrayValue ?? [], record["tracks"]?.arrayValue ?? [])
    }

    /// Every track's `track.removed` (with a sha256) comes before `session.ended`, and the record lists both files.
    static func expectBothRecordedBeforeTheEnd(_ relay: TestRelay, _ sessionId: String, tracks: [Int]) throws {
        let (events, recorded) = try record(relay, sessionId)
        let types = events.compactMap { $0["type"]?.stringValue }
        let removed = events.filter { $0["type"] == "track.removed" }
        // Record entries are `{seq, at, type, actor, data, hash}` (PROTOCOL §8).
        #expect(Set(removed.compactMap { $0["data"]?["track"]?.intValue }) == Set(tracks))
        #expect(removed.allSatisfy { $0["data"]?["sha256"]?.stringValue?.count == 64 })
        #expect(types.last == "session.ended")
        #expect(types.filter { $0 == "session.ended" }.count == 1)
        #expect(Set(recorded.compactMap { $0["track"]?.intValue }) == Set(tracks))
    }

    @Test func aParticipantsEndWaitsForEveryOpenRecording() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        let (clerkTrack, approverTrack) = try await Self.twoTracks(s)
        s.clerk.send(json: ["type": "session.end", "id": "e", "sessionId": .string(s.sessionId), "outcome": "completed"])
        var seen: [JSONValue] = []
        while seen.last?["type"] != "ok" { seen.append(try await s.clerk.nextJSON()) }
        let types = seen.compactMap { $0["type"]?.stringValue }.filter { $0 != "health" }
        #expect(types.suffix(4) == ["track.removed", "track.removed", "session.ended", "ok"])
        try Self.expectBothRecordedBeforeTheEnd(relay, s.sessionId, tracks: [clerkTrack, approverTrack])
    }

    @Test func opsEndWaitsForEveryOpenRecording() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        let (clerkTrack, approverTrack) = try await Self.twoTracks(s)
        // A reply on each connection: every frame sent before it has been handled.
        _ = try await s.clerk.request(["type": "queue.watch", "id": "b1"])
        _ = try await s.approver.request(["type": "queue.watch", "id": "b2"])
        let end = try HTTPTestClient.request(
            port: relay.port, method: "POST", path: "/v1/ops/sessions/\(s.sessionId)/end",
            headers: ["Authorization": "Bearer \(relay.token("ops-end", .ops))", "Content-Type": "application/json"],
            body: Array(#"{"outcome":"cancelled"}"#.utf8))
        #expect(end.status == 200, "\(String(decoding: end.body, as: UTF8.self))")
        #expect(try JSONValue.parse(end.body)["session"]?["state"] == "ended")
        try Self.expectBothRecordedBeforeTheEnd(relay, s.sessionId, tracks: [clerkTrack, approverTrack])
    }

    @Test func aRefusedEndClosesNothing() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        let (clerkTrack, _) = try await Self.twoTracks(s)
        let outsider = try await relay.join("clerk-outside", .clerk, unit: "qd-xihaian")
        let refused = try await outsider.request([
            "type": "session.end", "id": "e", "sessionId": .string(s.sessionId), "outcome": "completed",
        ])
        #expect(refused["code"] == "forbidden")
        // The clerk's track is still open: its next frame reaches the approver.
        let packet = try AudioTests.sinePackets(count: 1)[0]
        let frame = try AudioTests.frame(track: UInt16(clerkTrack), seq: 100, timestamp: 96_000, packet)
        s.clerk.send(binary: frame)
        // (The earlier frames arrive first; this one is told apart by its seq in the header.)
        var received = false
        while !received {
            if case .binary(let bytes) = try await s.approver.next(), bytes == frame { received = true }
        }
        #expect(received)
        let (events, _) = try Self.record(relay, s.sessionId)
        #expect(!events.contains { $0["type"] == "track.removed" })
    }

    @Test func aJoinListsTheOpenTracks() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        let (clerkTrack, approverTrack) = try await Self.twoTracks(s)
        let joined = try await s.approver.request([
            "type": "session.join", "id": "j", "sessionId": .string(s.sessionId), "lastSeq": 0,
        ])
        let listed = joined["result"]?["tracks"]?.arrayValue ?? []
        #expect(listed.compactMap { $0["track"]?.intValue } == [clerkTrack, approverTrack].sorted())
        let clerkEntry = listed.first { $0["track"]?.intValue == clerkTrack }
        #expect(clerkEntry?["participant"]?["id"] == "clerk-a")
        #expect(clerkEntry?["codec"] == "opus")
    }
}
