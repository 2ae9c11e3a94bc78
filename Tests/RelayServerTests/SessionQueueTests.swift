import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Unit queues and expiry (PROTOCOL §3)")
struct SessionQueueTests {
    @Test func anUnacceptedSessionExpiresAndLeavesTheWatchersQueue() async throws {
        let relay = try await TestRelay.started { $0.queue.maxWaitSeconds = 1 }
        let watcher = try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin")
        try await watcher.ok("queue.watch")
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let sid = try Wire.sessionId(try await clerk.ok("session.create", Wire.create("cd-gaoxin")))
        #expect(Wire.positions(try await watcher.next("queue.update")) == ["\(sid)@1"])

        let ended = try await clerk.next("session.ended", session: sid)
        #expect(ended["outcome"] == "expired")
        #expect(ended["actor"] == "server")
        #expect(try await watcher.next("queue.update")["waiting"] == [])
        #expect(try await watcher.ok("queue.watch")["waiting"] == [])
        #expect(try await watcher.refusal("session.accept", ["sessionId": .string(sid)]) == "invalid_state")
        let view = try await clerk.ok(
            "session.join",
            ["sessionId": .string(sid), "lastSeq": .number(Double(Wire.seq(ended)))]
        )
        #expect(view["session"]?["state"] == "ended")
        #expect(view["session"]?["outcome"] == "expired")
    }

    @Test func aFullQueueRefusesMoreSessionsForThatUnitOnly() async throws {
        let relay = try await TestRelay.started { $0.queue.maxWaitingPerUnit = 2 }
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        try await clerk.ok("session.create", Wire.create("cd-gaoxin"))
        try await clerk.ok("session.create", Wire.create("cd-gaoxin"))
        #expect(try await clerk.refusal("session.create", Wire.create("cd-gaoxin")) == "rate_limited")
        try await clerk.ok("session.create", Wire.create("xa-yanta"))
    }

    @Test func aServiceTheUnitDoesNotHandleIsABadRequest() async throws {
        let relay = try await TestRelay.started()
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        // sz-futian does not handle social-insurance-transfer in the catalog.
        #expect(try await clerk.refusal("session.create", Wire.create("sz-futian")) == "bad_request")
        #expect(
            try await clerk.refusal("session.create", ["service": "no-such-service", "toUnit": "cd-gaoxin"])
                == "bad_request"
        )
    }
}
