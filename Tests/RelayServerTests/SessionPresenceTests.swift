import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Away, back and timeout (PROTOCOL §3)")
struct SessionPresenceTests {
    @Test func theOtherSideSeesAwayWhenAConnectionDropsAndBackWhenItJoinsAgain() async throws {
        let relay = try await TestRelay.started()
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let approver = try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin")
        let sid = try await SessionReplayTests.activeSession(clerk: clerk, approver: approver)

        approver.close()
        let away = try await clerk.next("participant.away", session: sid)
        #expect(away["participant"]?["id"] == "approver-cd")
        #expect(away["participant"]?["unit"] == "cd-gaoxin")
        let view = try await clerk.ok(
            "session.join",
            ["sessionId": .string(sid), "lastSeq": .number(Double(Wire.seq(away)))]
        )
        let presence = (view["participants"]?.arrayValue ?? []).map {
            "\($0["id"]?.stringValue ?? "")=\($0["presence"]?.stringValue ?? "")"
        }
        #expect(presence == ["clerk-qd=present", "approver-cd=away"])
        // An away participant must join before it acts.
        #expect(
            try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin")
                .refusal("chat.send", ["sessionId": .string(sid), "text": "?"]) == "invalid_state"
        )

        let again = try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin")
        let joined = try await again.ok(
            "session.join",
            ["sessionId": .string(sid), "lastSeq": .number(Double(Wire.seq(away)))]
        )
        let me = joined["participants"]?.arrayValue?.first { $0["id"] == "approver-cd" }
        #expect(me?["presence"] == "present")
        let back = try await clerk.next("participant.back", session: sid)
        #expect(back["participant"]?["id"] == "approver-cd")
        #expect(Wire.seq(back) == Wire.seq(away) + 1)
        try await clerk.barrier()
        #expect(!clerk.events(of: sid).contains { $0["type"] == "participant.left" })
    }

    @Test func aParticipantAwayPastTheGraceHasLeftWithReasonTimeoutAndJoinsAnewLater() async throws {
        let relay = try await TestRelay.started { $0.sessions.reconnectGraceSeconds = 1 }
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let approver = try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin")
        let sid = try await SessionReplayTests.activeSession(clerk: clerk, approver: approver)

        approver.close()
        let away = try await clerk.next("participant.away", session: sid)
        let left = try await clerk.next("participant.left", session: sid)
        #expect(left["reason"] == "timeout")
        #expect(left["actor"] == "server")
        #expect(left["participant"]?["id"] == "approver-cd")
        #expect(Wire.seq(left) == Wire.seq(away) + 1)

        // Timed out is not handed over: the device may come back, as a new joining.
        let again = try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin")
        let joined = try await again.ok(
            "session.join",
            ["sessionId": .string(sid), "lastSeq": .number(Double(Wire.seq(left)))]
        )
        #expect(joined["session"]?["state"] == "active")
        let rejoined = try await clerk.next { $0["type"] == "participant.joined" && Wire.seq($0) > Wire.seq(left) }
        #expect(rejoined["participant"]?["id"] == "approver-cd")
        #expect(Wire.seq(rejoined) == Wire.seq(left) + 1)
        try await clerk.barrier()
        #expect(!clerk.events(of: sid).contains { $0["type"] == "participant.back" })
    }
}
