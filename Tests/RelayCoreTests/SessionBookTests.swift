import RelayCore
import Testing

@Suite struct SessionBookTests {
    @Test func createQueuesTheSessionAndJoinsTheCreator() throws {
        var f = SessionFixture()
        let out = try f.run(
            .create(service: "svc", toUnit: "B", applicant: ApplicantInfo(name: "Zhang", idTail: "123X"), note: "n"),
            SessionPeople.clerkA)
        #expect(f.types(out) == ["session.state", "participant.joined"])
        #expect(out.events.map(\.seq) == [1, 2])
        #expect(out.events.allSatisfy { $0.actor == "clerk-a" && $0.sessionId == "s_1" && $0.atMillis == f.now })
        #expect(out.emitted.map(\.recipients) == [["clerk-a"], ["clerk-a"]])
        #expect(out.changedQueues == ["B"])
        let session = try #require(out.result?["session"])
        #expect(session["id"] == "s_1")
        #expect(session["state"] == "queued")
        #expect(session["service"] == "svc")
        #expect(session["fromUnit"] == "A")
        #expect(session["units"] == ["A", "B"])
        #expect(session["createdAt"] == .string(Timestamp.rfc3339(millis: f.now)))
        #expect(session["outcome"] == nil)
        #expect(session["applicant"] == ["name": "Zhang", "idTail": "123X"])
        #expect(out.events[1].data["participant"] == SessionPeople.clerkA.participantJSON)
        #expect(f.book.isPresent(sub: "clerk-a", sessionId: "s_1"))
        #expect(f.book.sessions(of: "clerk-a") == ["s_1"])
    }

