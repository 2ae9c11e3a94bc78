import RelayCore
import Testing

@Suite struct AuthorizationTests {
    typealias Kind = SessionRequest.Kind

    @Test func theMatrixIsTheProtocolTable() {
        let staffOnly: Set<Role> = [.clerk, .approver]
        let everyoneButOps: Set<Role> = [.clerk, .approver, .applicant]
        let expected: [Kind: (Set<Role>, [SessionAuthorization.Relation])] = [
            .create: (staffOnly, [.none]),
            .queueWatch: (staffOnly, [.none]),
            .accept: (staffOnly, [.staffOfWaitingUnit]),
            .decline: (staffOnly, [.staffOfWaitingUnit]),
            .transfer: (staffOnly, [.presentParticipant]),
            .invite: (staffOnly, [.presentParticipant]),
            .applicantToken: (staffOnly, [.presentParticipant]),
            .join: (everyoneButOps, [.participant]),
            .leave: (everyoneButOps, [.presentParticipant]),
            .end: (staffOnly, [.presentParticipant]),
            .chat: (everyoneButOps, [.presentParticipant]),
        ]
        #expect(Set(SessionAuthorization.matrix.keys) == Set(Kind.allCases))
        for kind in Kind.allCases {
            let (roles, relations) = expected[kind]!
            for role in Role.allCases {
                let got = SessionAuthorization.relations(kind, role)
                #expect((got != nil) == roles.contains(role), "\(kind) \(role)")
                if let got { #expect(Array(got.prefix(relations.count)) == relations, "\(kind) \(role)") }
            }
        }
        #expect(SessionAuthorization.relations(.join, .clerk) == [.participant, .staffOfJoinedUnit])
        #expect(SessionAuthorization.relations(.join, .applicant) == [.participant, .applicantScoped])
    }

    /// One request for `sessionId`, with fields that pass every other check where the caller may send it.
    static func request(_ kind: Kind, _ sessionId: String) -> SessionRequest {
        switch kind {
        case .create: .create(service: "svc", toUnit: "C", applicant: nil, note: nil)
        case .queueWatch: .queueWatch
        case .accept: .accept(sessionId: sessionId)
        case .decline: .decline(sessionId: sessionId, reason: nil)
        case .transfer: .transfer(sessionId: sessionId, toUnit: "C", reason: nil)
        case .invite: .invite(sessionId: sessionId, unit: "C")
        case .applicantToken: .applicantToken(sessionId: sessionId, ttlSeconds: 60)
        case .join: .join(sessionId: sessionId, lastSeq: 0)
        case .leave: .leave(sessionId: sessionId)
        case .end: .end(sessionId: sessionId, outcome: .cancelled, note: nil)
        case .chat: .chat(sessionId: sessionId, text: "hi")
        }
    }

    /// Runs every request kind from every profile, each on a fresh copy of `fixture`, against `expected`.
    static func walk(
        _ fixture: SessionFixture, _ sessionId: String, profiles: [(String, Identity)], expected: [Kind: [String]]
    ) {
        #expect(Set(expected.keys) == Set(Kind.allCases))
        for kind in Kind.allCases {
            let row = expected[kind]!
            #expect(row.count == profiles.count, "\(kind)")
            for ((label, who), want) in zip(profiles, row) {
                let f = fixture
                let session = f.book.session(sessionId)
                let got = f.refusal(request(kind, sessionId), who).map(\.code.rawValue) ?? "ok"
                #expect(got == want, "\(kind.rawValue) by \(label)")
                // The matrix is the source: allowed callers hold a relation of their row, refused ones none.
                let relations = SessionAuthorization.relations(kind, who.role) ?? []
                let holds = relations.contains { SessionAuthorization.holds($0, who, kind == .create ? nil : session) }
                let queueWatchOrCreate = kind == .create || kind == .queueWatch
                if want == "ok" { #expect(holds || queueWatchOrCreate, "\(kind.rawValue) by \(label)") }
                if want == "forbidden", !queueWatchOrCreate { #expect(!holds, "\(kind.rawValue) by \(label)") }
            }
        }
    }

    @Test func everyRoleAndRequestOnAQueuedSession() throws {
        var f = SessionFixture()
        let id = try f.created()
        let profiles: [(String, Identity)] = [
            ("creating clerk", SessionPeople.clerkA), ("approver of the queued unit", SessionPeople.approverB),
            ("approver of another unit", SessionPeople.approverD),
            ("applicant with its sid", SessionPeople.applicant(id)),
            ("applicant of another sid", SessionPeople.applicant("s_9")), ("ops", SessionPeople.ops),
        ]
        let f6 = "forbidden"
        Self.walk(
            f, id, profiles: profiles,
            expected: [
                .create: ["ok", "ok", "ok", f6, f6, f6],
                .queueWatch: ["ok", "ok", "ok", f6, f6, f6],
                .accept: ["invalid_state", "ok", f6, f6, f6, f6],
                .decline: ["invalid_state", "ok", f6, f6, f6, f6],
                .transfer: ["invalid_state", f6, f6, f6, f6, f6],
                .invite: ["invalid_state", f6, f6, f6, f6, f6],
                .applicantToken: ["ok", f6, f6, f6, f6, f6],
                .join: ["ok", f6, f6, "ok", f6, f6],
                .leave: ["ok", f6, f6, f6, f6, f6],
                .end: ["ok", f6, f6, f6, f6, f6],
                .chat: ["ok", f6, f6, f6, f6, f6],
            ])
    }

    @Test func everyRoleAndRequestOnAnActiveSession() throws {
        var f = SessionFixture()
        let id = try f.active()
        try f.run(.join(sessionId: id, lastSeq: 0), SessionPeople.applicant(id))
        let profiles: [(String, Identity)] = [
            ("creating clerk", SessionPeople.clerkA), ("accepting approver", SessionPeople.approverB),
            ("approver of a joined unit", SessionPeople.approverB2),
            ("approver of another unit", SessionPeople.approverD),
            ("applicant with its sid", SessionPeople.applicant(id)),
            ("applicant of another sid", SessionPeople.applicant("s_9")),
            ("ops", SessionPeople.ops),
        ]
        let f6 = "forbidden"
        let inv = "invalid_state"
        Self.walk(
            f, id, profiles: profiles,
            expected: [
                .create: ["ok", "ok", "ok", "ok", f6, f6, f6],
                .queueWatch: ["ok", "ok", "ok", "ok", f6, f6, f6],
                .accept: [inv, inv, inv, f6, f6, f6, f6],
                .decline: [inv, inv, inv, f6, f6, f6, f6],
                .transfer: ["ok", "ok", f6, f6, f6, f6, f6],
                .invite: ["ok", "ok", f6, f6, f6, f6, f6],
                .applicantToken: ["ok", "ok", f6, f6, f6, f6, f6],
                .join: ["ok", "ok", "ok", f6, "ok", f6, f6],
                .leave: ["ok", "ok", f6, f6, "ok", f6, f6],
                .end: ["ok", "ok", f6, f6, f6, f6, f6],
                .chat: ["ok", "ok", f6, f6, "ok", f6, f6],
            ])
    }

    @Test func unknownSessionsAreNotFoundForAllowedRolesOnly() {
        let f = SessionFixture()
        #expect(f.refusal(.chat(sessionId: "s_404", text: "x"), SessionPeople.clerkA)?.code == .notFound)
        #expect(f.refusal(.join(sessionId: "s_404", lastSeq: 0), SessionPeople.applicant("s_404"))?.code == .notFound)
        #expect(
            f.refusal(.end(sessionId: "s_404", outcome: .completed, note: nil), SessionPeople.ops)?.code == .forbidden)
        #expect(f.refusal(.accept(sessionId: "s_404"), SessionPeople.applicant("s_404"))?.code == .forbidden)
    }
}
