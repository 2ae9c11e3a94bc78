import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Health, metrics and the ops feed and API (PROTOCOL §7)")
struct OpsTests {
    static let secretWords = ["请出示身份证原件", "张三", "社保转入备注"]

    /// An active session with an applicant name, a note and a chat line that ops must never see.
    static func sessionWithPrivateContent(_ relay: TestRelay) async throws -> ActiveSession {
        let clerk = try await relay.join("clerk-o", .clerk, unit: "qd-xihaian")
        let approver = try await relay.join("approver-o", .approver, unit: "cd-gaoxin")
        let created = try await clerk.request([
            "type": "session.create", "id": "c", "service": "social-insurance-transfer", "toUnit": "cd-gaoxin",
            "applicant": ["name": "张三", "idTail": "001X"], "note": "社保转入备注",
        ])
        let sid = try #require(created["result"]?["session"]?["id"]?.stringValue)
        let accepted = try await approver.request(["type": "session.accept", "id": "a", "sessionId": .string(sid)])
        #expect(accepted["type"] == "ok", "\(accepted)")
        let chat = try await approver.request(["type": "chat.send", "id": "t", "sessionId": .string(sid), "text": "请出示身份证原件"])
        #expect(chat["type"] == "ok", "\(chat)")
        return ActiveSession(clerk: clerk, approver: approver, sessionId: sid)
    }

