import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

/// Who may send which §3 request, over sockets: every request type × every kind of caller, against a session
/// created by a clerk of qd-xihaian for cd-gaoxin, in each of its phases.
@Suite("Session authorization over sockets (PROTOCOL §3)")
struct AuthorizationMatrixTests {
    enum Caller: String, CaseIterable, CustomTestStringConvertible {
        /// The clerk of qd-xihaian who created the session.
        case clerk
        /// Another clerk of qd-xihaian, not in the session.
        case colleagueOfClerk
        /// An approver of cd-gaoxin: the unit it was created for (the accepter once active).
        case approverOfQueuedUnit
        /// An approver of xa-yanta, which has nothing to do with it.
        case approverOfOtherUnit
        /// An applicant whose token comes from `session.applicantToken` of this session.
        case applicant
        /// An applicant whose token is scoped to another session.
        case applicantOfOtherSession
        case ops

        var testDescription: String { rawValue }

        var role: Role {
            switch self {
            case .clerk, .colleagueOfClerk: .clerk
            case .approverOfQueuedUnit, .approverOfOtherUnit: .approver
            case .applicant, .applicantOfOtherSession: .applicant
            case .ops: .ops
            }
        }
    }

    /// Where the session stands when the request is sent.
    enum Phase: String, CaseIterable, Sendable {
        /// Created, waiting for cd-gaoxin.
        case queued
        /// Accepted by the cd-gaoxin approver.
        case active
        /// Created, then ended by the clerk while still queued (cd-gaoxin never took part).
        case ended
    }

    /// `ok`, or the error code expected, per caller.
    typealias Row = [Caller: String]

    static let ok = "ok"
    static let no = "forbidden"
    static let bad = "invalid_state"

    /// The cells in the order of `Caller.allCases`: clerk, colleague of the clerk, approver of the queued unit,
    /// approver of another unit, applicant, applicant of another session, ops.
    static func row(_ cells: String...) -> Row {
        Dictionary(uniqueKeysWithValues: zip(Caller.allCases, cells))
    }

    static let anyStaff = row(ok, ok, ok, ok, no, no, no)

    static let expected: [Phase: [SessionRequest.Kind: Row]] = [
        .queued: [
            .create: anyStaff,
            .queueWatch: anyStaff,
            .accept: row(bad, bad, ok, no, no, no, no),
            .decline: row(bad, bad, ok, no, no, no, no),
            .transfer: row(bad, no, no, no, no, no, no),
            .invite: row(bad, no, no, no, no, no, no),
            .applicantToken: row(ok, no, no, no, no, no, no),
            .join: row(ok, ok, no, no, ok, no, no),
            .leave: row(ok, no, no, no, no, no, no),
            .end: row(ok, no, no, no, no, no, no),
            .chat: row(ok, no, no, no, no, no, no),
        ],
        .active: [
            .create: anyStaff,
            .queueWatch: anyStaff,
            .accept: row(bad, bad, bad, no, no, no, no),
            .decline: row(bad, bad, bad, no, no, no, no),
            .transfer: row(ok, no, ok, no, no, no, no),
            .invite: row(ok, no, ok, no, no, no, no),
            .applicantToken: row(ok, no, ok, no, no, no, no),
            .join: row(ok, ok, ok, no, ok, no, no),
            .leave: row(ok, no, ok, no, no, no, no),
            .end: row(ok, no, ok, no, no, no, no),
            .chat: row(ok, no, ok, no, no, no, no),
        ],
        .ended: [
            .create: anyStaff,
            .queueWatch: anyStaff,
            .accept: row(bad, bad, bad, bad, no, no, no),
            .decline: row(bad, bad, bad, bad, no, no, no),
            .transfer: row(bad, no, no, no, no, no, no),
            .invite: row(bad, no, no, no, no, no, no),
            .applicantToken: row(bad, no, no, no, no, no, no),
            // Participants and their units' staff may replay an ended session; cd-gaoxin never took part.
            .join: row(ok, ok, no, no, ok, no, no),
            .leave: row(bad, no, no, no, no, no, no),
            .end: row(bad, no, no, no, no, no, no),
            .chat: row(bad, no, no, no, no, no, no),
        ],
    ]

