import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("A session's whole life across units (PROTOCOL §3, §8)")
struct SessionLifeTests {
    @Test func aSessionLivesAcrossThreeUnitsAndEndsWithAVerifiableRecord() async throws {
        let relay = try await TestRelay.started()
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian", name: "王窗口")
        let chengdu = try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin", name: "李审批")
        let xian = try await Device.hello(relay, "approver-xa", .approver, unit: "xa-yanta")
        let harbin = try await Device.hello(relay, "approver-hrb", .approver, unit: "hrb-nangang")

        #expect(try await chengdu.ok("queue.watch") == ["unit": "cd-gaoxin", "waiting": []])
        try await xian.ok("queue.watch")
        try await harbin.ok("queue.watch")

        // Two sessions queued for cd-gaoxin: positions 1 and 2.
        var fields = Wire.create("cd-gaoxin", applicant: "张三")
        fields["note"] = "社保转入"
        let created = try await clerk.ok("session.create", fields)
        #expect(created["session"]?["state"] == "queued")
        #expect(created["session"]?["fromUnit"] == "qd-xihaian")
        #expect(created["session"]?["units"] == ["qd-xihaian", "cd-gaoxin"])
        let sid = try Wire.sessionId(created)
        #expect(Wire.positions(try await chengdu.next("queue.update")) == ["\(sid)@1"])
        let other = try Wire.sessionId(try await clerk.ok("session.create", Wire.create("cd-gaoxin")))
        let both = try await chengdu.next("queue.update")
        #expect(both["unit"] == "cd-gaoxin")
        #expect(Wire.positions(both) == ["\(sid)@1", "\(other)@2"])
        #expect(both["waiting"]?.arrayValue?.first?["fromUnit"] == "qd-xihaian")
        #expect(both["waiting"]?.arrayValue?.first?["service"] == .string(Wire.service))

        // Accept: active, the clerk sees the approver join; the queue moves up.
        let accepted = try await chengdu.ok("session.accept", ["sessionId": .string(sid)])
        #expect(accepted["session"]?["state"] == "active")
        #expect(Wire.positions(try await chengdu.next("queue.update")) == ["\(other)@1"])
        let joined = try await clerk.next { $0["type"] == "participant.joined" && $0["actor"] == "approver-cd" }
        #expect(joined["participant"]?["name"] == "李审批")
        let active = try await clerk.next { $0["type"] == "session.state" && $0["cause"] == "accept" }
        #expect(active["session"]?["state"] == "active")
        #expect(active["unit"] == "cd-gaoxin")

        // Chat both ways.
        try await chengdu.ok("chat.send", ["sessionId": .string(sid), "text": "请出示身份证原件"])
        try await clerk.ok("chat.send", ["sessionId": .string(sid), "text": "已上传"])
        #expect(try await clerk.next("chat", session: sid)["text"] == "请出示身份证原件")
        let reply = try await chengdu.next { $0["type"] == "chat" && $0["actor"] == "clerk-qd" }
        #expect(reply["text"] == "已上传")
        #expect(reply["actor"] == "clerk-qd")

        // Invite a third unit: still active; its approver sees the entry and accepts.
        let invited = try await chengdu.ok("session.invite", ["sessionId": .string(sid), "unit": "xa-yanta"])
        #expect(invited["session"]?["state"] == "active")
        let xianQueue = try await xian.next("queue.update")
        #expect(Wire.positions(xianQueue) == ["\(sid)@1"])
        #expect(xianQueue["waiting"]?.arrayValue?.first?["kind"] == "invite")
        try await xian.ok("session.accept", ["sessionId": .string(sid)])
        #expect(try await xian.next("queue.update")["waiting"] == [])
        try await xian.ok("chat.send", ["sessionId": .string(sid), "text": "西安已加入"])

        // The declined session ends for its creator; the watcher's queue empties.
        let declined = try await chengdu.ok("session.decline", ["sessionId": .string(other), "reason": "材料不全"])
        #expect(declined["session"]?["state"] == "ended")
        #expect(declined["session"]?["outcome"] == "declined")
        #expect(try await chengdu.next("queue.update")["waiting"] == [])
        let declinedEnd = try await clerk.next("session.ended", session: other)
        #expect(declinedEnd["outcome"] == "declined")
        #expect(declinedEnd["note"] == "材料不全")

        // cd-gaoxin hands over to hrb-nangang; on accept its staff leave with reason "transferred".
        let transferred = try await chengdu.ok(
            "session.transfer",
            ["sessionId": .string(sid), "toUnit": "hrb-nangang", "reason": "户籍地变更"]
        )
        #expect(transferred["session"]?["state"] == "queued")
        let harbinQueue = try await harbin.next("queue.update")
        #expect(Wire.positions(harbinQueue) == ["\(sid)@1"])
        #expect(harbinQueue["waiting"]?.arrayValue?.first?["kind"] == "transfer")
        try await harbin.ok("session.accept", ["sessionId": .string(sid)])
        let left = try await chengdu.next("participant.left", session: sid)
        #expect(left["reason"] == "transferred")
        #expect(left["participant"]?["id"] == "approver-cd")
        #expect(try await chengdu.refusal("chat.send", ["sessionId": .string(sid), "text": "?"]) == "forbidden")
        #expect(try await chengdu.refusal("session.join", ["sessionId": .string(sid)]) == "forbidden")
        let state = try await clerk.next {
            $0["type"] == "session.state" && $0["session"]?["units"] == ["qd-xihaian", "xa-yanta", "hrb-nangang"]
        }
        #expect(state["session"]?["state"] == "active")

        try await harbin.ok("chat.send", ["sessionId": .string(sid), "text": "哈尔滨接手"])
        let ended = try await clerk.ok(
            "session.end",
            ["sessionId": .string(sid), "outcome": "completed", "note": "办结"]
        )
        #expect(ended["session"]?["state"] == "ended")
        #expect(ended["session"]?["outcome"] == "completed")
        for device in [chengdu, xian, harbin] { try await device.barrier() }

        // Everyone saw the same events in the same order; the clerk saw all of them, once each.
        let all = clerk.events(of: sid)
        #expect(all.map(Wire.seq) == Array(1...all.count))
        #expect(all.last?["type"] == "session.ended")
        for device in [chengdu, xian, harbin] {
            let seen = device.events(of: sid)
            let first = Wire.seq(seen.first ?? .null)
            #expect(first > 1)
            #expect(seen.map(Wire.seq) == Array(first..<first + seen.count), "\(device.sub) got gaps or repeats")
            #expect(seen == Array(all.dropFirst(first - 1).prefix(seen.count)), "\(device.sub) saw other events")
            #expect(seen.first?["type"] == "participant.joined")
            #expect(seen.first?["participant"]?["id"] == .string(device.sub))
        }
        #expect(chengdu.events(of: sid).last?["type"] == "participant.left")
        #expect(xian.events(of: sid).last?["type"] == "session.ended")
        #expect(harbin.events(of: sid).last?["type"] == "session.ended")

        try checkRecord(relay, sid: sid, events: all)
    }