    @Test func createRefusals() {
        let f = SessionFixture()
        let unknown = f.refusal(.create(service: "nope", toUnit: "B", applicant: nil, note: nil), SessionPeople.clerkA)
        #expect(unknown?.code == .badRequest)
        #expect(unknown?.details["field"] == "service")
        let wrongUnit = f.refusal(.create(service: "svc", toUnit: "D", applicant: nil, note: nil), SessionPeople.clerkA)
        #expect(wrongUnit?.code == .badRequest)
        #expect(wrongUnit?.message.contains("`D`") == true && wrongUnit?.message.contains("`svc`") == true)
        let noUnit = f.refusal(.create(service: "svc", toUnit: "Z", applicant: nil, note: nil), SessionPeople.clerkA)
        #expect(noUnit?.details["field"] == "toUnit")
        #expect(
            f.refusal(.create(service: "svc", toUnit: "B", applicant: nil, note: nil), SessionPeople.unitless)?.code
                == .forbidden)
        #expect(
            f.refusal(.create(service: "svc", toUnit: "B", applicant: nil, note: nil), SessionPeople.ops)?.code
                == .forbidden)
        #expect(f.book.liveSessionIds.isEmpty)
    }

    @Test func acceptMakesTheSessionActive() throws {
        var f = SessionFixture()
        let id = try f.created()
        f.advance(seconds: 5)
        let out = try f.run(.accept(sessionId: id), SessionPeople.approverB)
        #expect(f.types(out) == ["participant.joined", "session.state"])
        #expect(out.events.map(\.seq) == [3, 4])
        #expect(out.emitted[0].recipients == ["clerk-a", "appr-b"])
        #expect(out.events[1].data["cause"] == "accept")
        #expect(out.changedQueues == ["B"])
        #expect(out.result?["session"]?["state"] == "active")
        #expect(f.state(id)?.state == .active)
        #expect(f.state(id)?.waiting == [])
        #expect(f.book.waiting(unit: "B").isEmpty)
        #expect(f.refusal(.accept(sessionId: id), SessionPeople.approverB2)?.code == .invalidState)
        #expect(f.refusal(.accept(sessionId: id), SessionPeople.approverD)?.code == .forbidden)
        #expect(f.refusal(.accept(sessionId: "s_404"), SessionPeople.approverB)?.code == .notFound)
    }

    @Test func declineOfTheOnlyEntryEndsTheSession() throws {
        var f = SessionFixture()
        let id = try f.created()
        let headBefore = try #require(f.state(id)?.head)
        let out = try f.run(.decline(sessionId: id, reason: "wrong unit"), SessionPeople.approverB)
        #expect(f.types(out) == ["session.ended"])
        #expect(out.events[0].data == ["outcome": "declined", "note": "wrong unit", "recordHead": .string(headBefore), "signals": 0])
        #expect(out.emitted[0].recipients == ["clerk-a"])
        #expect(out.endedSessions == [id])
        #expect(out.changedQueues == ["B"])
        #expect(f.state(id)?.state == .ended && f.state(id)?.outcome == "declined")
        #expect(f.book.sessionJSON(id)?["outcome"] == "declined")
        #expect(f.book.liveSessionIds.isEmpty && f.book.sessions(of: "clerk-a").isEmpty)
        #expect(f.refusal(.decline(sessionId: id, reason: nil), SessionPeople.approverB)?.code == .invalidState)
    }

    @Test func endIsOnceAndClosesTheSession() throws {
        var f = SessionFixture()
        let id = try f.active()
        #expect(
            f.refusal(.end(sessionId: id, outcome: .completed, note: nil), SessionPeople.applicant(id))?.code
                == .forbidden)
        let out = try f.run(
            .end(sessionId: id, outcome: .needsCorrection, note: "missing seal"), SessionPeople.approverB)
        #expect(f.types(out) == ["session.ended"])
        #expect(out.events[0].data["outcome"] == "needs_correction")
        #expect(out.events[0].data["note"] == "missing seal")
        #expect(out.emitted[0].recipients == ["clerk-a", "appr-b"])
        #expect(out.result?["session"]?["state"] == "ended")
        #expect(out.endedSessions == [id])
        #expect(
            f.refusal(.end(sessionId: id, outcome: .completed, note: nil), SessionPeople.clerkA)?.code == .invalidState)
        #expect(f.refusal(.chat(sessionId: id, text: "hi"), SessionPeople.clerkA)?.code == .invalidState)
        #expect(f.refusal(.leave(sessionId: id), SessionPeople.clerkA)?.code == .invalidState)
        #expect(f.refusal(.invite(sessionId: id, unit: "C"), SessionPeople.clerkA)?.code == .invalidState)
        #expect(f.refusal(.applicantToken(sessionId: id, ttlSeconds: 60), SessionPeople.clerkA)?.code == .invalidState)
        #expect(f.book.session(id) != nil)
        let forgot = f.book.forget(sessionId: id)
        #expect(forgot)
        #expect(f.book.session(id) == nil)
        #expect(f.refusal(.join(sessionId: id, lastSeq: 0), SessionPeople.clerkA)?.code == .notFound)
    }

    @Test func theCreatorMayCancelAQueuedSession() throws {
        var f = SessionFixture()
        let id = try f.created()
        let out = try f.run(.end(sessionId: id, outcome: .cancelled, note: nil), SessionPeople.clerkA)
        #expect(out.events[0].data["note"] == .null)
        #expect(out.changedQueues == ["B"])
        #expect(f.book.waiting(unit: "B").isEmpty)
        let forgotUnknown = f.book.forget(sessionId: "s_404")
        #expect(!forgotUnknown)
    }

    @Test func chatCountsCharactersAndReachesEveryonePresent() throws {
        var f = SessionFixture()
        let id = try f.active()
        let out = try f.run(.chat(sessionId: id, text: "你好👩‍👩‍👧‍👦世界12345"), SessionPeople.approverB)
        #expect(out.events[0].type == "chat" && out.events[0].data == ["text": "你好👩‍👩‍👧‍👦世界12345"])
        #expect(out.emitted[0].recipients == ["clerk-a", "appr-b"])
        let long = f.refusal(.chat(sessionId: id, text: "12345678901"), SessionPeople.clerkA)
        #expect(long?.code == .tooLarge)
        #expect(f.refusal(.chat(sessionId: id, text: "hi"), SessionPeople.clerkC)?.code == .forbidden)
    }

    @Test func leaveSendsTheLeaverItsOwnEvent() throws {
        var f = SessionFixture()
        let id = try f.active()
        let out = try f.run(.leave(sessionId: id), SessionPeople.approverB)
        #expect(f.types(out) == ["participant.left"])
        #expect(out.events[0].data["reason"] == "left")
        #expect(out.emitted[0].recipients == ["clerk-a", "appr-b"])
        #expect(f.presence("appr-b", id) == "left")
        #expect(f.book.sessions(of: "appr-b").isEmpty)
        #expect(f.refusal(.chat(sessionId: id, text: "x"), SessionPeople.approverB)?.code == .forbidden)
        #expect(f.refusal(.leave(sessionId: id), SessionPeople.approverB)?.code == .forbidden)
        // A left participant may come back while the session is live.
        let back = try f.run(.join(sessionId: id, lastSeq: 0), SessionPeople.approverB)
        #expect(f.types(back) == ["participant.joined"])
        #expect(f.presence("appr-b", id) == "present")
    }

    @Test func applicantTokenIsAuthorisedAndRecordedWithoutTheToken() throws {
        var f = SessionFixture()
        let id = try f.active()
        let out = try f.run(.applicantToken(sessionId: id, ttlSeconds: 600), SessionPeople.clerkA)
        let request = try #require(out.applicantToken)
        #expect(request.sub == "applicant-\(id)" && request.sessionId == id && request.ttlSeconds == 600)
        #expect(request.expiresAtMillis == f.now + 600_000)
        #expect(out.result == nil)
        #expect(f.types(out) == ["applicant.tokenIssued"])
        #expect(out.events[0].data["applicant"] == .string("applicant-\(id)"))
        #expect(out.events[0].data["token"] == nil)
        #expect(
            f.refusal(.applicantToken(sessionId: id, ttlSeconds: 0), SessionPeople.clerkA)?.details["field"]
                == "ttlSeconds")
        #expect(f.refusal(.applicantToken(sessionId: id, ttlSeconds: 3601), SessionPeople.clerkA)?.code == .badRequest)
        let joined = try f.run(.join(sessionId: id, lastSeq: 0), SessionPeople.applicant(id))
        #expect(f.types(joined) == ["participant.joined"])
        #expect(
            joined.events[0].data["participant"] == [
                "id": .string("applicant-\(id)"), "role": "applicant",
                "name": "Zhang San",
            ])
        let hello = try f.run(.chat(sessionId: id, text: "hello"), SessionPeople.applicant(id))
        #expect(hello.emitted[0].recipients.count == 3)
        #expect(f.refusal(.join(sessionId: id, lastSeq: 0), SessionPeople.applicant("s_99"))?.code == .forbidden)
    }

    @Test func joinReplaysWithinBoundsAndSkipsTheJoinerAsRecipient() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.chat(sessionId: id, text: "one"), SessionPeople.clerkA)
        let latest = try #require(f.state(id)?.lastSeq)
        #expect(latest == 5)
        let tooFar = f.refusal(.join(sessionId: id, lastSeq: latest + 1), SessionPeople.clerkA)
        #expect(tooFar?.code == .badRequest && tooFar?.details["field"] == "lastSeq")
        // A replaced connection: nothing happens in the session, the replay covers the gap.
        let same = try f.run(.join(sessionId: id, lastSeq: 2), SessionPeople.clerkA)
        #expect(same.events.isEmpty)
        #expect(same.join == JoinReplay(sessionId: id, afterSeq: 2, through: 5))
        #expect(same.result?["lastSeq"] == 5)
        #expect(same.result?["participants"]?.arrayValue?.map { $0["presence"] } == ["present", "present"])
        // A colleague of a joined unit joins; its own event comes in its replay, not live.
        let colleague = try f.run(.join(sessionId: id, lastSeq: 0), SessionPeople.approverB2)
        #expect(f.types(colleague) == ["participant.joined"])
        #expect(colleague.emitted[0].recipients == ["clerk-a", "appr-b"])
        #expect(colleague.join == JoinReplay(sessionId: id, afterSeq: 0, through: 6))
        #expect(colleague.result?["lastSeq"] == 6)
        #expect(f.refusal(.join(sessionId: id, lastSeq: 0), SessionPeople.clerkC)?.code == .forbidden)
        #expect(f.refusal(.join(sessionId: id, lastSeq: 0), SessionPeople.ops)?.code == .forbidden)
    }

    @Test func joiningAnEndedSessionReplaysWithoutEvents() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.leave(sessionId: id), SessionPeople.approverB)
        try f.run(.end(sessionId: id, outcome: .completed, note: nil), SessionPeople.clerkA)
        let out = try f.run(.join(sessionId: id, lastSeq: 0), SessionPeople.approverB)
        #expect(out.events.isEmpty)
        #expect(out.join == JoinReplay(sessionId: id, afterSeq: 0, through: 6))
        #expect(out.result?["session"]?["outcome"] == "completed")
        #expect(f.presence("appr-b", id) == "left")
    }

    @Test func awayThenBack() throws {
        var f = SessionFixture()
        let id = try f.active()
        let away = f.lost("appr-b")
        #expect(f.types(away) == ["participant.away"])
        #expect(away.events[0].actor == "server")
        #expect(away.emitted[0].recipients == ["clerk-a"])
        #expect(f.presence("appr-b", id) == "away")
        #expect(f.book.sessions(of: "appr-b") == [id])
        let r1 = f.lost("appr-b")

        #expect(r1.events.isEmpty)
        #expect(f.refusal(.chat(sessionId: id, text: "x"), SessionPeople.approverB)?.code == .invalidState)
        f.advance(seconds: 59.999)
        let r2 = f.tick()

        #expect(r2.events.isEmpty)
        let back = try f.run(.join(sessionId: id, lastSeq: 4), SessionPeople.approverB)
        #expect(f.types(back) == ["participant.back"])
        #expect(back.emitted[0].recipients == ["clerk-a"])
        #expect(back.join == JoinReplay(sessionId: id, afterSeq: 4, through: 6))
        #expect(f.presence("appr-b", id) == "present")
    }

    @Test func awayPastTheGraceTimesOut() throws {
        var f = SessionFixture()
        let id = try f.active()
        _ = f.lost("appr-b")
        f.advance(seconds: 60)
        let out = f.tick()
        #expect(f.types(out) == ["participant.left"])
        #expect(out.events[0].data["reason"] == "timeout" && out.events[0].actor == "server")
        #expect(out.emitted[0].recipients == ["clerk-a", "appr-b"])
        #expect(f.presence("appr-b", id) == "left")
        let r3 = f.tick()

        #expect(r3.events.isEmpty)
    }

    @Test func anActiveSessionEveryoneLeftIsAbandonedAfterTheGrace() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.leave(sessionId: id), SessionPeople.approverB)
        try f.run(.leave(sessionId: id), SessionPeople.clerkA)
        f.advance(seconds: 30)
        let r4 = f.tick()

        #expect(r4.events.isEmpty)
        f.advance(seconds: 30)
        let out = f.tick()
        #expect(f.types(out) == ["session.ended"])
        #expect(out.events[0].data["outcome"] == "abandoned" && out.endedSessions == [id])
    }

    @Test func opsKickAndEnd() throws {
        var f = SessionFixture()
        let id = try f.active()
        #expect(throws: Refusal.self) {
            try f.book.opsKick(sessionId: id, sub: "appr-b", by: SessionPeople.clerkA, now: f.now)
        }
        let kick = try f.book.opsKick(sessionId: id, sub: "appr-b", by: SessionPeople.ops, now: f.now)
        #expect(kick.events[0].data["reason"] == "kicked" && kick.events[0].actor == "ops-1")
        #expect(kick.emitted[0].recipients == ["clerk-a", "appr-b"])
        #expect(f.refusal(.join(sessionId: id, lastSeq: 0), SessionPeople.approverB)?.code == .forbidden)
        #expect(throws: Refusal(.notFound, "appr-b is not a participant of session \(id)")) {
            try f.book.opsKick(sessionId: id, sub: "appr-b", by: SessionPeople.ops, now: f.now)
        }
        let end = try f.book.opsEnd(
            sessionId: id, outcome: .cancelled, note: "fire drill", by: SessionPeople.ops, now: f.now)
        #expect(end.events[0].type == "session.ended" && end.events[0].actor == "ops-1")
        #expect(end.emitted[0].recipients == ["clerk-a"])
        #expect(f.state(id)?.outcome == "cancelled")
        #expect(throws: Refusal.self) {
            try f.book.opsEnd(sessionId: id, outcome: .cancelled, note: nil, by: SessionPeople.ops, now: f.now)
        }
    }

    @Test func appendContinuesTheChain() throws {
        var f = SessionFixture()
        let id = try f.active()
        let head = try #require(f.state(id)?.head)
        let emitted = try f.book.append(
            sessionId: id, type: "doc.available", actor: "clerk-a", data: ["document": ["id": "d_1"]], now: f.now)
        #expect(emitted.event.seq == 5 && emitted.event.hash == head + ":5")
        #expect(emitted.recipients == ["clerk-a", "appr-b"])
        #expect(f.state(id)?.lastSeq == 5 && f.state(id)?.head == emitted.event.hash)
        #expect(throws: Refusal.self) {
            try f.book.append(sessionId: id, type: "chat", actor: "x", data: [:], now: f.now)
        }
        #expect(throws: Refusal.self) {
            try f.book.append(sessionId: "s_404", type: "doc.available", actor: "x", data: [:], now: f.now)
        }
        try f.run(.end(sessionId: id, outcome: .completed, note: nil), SessionPeople.clerkA)
        #expect(throws: Refusal.self) {
            try f.book.append(sessionId: id, type: "doc.available", actor: "x", data: [:], now: f.now)
        }
    }

    @Test func allConnectionsLostAfterARestart() throws {
        var f = SessionFixture()
        let first = try f.active()
        let second = try f.created(to: "C")
        let out = f.book.allConnectionsLost(now: f.now)
        #expect(out.events.count == 3)
        #expect(out.events.allSatisfy { $0.type == "participant.away" })
        #expect(f.presence("clerk-a", first) == "away" && f.presence("clerk-a", second) == "away")
        #expect(f.presence("appr-b", first) == "away")
    }
}