    /// The fields that make `kind` valid, so that only who sends it decides.
    static func fields(_ kind: SessionRequest.Kind, session: String) -> [String: JSONValue] {
        let sid = JSONValue.string(session)
        switch kind {
        case .create: return Wire.create("cd-gaoxin")
        case .queueWatch: return [:]
        case .accept, .leave: return ["sessionId": sid]
        case .decline: return ["sessionId": sid, "reason": "test"]
        case .transfer: return ["sessionId": sid, "toUnit": "hrb-nangang", "reason": "test"]
        case .invite: return ["sessionId": sid, "unit": "sh-pudong"]
        case .applicantToken: return ["sessionId": sid, "ttlSeconds": 600]
        case .join: return ["sessionId": sid, "lastSeq": 0]
        case .end: return ["sessionId": sid, "outcome": "cancelled", "note": "test"]
        case .chat: return ["sessionId": sid, "text": "test"]
        }
    }

    @Test func theTableAgreesWithTheCoreAboutRolesThatMayNeverSendARequest() {
        for (_, rows) in Self.expected {
            #expect(Set(rows.keys) == Set(SessionRequest.Kind.allCases))
            for (kind, row) in rows {
                #expect(row.count == Caller.allCases.count)
                for (caller, expected) in row where SessionAuthorization.relations(kind, caller.role) == nil {
                    #expect(expected == Self.no, "\(kind.rawValue) by \(caller)")
                }
            }
        }
    }

    /// Every request × every caller in one relay: a session of its own per cell (so that one success changes
    /// nothing for another cell), requests sent back to back.
    @Test(arguments: Phase.allCases)
    func everyCallerGetsWhatTheTableSays(_ phase: Phase) async throws {
        let relay = try await TestRelay.started()
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let staff: [Caller: Device] = [
            .clerk: clerk,
            .colleagueOfClerk: try await Device.hello(relay, "clerk-qd-2", .clerk, unit: "qd-xihaian"),
            .approverOfQueuedUnit: try await Device.hello(relay, "approver-cd", .approver, unit: "cd-gaoxin"),
            .approverOfOtherUnit: try await Device.hello(relay, "approver-xa", .approver, unit: "xa-yanta"),
            .ops: try await Device.hello(relay, "ops-1", .ops),
        ]
        let elsewhere = try Wire.sessionId(try await clerk.ok("session.create", Wire.create("xa-yanta")))
        let stranger = try await Device.hello(
            relay,
            SessionBook.applicantSub(of: elsewhere),
            .applicant,
            session: elsewhere
        )

        let cells = SessionRequest.Kind.allCases.flatMap { kind in Caller.allCases.map { (kind, $0) } }
        let created = try await clerk.pipelined(cells.map { _ in ("session.create", Wire.create("cd-gaoxin")) })
        let sids = try created.map { try Wire.sessionId($0["result"] ?? .null) }
        let tokens = try await clerk.pipelined(
            sids.map {
                ("session.applicantToken", ["sessionId": .string($0), "ttlSeconds": 600])
            }
        )
        switch phase {
        case .queued: break
        case .active:
            try Self.expectAllOK(
                try await staff[.approverOfQueuedUnit]!.pipelined(
                    sids.map {
                        ("session.accept", ["sessionId": .string($0)])
                    }
                )
            )
        case .ended:
            try Self.expectAllOK(
                try await clerk.pipelined(
                    sids.map {
                        ("session.end", ["sessionId": .string($0), "outcome": "cancelled"])
                    }
                )
            )
        }

        var outcomes = [String](repeating: "", count: cells.count)
        for caller in Caller.allCases {
            let mine = cells.indices.filter { cells[$0].1 == caller }
            var replies: [JSONValue] = []
            if caller == .applicant {
                for i in mine {
                    let applicant = try await Device.hello(
                        client: relay.client,
                        port: relay.port,
                        sub: SessionBook.applicantSub(of: sids[i]),
                        token: tokens[i]["result"]?["token"]?.stringValue ?? ""
                    )
                    replies.append(
                        try await applicant.request(cells[i].0.rawValue, Self.fields(cells[i].0, session: sids[i]))
                    )
                }
            } else {
                let device = caller == .applicantOfOtherSession ? stranger : staff[caller]!
                replies = try await device.pipelined(
                    mine.map {
                        (cells[$0].0.rawValue, Self.fields(cells[$0].0, session: sids[$0]))
                    }
                )
            }
            for (i, reply) in zip(mine, replies) {
                outcomes[i] = reply["type"] == "ok" ? Self.ok : reply["code"]?.stringValue ?? "\(reply)"
            }
        }
        for (i, (kind, caller)) in cells.enumerated() {
            #expect(outcomes[i] == Self.expected[phase]?[kind]?[caller], "\(kind.rawValue) by \(caller) (\(phase))")
        }
    }