    static func assertRedacted(_ bytes: [UInt8], _ what: String) {
        let text = String(decoding: bytes, as: UTF8.self)
        for word in secretWords { #expect(!text.contains(word), "\(what) leaks \(word)") }
    }

    @Test func theOpsFeedAndAPIShowHealthAndNeverContent() async throws {
        let relay = try TestRelay()
        let s = try await Self.sessionWithPrivateContent(relay)
        let ops = try await relay.join("ops-1", .ops)
        let watched = try await ops.request(["type": "ops.watch", "id": "w"])
        #expect(watched["type"] == "ok")
        Self.assertRedacted(watched.canonicalBytes, "ops.watch result")
        let snapshot = try await ops.next(type: "ops.snapshot", timeout: 3)
        Self.assertRedacted(snapshot.canonicalBytes, "ops.snapshot")
        let entry = try #require(snapshot["sessions"]?.arrayValue?.first { $0["id"]?.stringValue == s.sessionId })
        #expect(entry["state"] == "active")
        #expect(entry["grade"] == "good")
        #expect(entry["participants"]?.arrayValue?.count == 2)

        let opsToken = relay.token("ops-1", .ops)
        let list = try relay.get("/v1/ops/sessions", headers: ["Authorization": "Bearer \(opsToken)"])
        #expect(list.status == 200)
        Self.assertRedacted(list.body, "GET /v1/ops/sessions")
        let one = try relay.get("/v1/ops/sessions/\(s.sessionId)", headers: ["Authorization": "Bearer \(opsToken)"])
        #expect(try JSONValue.parse(one.body)["id"]?.stringValue == s.sessionId)
        let record = try relay.get("/v1/sessions/\(s.sessionId)/record", headers: ["Authorization": "Bearer \(opsToken)"])
        #expect(record.status == 200)
        Self.assertRedacted(record.body, "the ops view of the record")

        let clerkToken = relay.token("clerk-o", .clerk, unit: "qd-xihaian")
        #expect(try relay.get("/v1/ops/sessions", headers: ["Authorization": "Bearer \(clerkToken)"]).status == 403)
        #expect(try relay.get("/v1/ops/sessions").status == 401)
        let refused = try await s.clerk.request(["type": "ops.watch", "id": "x"])
        #expect(refused["code"] == "forbidden")
    }

    @Test func opsKickClosesTheDeviceAndOpsEndEndsTheSession() async throws {
        let relay = try TestRelay()
        let s = try await Self.sessionWithPrivateContent(relay)
        let opsToken = relay.token("ops-2", .ops)
        let kick = try HTTPTestClient.request(
            port: relay.port, method: "POST", path: "/v1/ops/sessions/\(s.sessionId)/participants/approver-o/kick",
            headers: ["Authorization": "Bearer \(opsToken)"])
        #expect(kick.status == 200, "\(String(decoding: kick.body, as: UTF8.self))")
        let left = try await s.clerk.next(type: "participant.left")
        #expect(left["reason"] == "kicked")
        #expect(left["actor"] == "ops-2")
        #expect(try await s.approver.closeCode() == 4403)

        let end = try HTTPTestClient.request(
            port: relay.port, method: "POST", path: "/v1/ops/sessions/\(s.sessionId)/end",
            headers: ["Authorization": "Bearer \(opsToken)", "Content-Type": "application/json"],
            body: Array(#"{"outcome":"cancelled","note":"ops"}"#.utf8))
        #expect(end.status == 200)
        let ended = try await s.clerk.next(type: "session.ended")
        #expect(ended["outcome"] == "cancelled")
        #expect(ended["actor"] == "ops-2")
        let again = try HTTPTestClient.request(
            port: relay.port, method: "POST", path: "/v1/ops/sessions/\(s.sessionId)/end",
            headers: ["Authorization": "Bearer \(opsToken)"], body: Array("{}".utf8))
        #expect(again.status == 409 || again.status == 404)
    }

    @Test func aLossySpeakerTurnsPoorAndEveryoneIsTold() async throws {
        let relay = try TestRelay()
        let s = try await ActiveSession.open(relay)
        _ = try await s.clerk.request(["type": "audio.open", "id": "o", "sessionId": .string(s.sessionId)])
        let packets = try AudioTests.sinePackets(count: 100)
        // Every 10th packet never leaves the client: 10 % loss, past the 5 % of `fair`.
        for i in 0..<100 where i % 10 != 9 {
            s.clerk.send(binary: try AudioTests.frame(track: 1, seq: UInt16(i), timestamp: UInt32(i * 960), packets[i]))
            try await Task.sleep(for: .milliseconds(20))
        }
        var grade: JSONValue?
        for _ in 0..<10 {
            let health = try await s.approver.next(type: "health", timeout: 5)
            let clerk = health["participants"]?.arrayValue?.first { $0["id"] == "clerk-a" }
            if clerk?["grade"] == "poor" {
                grade = health["grade"]
                #expect((clerk?["tracks"]?.arrayValue?.first?["lossPct"]?.doubleValue ?? 0) >= 5)
                break
            }
        }
        #expect(grade == "poor")
    }

    @Test func metricsParseAndMoveWithActivity() async throws {
        let relay = try TestRelay()
        let before = try Self.metrics(relay)
        let s = try await ActiveSession.open(relay)
        _ = try await s.clerk.request(["type": "chat.send", "id": "m", "sessionId": .string(s.sessionId), "text": "hi"])
        try await Task.sleep(for: .milliseconds(1200))
        let after = try Self.metrics(relay)
        #expect((after["windowrelay_events_total"] ?? 0) >= (before["windowrelay_events_total"] ?? 0) + 5)
        #expect(after["windowrelay_connections"] == 2)
        #expect(after["windowrelay_sessions{state=\"active\"}"] == 1)
        #expect(after["windowrelay_queue_waiting{unit=\"cd-gaoxin\"}"] == 0)
        #expect(after["windowrelay_session_grade{grade=\"good\"}"] == 1)
    }

    /// A strict reader of the text exposition: every sample line is `name{labels} value`.
    static func metrics(_ relay: TestRelay) throws -> [String: Double] {
        let response = try relay.get("/metrics")
        #expect(response.headers["content-type"]?.hasPrefix("text/plain") == true)
        var values: [String: Double] = [:]
        for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            #expect(parts.count == 2, "bad sample line: \(line)")
            #expect(parts[0].hasPrefix("windowrelay_"), "foreign metric: \(line)")
            guard parts.count == 2, let value = Double(parts[1]) else { continue }
            values[String(parts[0])] = value
        }
        return values
    }
}

