import RelayCore
import Testing

@Suite struct SessionRestoreTests {
    /// Every kind of event the book writes, across several sessions, with odd milliseconds.
    static func scenario() throws -> SessionFixture {
        var f = SessionFixture(
            rules: SessionRules(
                queueMaxWaitSeconds: 300, reconnectGraceSeconds: 60, maxWaitingPerUnit: 10))
        f.advance(seconds: 0.123)
        // s_1: A → B with an applicant: token, chat, away and back, invite C (accepted) and E (declined).
        let s1 =
            try f.run(
                .create(service: "svc", toUnit: "B", applicant: ApplicantInfo(name: "李四", idTail: "000x"), note: "急"),
                SessionPeople.clerkA
            ).result?["session"]?["id"]?.stringValue ?? ""
        f.advance(seconds: 1.001)
        try f.run(.accept(sessionId: s1), SessionPeople.approverB)
        try f.run(.applicantToken(sessionId: s1, ttlSeconds: 900), SessionPeople.clerkA)
        try f.run(.join(sessionId: s1, lastSeq: 0), SessionPeople.applicant(s1))
        try f.run(.chat(sessionId: s1, text: "请出示"), SessionPeople.approverB)
        _ = f.lost(SessionPeople.applicant(s1).sub)
        f.advance(seconds: 10.5)
        try f.run(.join(sessionId: s1, lastSeq: 3), SessionPeople.applicant(s1))
        try f.run(.invite(sessionId: s1, unit: "C"), SessionPeople.approverB)
        try f.run(.invite(sessionId: s1, unit: "E"), SessionPeople.approverB)
        try f.run(.accept(sessionId: s1), SessionPeople.clerkC)
        try f.run(.decline(sessionId: s1, reason: "busy"), Identity(sub: "e1", role: .clerk, unit: "E"))
        f.events.append(
            try f.book.append(
                sessionId: s1, type: "doc.available", actor: "clerk-a", data: ["document": ["id": "d_1"]], now: f.now
            ).event)

        // s_2: A → C, transfer from C to B, accepted: C's staff leave. Then a kick and ops end.
        let s2 = try f.created(to: "C", by: SessionPeople.clerkA2)
        f.advance(seconds: 2)
        try f.run(.accept(sessionId: s2), SessionPeople.clerkC)
        try f.run(.transfer(sessionId: s2, toUnit: "B", reason: "theirs"), SessionPeople.clerkC)
        f.advance(seconds: 2)
        try f.run(.accept(sessionId: s2), SessionPeople.approverB2)
        let kick = try f.book.opsKick(sessionId: s2, sub: "clerk-a2", by: SessionPeople.ops, now: f.now)
        f.events += kick.events

        // s_3: declined to the end. s_4: expires. s_5: left by everyone, abandoned. s_2: B2 away, times out.
        let s3 = try f.created(to: "B")
        try f.run(.decline(sessionId: s3, reason: "no"), SessionPeople.approverB)
        _ = try f.created(to: "C")
        let s5 = try f.active()
        try f.run(.leave(sessionId: s5), SessionPeople.approverB)
        try f.run(.leave(sessionId: s5), SessionPeople.clerkA)
        _ = f.lost("appr-b2")
        f.advance(seconds: 301)
        let tick = f.tick()
        #expect(tick.events.map { $0.data["outcome"] ?? $0.data["reason"] } == ["timeout", "expired", "abandoned"])
        try f.run(.chat(sessionId: s1, text: "ok"), SessionPeople.clerkC)
        try f.run(.transfer(sessionId: s1, toUnit: "F", reason: nil), SessionPeople.clerkC)
        // A transfer still waits at the end: s_1 is queued with people in it.
        #expect(f.state(s1)?.state == .queued)
        #expect(f.presence("appr-b2", s2) == "left")
        return f
    }