    /// The record over HTTP: the chain recomputes, its head is the last hash, `session.ended` names the hash
    /// before it; ops get it redacted; strangers and anonymous callers are refused.
    private func checkRecord(_ relay: TestRelay, sid: String, events: [JSONValue]) throws {
        let response = try relay.get(
            "/v1/sessions/\(sid)/record",
            headers: ["Authorization": "Bearer \(relay.token("approver-xa", .approver, unit: "xa-yanta"))"]
        )
        #expect(response.status == 200)
        let record = try JSONValue.parse(response.body)
        let entries = record["events"]?.arrayValue ?? []
        #expect(entries.map { $0["seq"]?.intValue ?? 0 } == Array(1...events.count))
        #expect(entries.map { $0["type"] } == events.map { $0["type"] })
        let chain = try RecordChecks.verify(entries)
        #expect(chain == .ok(head: record["head"]?.stringValue ?? ""))
        #expect(record["head"] == entries.last?["hash"])
        #expect(events.last?["recordHead"] == entries.dropLast().last?["hash"])
        #expect(entries.contains { $0["data"]?["text"] == "已上传" })
        #expect(entries.first?["data"]?["session"]?["applicant"]?["name"] == "张三")
        let ids = (record["participants"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(ids == ["clerk-qd", "approver-cd", "approver-xa", "approver-hrb"])

        let ops = try relay.get(
            "/v1/sessions/\(sid)/record",
            headers: ["Authorization": "Bearer \(relay.token("ops-1", .ops))"]
        )
        #expect(ops.status == 200)
        let redacted = try JSONValue.parse(ops.body)
        let redactedEntries = redacted["events"]?.arrayValue ?? []
        #expect(redactedEntries.count == entries.count)
        #expect(redactedEntries.filter { $0["type"] == "chat" }.count == 4)
        #expect(!redactedEntries.contains { $0["data"]?["text"] != nil })
        #expect(!redactedEntries.contains { $0["data"]?["session"]?["applicant"] != nil })
        #expect(redacted["session"]?["applicant"] == nil)
        #expect(redacted["head"] == record["head"])

        let stranger = relay.token("approver-sz", .approver, unit: "sz-futian")
        #expect(
            try relay.get("/v1/sessions/\(sid)/record", headers: ["Authorization": "Bearer \(stranger)"]).status == 403
        )
        #expect(try relay.get("/v1/sessions/\(sid)/record").status == 401)
        let clerk = relay.token("clerk-qd", .clerk, unit: "qd-xihaian")
        #expect(
            try relay.get("/v1/sessions/s_nosuchsession/record", headers: ["Authorization": "Bearer \(clerk)"]).status
                == 404
        )
    }
}

/// Checks a record's entries as anyone could, with RelayCore's chain and RelayMedia's SHA-256.
enum RecordChecks {
    /// Rebuilds each entry as a `SessionEvent` and recomputes the chain.
    static func verify(_ entries: [JSONValue]) throws -> ChainVerification {
        let events = try entries.map { entry -> SessionEvent in
            guard let seq = entry["seq"]?.intValue, let at = entry["at"]?.stringValue, let millis = millis(at),
                let type = entry["type"]?.stringValue, let actor = entry["actor"]?.stringValue,
                let data = entry["data"]?.objectValue, let hash = entry["hash"]?.stringValue
            else { throw TestFailure("malformed record entry \(entry)") }
            return SessionEvent(
                sessionId: "record",
                seq: seq,
                atMillis: millis,
                type: type,
                actor: actor,
                data: data,
                hash: hash
            )
        }
        return RecordChain(sha256: { SHA256.hash($0) }).verify(events)
    }

    /// Unix millis of an RFC 3339 time with milliseconds.
    static func millis(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }
}