    static func expectAllOK(_ replies: [JSONValue]) throws {
        if let refused = replies.first(where: { $0["type"] != "ok" }) { throw TestFailure("refused: \(refused)") }
    }

    @Test func anUnknownSessionIsNotFoundForStaffAndForbiddenForOps() async throws {
        let relay = try await TestRelay.started()
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let ops = try await Device.hello(relay, "ops-1", .ops)
        for kind in SessionRequest.Kind.allCases where kind != .create && kind != .queueWatch {
            let fields = Self.fields(kind, session: "s_nosuchsession")
            #expect(try await clerk.refusal(kind.rawValue, fields) == "not_found", "\(kind.rawValue)")
            #expect(try await ops.refusal(kind.rawValue, fields) == "forbidden", "\(kind.rawValue)")
        }
    }

    @Test func anApplicantTokenFromTheServerSaysHelloJoinsAndChats() async throws {
        let relay = try await TestRelay.started()
        let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
        let sid = try Wire.sessionId(try await clerk.ok("session.create", Wire.create("cd-gaoxin", applicant: "张三")))
        let granted = try await clerk.ok("session.applicantToken", ["sessionId": .string(sid), "ttlSeconds": 900])
        let token = try #require(granted["token"]?.stringValue)
        let expiresAt = try #require(granted["expiresAt"]?.stringValue.flatMap(RecordChecks.millis))
        #expect(try await clerk.next("applicant.tokenIssued", session: sid)["ttlSeconds"] == 900)

        // The token is the server's: signed with its secret, scoped to this session, expiring when it says.
        let claims = try relay.authority.verify(token, now: Int64(Date().timeIntervalSince1970))
        #expect(claims.role == .applicant)
        #expect(claims.sid == sid)
        #expect(claims.sub == SessionBook.applicantSub(of: sid))
        #expect(claims.exp == expiresAt / 1000)

        let applicant = try await Device.hello(client: relay.client, port: relay.port, sub: claims.sub, token: token)
        #expect(applicant.helloResult["participant"] == .string(claims.sub))
        #expect(applicant.helloResult["role"] == "applicant")
        #expect(applicant.helloResult["unit"] == nil)
        #expect(try await applicant.refusal("chat.send", ["sessionId": .string(sid), "text": "早"]) == "forbidden")

        let joinId = applicant.send("session.join", ["sessionId": .string(sid)])
        let joined = try await applicant.reply(to: joinId)
        #expect(joined["type"] == "ok")
        #expect(joined["result"]?["replayed"] == true)
        let latest = try #require(joined["result"]?["lastSeq"]?.intValue)
        try await applicant.barrier()
        let replay = applicant.received(after: joinId).filter { $0["seq"] != nil }
        #expect(replay.map(Wire.seq) == Array(1...latest))
        #expect(replay.last?["type"] == "participant.joined")
        #expect(replay.last?["participant"]?["id"] == .string(claims.sub))
        let announced = try await clerk.next {
            $0["type"] == "participant.joined" && $0["actor"] == .string(claims.sub)
        }
        #expect(announced["participant"]?["role"] == "applicant")

        try await applicant.ok("chat.send", ["sessionId": .string(sid), "text": "你好，我是张三"])
        let chat = try await clerk.next("chat", session: sid)
        #expect(chat["actor"] == .string(claims.sub))
        #expect(chat["text"] == "你好，我是张三")
    }
}
