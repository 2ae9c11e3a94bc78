import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Replay after a drop (PROTOCOL §3)")
struct SessionReplayTests {
    /// A session created by the clerk and accepted by the cd-gaoxin approver; returns its id.
    static func activeSession(clerk: Device, approver: Device) async throws -> String {
        let sid = try Wire.sessionId(try await clerk.ok("session.create", Wire.create("cd-gaoxin")))
        try await approver.ok("session.accept", ["sessionId": .string(sid)])
        try await clerk.next { $0["type"] == "participant.joined" && $0["actor"] == .string(approver.sub) }
        return sid
    }

    /// Sends `count` chats back to back and awaits every `ok`.
    static func chat(_ device: Device, _ sid: String, count: Int, prefix: String) async throws {
        let ids = (1...count).map {
            device.send("chat.send", ["sessionId": .string(sid), "text": .string("\(prefix) \($0)")])
        }
        for id in ids {
            let reply = try await device.reply(to: id)
            guard reply["type"] == "ok" else { throw TestFailure("chat refused: \(reply)") }
        }
    }

    @Test func aDeviceBackFromADropGetsExactlyWhatItMissedOnceThenLiveEvents() async throws {
        let relay = try await TestRelay.started()
        let b = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        // The device keeps its token and says hello with it again after the drop.
        let token = relay.token("approver-cd", .approver, unit: "cd-gaoxin")
        let a = try await Device.hello(client: relay.client, port: relay.port, sub: "approver-cd", token: token)
        let sid = try await Self.activeSession(clerk: b, approver: a)
        try await a.barrier()
        let lastSeen = try #require(a.events(of: sid).map(Wire.seq).max())

        a.close()
        let away = try await b.next("participant.away", session: sid)
        #expect(away["participant"]?["id"] == "approver-cd")
        #expect(away["actor"] == "server")
        try await Self.chat(b, sid, count: 50, prefix: "missed")

        let again = try await Device.hello(client: relay.client, port: relay.port, sub: "approver-cd", token: token)
        let joinId = again.send("session.join", ["sessionId": .string(sid), "lastSeq": .number(Double(lastSeen))])
        let joined = try await again.reply(to: joinId)
        #expect(joined["type"] == "ok")
        #expect(joined["result"]?["replayed"] == true)
        #expect(joined["result"]?["lastSeq"]?.intValue == lastSeen + 52)
        #expect(joined["result"]?["session"]?["state"] == "active")
        let back = try await b.next("participant.back", session: sid)
        #expect(back["participant"]?["id"] == "approver-cd")
        #expect(back["actor"] == "approver-cd")

        try await Self.chat(b, sid, count: 1, prefix: "live")
        try await again.barrier()
        let after = again.received(after: joinId).filter { $0["seq"] != nil }
        #expect(after.map(Wire.seq) == Array(lastSeen + 1...lastSeen + 53))
        #expect(after.first?["type"] == "participant.away")
        #expect(after.dropFirst().prefix(50).map { $0["text"]?.stringValue ?? "" } == (1...50).map { "missed \($0)" })
        #expect(after.dropFirst(51).first?["type"] == "participant.back")
        #expect(after.last?["text"] == "live 1")
        #expect(after.allSatisfy { $0["sessionId"] == .string(sid) })
        // What the other side saw is what the returning device replayed.
        let bSaw = b.events(of: sid).filter { Wire.seq($0) > lastSeen }
        #expect(bSaw == after)
    }

    @Test func aReplacingConnectionReplaysFromItsLastSeqWithoutGoingAway() async throws {
        let relay = try await TestRelay.started()
        let b = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let token = relay.token("approver-cd", .approver, unit: "cd-gaoxin")
        let first = try await Device.hello(client: relay.client, port: relay.port, sub: "approver-cd", token: token)
        let sid = try await Self.activeSession(clerk: b, approver: first)
        try await first.barrier()
        let lastSeen = try #require(first.events(of: sid).map(Wire.seq).max())
        try await Self.chat(b, sid, count: 5, prefix: "while")

        // The first connection is still open: the second replaces it (4409) and replays what it asks for.
        let second = try await Device.hello(client: relay.client, port: relay.port, sub: "approver-cd", token: token)
        #expect(try await first.closeCode() == 4409)
        let joinId = second.send("session.join", ["sessionId": .string(sid), "lastSeq": .number(Double(lastSeen))])
        let joined = try await second.reply(to: joinId)
        #expect(joined["result"]?["replayed"] == true)
        #expect(joined["result"]?["lastSeq"]?.intValue == lastSeen + 5)
        let me = joined["result"]?["participants"]?.arrayValue?.first { $0["id"] == "approver-cd" }
        #expect(me?["presence"] == "present")

        try await Self.chat(b, sid, count: 1, prefix: "live")
        try await second.barrier()
        let after = second.received(after: joinId).filter { $0["seq"] != nil }
        #expect(after.map(Wire.seq) == Array(lastSeen + 1...lastSeen + 6))
        #expect(after.map { $0["text"]?.stringValue ?? "" } == (1...5).map { "while \($0)" } + ["live 1"])

        // Joining again at the latest seq replays nothing.
        let rejoinId = second.send(
            "session.join",
            ["sessionId": .string(sid), "lastSeq": .number(Double(lastSeen + 6))]
        )
        let rejoined = try await second.reply(to: rejoinId)
        #expect(rejoined["result"]?["replayed"] == false)
        try await second.barrier()
        #expect(second.received(after: rejoinId).filter { $0["seq"] != nil }.isEmpty)

        // A replaced device never went away.
        try await b.barrier()
        #expect(!b.events(of: sid).contains { $0["type"] == "participant.away" || $0["type"] == "participant.back" })
    }

    @Test func aJoinAheadOfTheSessionIsABadRequest() async throws {
        let relay = try await TestRelay.started()
        let b = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let sid = try Wire.sessionId(try await b.ok("session.create", Wire.create("cd-gaoxin")))
        #expect(try await b.refusal("session.join", ["sessionId": .string(sid), "lastSeq": 99]) == "bad_request")
        #expect(try await b.refusal("session.join", ["sessionId": .string(sid), "lastSeq": -1]) == "bad_request")
    }
}