    @Test func restoringEveryEventRebuildsTheSameBook() throws {
        var original = try Self.scenario()
        let types = Set(original.events.map(\.type))
        #expect(types == Set(SessionEventType.allCases.map(\.rawValue) + ["doc.available"]))
        var restored = SessionFixture()
        for event in original.events {
            let applied = restored.book.restore(event)
            #expect(applied)
        }
        #expect(restored.book.allSessionIds == original.book.allSessionIds)
        for id in original.book.allSessionIds {
            #expect(restored.book.session(id) == original.book.session(id))
            #expect(restored.book.sessionJSON(id) == original.book.sessionJSON(id))
            #expect(restored.book.joinView(id) == original.book.joinView(id))
        }
        #expect(restored.book.liveSessionIds == original.book.liveSessionIds)
        for unit in sessionTestCatalog.units.map(\.id) {
            #expect(restored.book.waiting(unit: unit) == original.book.waiting(unit: unit))
        }
        for sub in ["clerk-a", "clerk-a2", "appr-b", "appr-b2", "clerk-c", "applicant-s_1"] {
            #expect(restored.book.sessions(of: sub) == original.book.sessions(of: sub))
        }

        // Both go on identically: same seq, same chain, same new session id.
        restored.now = original.now
        let next: [(SessionRequest, Identity)] = [
            (.accept(sessionId: "s_1"), SessionPeople.clerkF),
            (.chat(sessionId: "s_1", text: "again"), SessionPeople.clerkF),
            (.create(service: "svc", toUnit: "B", applicant: nil, note: nil), SessionPeople.clerkA),
        ]
        for (request, who) in next {
            let a = try original.run(request, who)
            let b = try restored.run(request, who)
            #expect(a == b)
        }
        original.advance(seconds: 400)
        restored.advance(seconds: 400)
        let (a, b) = (original.tick(), restored.tick())
        #expect(a == b && !a.events.isEmpty)
        #expect(restored.book.session("s_1") == original.book.session("s_1"))
    }

    @Test func everyEventIsChainedToTheOneBefore() throws {
        let f = try Self.scenario()
        var heads: [String: (seq: Int, hash: String)] = [:]
        for event in f.events {
            let previous = heads[event.sessionId] ?? (0, SessionState.zeroHash)
            #expect(event.seq == previous.seq + 1)
            #expect(event.hash == "\(previous.hash):\(event.seq)")
            if event.type == "session.ended" { #expect(event.data["recordHead"] == .string(previous.hash)) }
            heads[event.sessionId] = (event.seq, event.hash)
        }
        for (id, head) in heads {
            #expect(f.book.session(id)?.head == head.hash && f.book.session(id)?.lastSeq == head.seq)
        }
    }

    @Test func restoreRefusesGapsAndHeadlessSessions() throws {
        var f = SessionFixture()
        let id = try f.active()
        let before = f.book.session(id)
        let gap = SessionEvent(
            sessionId: id, seq: 9, atMillis: f.now, type: "chat", actor: "clerk-a", data: ["text": "x"], hash: "h")
        let gapApplied = f.book.restore(gap)
        #expect(!gapApplied)
        let again = f.events[0]
        let againApplied = f.book.restore(again)
        #expect(!againApplied)
        #expect(f.book.session(id) == before)
        var fresh = SessionFixture()
        let headless = fresh.book.restore(f.events[1])
        #expect(!headless)
        #expect(fresh.book.allSessionIds.isEmpty)
    }

    @Test func sessionObjectTimesSurviveARoundTrip() throws {
        var f = SessionFixture()
        f.now = 951_782_400_999  // 2000-02-29T00:00:00.999Z
        let id = try f.created()
        var restored = SessionFixture()
        for event in f.events { restored.book.restore(event) }
        #expect(restored.book.session(id)?.createdAt == 951_782_400_999)
        #expect(restored.book.session(id)?.waiting.first?.since == 951_782_400_999)
        #expect(f.book.sessionJSON(id)?["createdAt"] == "2000-02-29T00:00:00.999Z")
    }
}
