import RelayCore
import Testing

@Suite struct QueueTests {
    @Test func positionsAreOldestFirstPerUnit() throws {
        var f = SessionFixture()
        let b1 = try f.created(to: "B")
        f.advance(seconds: 1)
        let c1 = try f.created(to: "C")
        f.advance(seconds: 1)
        let b2 = try f.created(to: "B", by: SessionPeople.clerkA2)
        let queueB = f.book.waiting(unit: "B")
        #expect(queueB.map { $0["sessionId"] } == [.string(b1), .string(b2)])
        #expect(queueB.map { $0["position"] } == [1, 2])
        #expect(
            queueB[0] == [
                "sessionId": .string(b1), "service": "svc", "fromUnit": "A", "position": 1,
                "since": .string(Timestamp.rfc3339(millis: f.now - 2000)), "kind": "create",
            ])
        #expect(f.book.waiting(unit: "C").map { $0["sessionId"] } == [.string(c1)])
        let watch = try f.run(.queueWatch, SessionPeople.approverB)
        #expect(watch.result == ["unit": "B", "waiting": .array(queueB)])
        try f.run(.accept(sessionId: b1), SessionPeople.approverB)
        #expect(f.book.waiting(unit: "B").map { $0["sessionId"] } == [.string(b2)])
        #expect(f.book.waiting(unit: "B")[0]["position"] == 1)
        #expect(f.refusal(.queueWatch, SessionPeople.applicant(b1))?.code == .forbidden)
        #expect(f.refusal(.queueWatch, SessionPeople.ops)?.code == .forbidden)
        #expect(f.refusal(.queueWatch, SessionPeople.unitless)?.code == .forbidden)
    }

    @Test func aFullQueueIsRateLimited() throws {
        var f = SessionFixture()
        for _ in 0..<3 { _ = try f.created(to: "B") }
        let full = f.refusal(.create(service: "svc", toUnit: "B", applicant: nil, note: nil), SessionPeople.clerkA)
        #expect(full?.code == .rateLimited && full?.details["unit"] == "B")
        #expect(f.book.waitingCount(unit: "B") == 3)
        _ = try f.created(to: "C")
    }

    @Test func transferThenAcceptRemovesTheTransferringStaff() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.join(sessionId: id, lastSeq: 0), SessionPeople.approverB2)
        f.advance(seconds: 3)
        let transfer = try f.run(.transfer(sessionId: id, toUnit: "C", reason: "their matter"), SessionPeople.approverB)
        #expect(f.types(transfer) == ["session.state"])
        #expect(transfer.events[0].data["cause"] == "transfer" && transfer.events[0].data["reason"] == "their matter")
        #expect(transfer.changedQueues == ["C"])
        let queued = try #require(f.state(id))
        #expect(queued.state == .queued && queued.units == ["A", "B", "C"])
        #expect(queued.waiting == [QueueEntry(unit: "C", since: f.now, kind: .transfer, transferFrom: "B")])
        // The transferring staff stay until it is accepted.
        #expect(f.presence("appr-b", id) == "present" && f.presence("appr-b2", id) == "present")
        #expect(
            f.refusal(.transfer(sessionId: id, toUnit: "C", reason: nil), SessionPeople.clerkA)?.code == .invalidState)
        let accept = try f.run(.accept(sessionId: id), SessionPeople.clerkC)
        #expect(f.types(accept) == ["participant.joined", "session.state", "participant.left", "participant.left"])
        #expect(accept.events[2].data["reason"] == "transferred")
        #expect(accept.events[2].data["participant"]?["id"] == "appr-b")
        #expect(accept.events[3].data["participant"]?["id"] == "appr-b2")
        #expect(accept.emitted[3].recipients == ["clerk-a", "clerk-c", "appr-b2"])
        let after = try #require(f.state(id))
        #expect(after.state == .active && after.units == ["A", "C"] && after.waiting.isEmpty)
        #expect(f.presence("clerk-a", id) == "present")
        #expect(f.presence("appr-b", id) == "left" && f.book.sessions(of: "appr-b").isEmpty)
        #expect(f.refusal(.join(sessionId: id, lastSeq: 0), SessionPeople.approverB)?.code == .forbidden)
    }

    @Test func transferRefusals() throws {
        var f = SessionFixture()
        let queued = try f.created()
        #expect(
            f.refusal(.transfer(sessionId: queued, toUnit: "C", reason: nil), SessionPeople.clerkA)?.code
                == .invalidState)
        let id = try f.active()
        #expect(
            f.refusal(.transfer(sessionId: id, toUnit: "D", reason: nil), SessionPeople.approverB)?.details["field"]
                == "toUnit")
        #expect(
            f.refusal(.transfer(sessionId: id, toUnit: "A", reason: nil), SessionPeople.approverB)?.code == .conflict)
        #expect(f.refusal(.transfer(sessionId: id, toUnit: "C", reason: nil), SessionPeople.clerkC)?.code == .forbidden)
        #expect(
            f.refusal(.transfer(sessionId: id, toUnit: "C", reason: nil), SessionPeople.applicant(id))?.code
                == .forbidden)
    }

    @Test func aDeclinedTransferGoesBackToTheTransferringUnit() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.transfer(sessionId: id, toUnit: "C", reason: nil), SessionPeople.approverB)
        let out = try f.run(.decline(sessionId: id, reason: "not ours"), SessionPeople.clerkC)
        #expect(f.types(out) == ["session.state"])
        #expect(out.events[0].data["cause"] == "decline" && out.events[0].data["unit"] == "C")
        let s = try #require(f.state(id))
        #expect(s.state == .active && s.units == ["A", "B"] && s.waiting.isEmpty)
        #expect(f.presence("appr-b", id) == "present")
    }

    @Test func aTransferNobodyAcceptsExpiresBackToActive() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.transfer(sessionId: id, toUnit: "C", reason: nil), SessionPeople.approverB)
        f.advance(seconds: 300)
        let out = f.tick()
        #expect(f.types(out) == ["session.state"] && out.events[0].data["cause"] == "expire")
        #expect(out.events[0].actor == "server" && out.changedQueues == ["C"])
        #expect(f.state(id)?.state == .active)
    }

    @Test func inviteMakesAThreeUnitSession() throws {
        var f = SessionFixture()
        let id = try f.active()
        let invite = try f.run(.invite(sessionId: id, unit: "C"), SessionPeople.approverB)
        #expect(f.types(invite) == ["session.state"] && invite.changedQueues == ["C"])
        #expect(f.state(id)?.state == .active)
        #expect(f.book.waiting(unit: "C")[0]["kind"] == "invite")
        #expect(f.refusal(.invite(sessionId: id, unit: "C"), SessionPeople.clerkA)?.code == .conflict)
        #expect(f.refusal(.invite(sessionId: id, unit: "Z"), SessionPeople.clerkA)?.details["field"] == "unit")
        let accept = try f.run(.accept(sessionId: id), SessionPeople.clerkC)
        #expect(f.types(accept) == ["participant.joined", "session.state"])
        let s = try #require(f.state(id))
        #expect(s.state == .active && s.units == ["A", "B", "C"] && s.waiting.isEmpty)
        #expect(s.presentSubs == ["clerk-a", "appr-b", "clerk-c"])
        let chat = try f.run(.chat(sessionId: id, text: "三地"), SessionPeople.clerkC)
        #expect(chat.emitted[0].recipients == ["clerk-a", "appr-b", "clerk-c"])
        // Any catalog unit may be invited, whether or not it handles the service.
        try f.run(.invite(sessionId: id, unit: "E"), SessionPeople.clerkC)
        #expect(f.state(id)?.units == ["A", "B", "C", "E"])
    }

    @Test func aDeclinedOrExpiredInviteJustLeaves() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.invite(sessionId: id, unit: "C"), SessionPeople.approverB)
        try f.run(.decline(sessionId: id, reason: nil), SessionPeople.clerkC)
        #expect(f.state(id)?.state == .active && f.state(id)?.units == ["A", "B"])
        try f.run(.invite(sessionId: id, unit: "D"), SessionPeople.approverB)
        f.advance(seconds: 299)
        let r1 = f.tick()

        #expect(r1.events.isEmpty)
        f.advance(seconds: 1)
        let out = f.tick()
        #expect(out.events.map { $0.data["cause"] } == ["expire"] && out.changedQueues == ["D"])
        #expect(f.state(id)?.state == .active && f.state(id)?.units == ["A", "B"])
    }

    @Test func aQueuedSessionNobodyAcceptsExpires() throws {
        var f = SessionFixture()
        let id = try f.created()
        _ = f.lost("clerk-a")
        f.advance(seconds: 120)
        let timeout = f.tick()
        #expect(timeout.events.map { $0.data["reason"] } == ["timeout"])
        #expect(f.state(id)?.state == .queued && f.book.waiting(unit: "B").count == 1)
        f.advance(seconds: 180)
        let out = f.tick()
        #expect(f.types(out) == ["session.ended"])
        #expect(out.events[0].data["outcome"] == "expired" && out.events[0].actor == "server")
        #expect(out.endedSessions == [id] && out.changedQueues == ["B"])
        #expect(f.book.waiting(unit: "B").isEmpty)
    }

    @Test func declineOrAcceptNeedsAWaitingEntryForTheCallersUnit() throws {
        var f = SessionFixture()
        let id = try f.created()
        #expect(f.refusal(.accept(sessionId: id), SessionPeople.clerkA)?.code == .invalidState)
        #expect(f.refusal(.accept(sessionId: id), SessionPeople.clerkA2)?.code == .invalidState)
        #expect(f.refusal(.accept(sessionId: id), SessionPeople.clerkC)?.code == .forbidden)
        #expect(f.refusal(.decline(sessionId: id, reason: nil), SessionPeople.clerkC)?.code == .forbidden)
        // A session a unit queued for itself: its creator may not accept it, a colleague may.
        let own = try f.created(to: "A")
        #expect(f.state(own)?.units == ["A"])
        #expect(f.refusal(.accept(sessionId: own), SessionPeople.clerkA)?.code == .conflict)
        try f.run(.accept(sessionId: own), SessionPeople.clerkA2)
        #expect(f.state(own)?.state == .active)
    }
}
