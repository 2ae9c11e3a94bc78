import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

/// What a holder of a valid applicant token (role applicant, `sid` of one session) can and cannot do, over
/// sockets and HTTP (docs/security.md). Two active sessions, A and B, between a clerk of qd-xihaian and an
/// approver of sz-futian, each with a form open; the applicant holds the server's token for A.
@Suite("The applicant's boundary (docs/security.md)")
struct ApplicantBoundaryTests {
    static let service = "business-licence-change"
    static let form = "business-licence"

    struct Windows {
        let relay: TestRelay
        let clerk: Device
        let approver: Device
        let a: String
        let b: String
        let formA: String
        let formB: String
        let tokenA: String
        var subA: String { SessionBook.applicantSub(of: a) }

        static func open() async throws -> Windows {
            let relay = try await TestRelay.started()
            let clerk = try await Device.hello(relay, "clerk-qd", .clerk, unit: "qd-xihaian")
            let approver = try await Device.hello(relay, "approver-sz", .approver, unit: "sz-futian")
            var sids: [String] = []
            var forms: [String] = []
            for _ in 0..<2 {
                let create: [String: JSONValue] = ["service": .string(service), "toUnit": "sz-futian"]
                let sid = try Wire.sessionId(try await clerk.ok("session.create", create))
                try await approver.ok("session.accept", ["sessionId": .string(sid)])
                let opened = try await approver.ok("form.open", ["sessionId": .string(sid), "form": .string(form)])
                sids.append(sid)
                forms.append(try #require(opened["formId"]?.stringValue))
            }
            let grant = try await clerk.ok(
                "session.applicantToken",
                ["sessionId": .string(sids[0]), "ttlSeconds": 600]
            )
            return Windows(
                relay: relay,
                clerk: clerk,
                approver: approver,
                a: sids[0],
                b: sids[1],
                formA: forms[0],
                formB: forms[1],
                tokenA: try #require(grant["token"]?.stringValue)
            )
        }

        /// The applicant's device: hello with the token of A, then (by default) join A.
        func applicant(join: Bool = true) async throws -> Device {
            let device = try await Device.hello(client: relay.client, port: relay.port, sub: subA, token: tokenA)
            if join { try await device.ok("session.join", ["sessionId": .string(a)]) }
            return device
        }

        func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }
    }

    /// Every request that names a session, with fields that make it valid, so that only who sends it decides.
    static func requests(session sid: String, form formId: String, to: String) -> [(String, [String: JSONValue])] {
        let s = JSONValue.string(sid)
        let f = JSONValue.string(formId)
        return [
            ("session.join", ["sessionId": s]),
            ("session.leave", ["sessionId": s]),
            ("chat.send", ["sessionId": s, "text": "hi"]),
            ("session.accept", ["sessionId": s]),
            ("session.decline", ["sessionId": s, "reason": "x"]),
            ("session.transfer", ["sessionId": s, "toUnit": "sh-pudong", "reason": "x"]),
            ("session.invite", ["sessionId": s, "unit": "sh-pudong"]),
            ("session.applicantToken", ["sessionId": s, "ttlSeconds": 600]),
            ("session.end", ["sessionId": s, "outcome": "completed"]),
            ("form.open", ["sessionId": s, "form": .string(form)]),
            ("form.set", ["sessionId": s, "formId": f, "field": "companyName", "value": "x", "baseVersion": 0]),
            ("form.guide", ["sessionId": s, "formId": f, "field": "companyName", "kind": "hint", "text": "x"]),
            ("form.acceptSuggestion", ["sessionId": s, "formId": f, "field": "companyName"]),
            ("form.submit", ["sessionId": s, "formId": f]),
            ("audio.open", ["sessionId": s, "codec": "opus", "sampleRate": 48000, "channels": 1]),
            ("signal", ["sessionId": s, "to": .string(to), "data": ["sdp": "v=0"]]),
            (
                "doc.offer",
                [
                    "sessionId": s, "name": "a.pdf", "mime": "application/pdf", "size": 1000,
                    "sha256": .string(String(repeating: "a", count: 64)),
                ]
            ),
        ]
    }

    @Test func anotherSessionIsForbiddenForEveryRequestAndOverHTTP() async throws {
        let w = try await Windows.open()
        let applicant = try await w.applicant()
        let replies = try await applicant.pipelined(Self.requests(session: w.b, form: w.formB, to: "clerk-qd"))
        for ((type, _), reply) in zip(Self.requests(session: w.b, form: w.formB, to: "clerk-qd"), replies) {
            #expect(reply["code"] == "forbidden", "\(type) into another session: \(reply)")
        }
        #expect(try await applicant.refusal("session.join", ["sessionId": "s_nosuchsession"]) == "not_found")
        // Nothing happened in B: the clerk's view of it ends with the form being opened.
        try await w.clerk.barrier()
        #expect(w.clerk.events(of: w.b).last?["type"] == "form.opened")

        let auth = w.bearer(w.tokenA)
        #expect(try w.relay.get("/v1/sessions/\(w.b)/record", headers: auth).status == 403)
        #expect(try w.relay.get("/v1/sessions/\(w.b)/documents/d_any", headers: auth).status == 403)
        #expect(try w.relay.get("/v1/sessions/\(w.a)/record", headers: auth).status == 200)
    }

    @Test func inItsOwnSessionItSendsNoStaffRequestsAndNoOpsOnes() async throws {
        let w = try await Windows.open()
        let applicant = try await w.applicant()
        let staffOnly: Set = [
            "session.accept", "session.decline", "session.transfer", "session.invite", "session.applicantToken",
            "session.end", "form.open", "form.guide",
        ]
        let requests = Self.requests(session: w.a, form: w.formA, to: "clerk-qd").filter { staffOnly.contains($0.0) }
        #expect(requests.count == staffOnly.count)
        for (type, reply) in zip(requests.map(\.0), try await applicant.pipelined(requests)) {
            #expect(reply["code"] == "forbidden", "\(type) by the applicant: \(reply)")
        }
        #expect(try await applicant.refusal("session.create", Wire.create("sz-futian")) == "forbidden")
        #expect(try await applicant.refusal("queue.watch") == "forbidden")
        #expect(try await applicant.refusal("ops.watch") == "forbidden")

        let auth = w.bearer(w.tokenA)
        #expect(try w.relay.get("/v1/ops/sessions", headers: auth).status == 403)
        #expect(try w.relay.get("/v1/ops/sessions/\(w.a)", headers: auth).status == 403)
        for path in ["/v1/ops/sessions/\(w.a)/end", "/v1/ops/sessions/\(w.a)/participants/clerk-qd/kick"] {
            let posted = try HTTPTestClient.request(
                port: w.relay.port,
                method: "POST",
                path: path,
                headers: auth,
                body: Array("{}".utf8)
            )
            #expect(posted.status == 403, "POST \(path)")
        }
        // The session is as it was: active, the clerk still in it, no queue entry for another unit.
        try await w.clerk.ok("chat.send", ["sessionId": .string(w.a), "text": "still here"])
        try await w.clerk.barrier()
        let types = w.clerk.events(of: w.a).map { $0["type"]?.stringValue ?? "" }
        #expect(!types.contains("session.ended") && !types.contains("participant.left"))
        #expect(types.filter { $0 == "session.state" }.count == 2)  // created, accepted
    }

    @Test func inItsOwnSessionItChatsFillsTheFormAndTalksOnItsOwnTrackOnly() async throws {
        let w = try await Windows.open()
        let applicant = try await w.applicant()
        try await applicant.ok("chat.send", ["sessionId": .string(w.a), "text": "你好"])
        let changed = try await applicant.ok(
            "form.set",
            [
                "sessionId": .string(w.a), "formId": .string(w.formA), "field": "companyName", "value": "青岛某某有限公司",
                "baseVersion": 0,
            ]
        )
        #expect(changed.objectValue != nil)
        #expect(try await w.clerk.next("form.changed", session: w.a)["actor"] == .string(w.subA))
        try await w.clerk.ok("signal", ["sessionId": .string(w.a), "to": .string(w.subA), "data": "offer"])
        try await applicant.ok("signal", ["sessionId": .string(w.a), "to": "clerk-qd", "data": "answer"])
        #expect(try await w.clerk.next("signal")["from"] == .string(w.subA))

        let clerkTrack = try #require(
            try await w.clerk.ok("audio.open", ["sessionId": .string(w.a)])["track"]?.intValue
        )
        let mine = try #require(try await applicant.ok("audio.open", ["sessionId": .string(w.a)])["track"]?.intValue)
        #expect(mine != clerkTrack)
        let packet = try AudioTests.sinePackets(count: 1)[0]
        // On the clerk's track: refused, not forwarded; closing the clerk's track: not found.
        applicant.connection.send(binary: try AudioTests.frame(track: UInt16(clerkTrack), seq: 0, timestamp: 0, packet))
        #expect(try await applicant.next("error")["code"] == "bad_request")
        #expect(
            try await applicant.refusal(
                "audio.close",
                ["sessionId": .string(w.a), "track": .number(Double(clerkTrack))]
            )
                == "not_found"
        )
        // On its own track: forwarded to the clerk unchanged.
        let own = try AudioTests.frame(track: UInt16(mine), seq: 0, timestamp: 0, packet)
        applicant.connection.send(binary: own)
        var forwarded: [[UInt8]] = []
        while forwarded.isEmpty, let event = try? await w.clerk.connection.next(timeout: 5) {
            if case .binary(let bytes) = event { forwarded.append(bytes) }
        }
        #expect(forwarded == [own])

        // Someone else's upload is not its to feed.
        let file = TestFile.pdf(1000)
        let offered = try await w.clerk.ok(
            "doc.offer",
            [
                "sessionId": .string(w.a), "name": "a.pdf", "mime": "application/pdf", "size": 1000,
                "sha256": .string(file.sha256),
            ]
        )
        let upload = try #require(offered["upload"]?.intValue)
        applicant.connection.sendChunks(upload: upload, file.bytes, upTo: 100)
        #expect(try await applicant.next("error")["code"] == "not_found")
    }

    /// The token of A with its payload changed to B, keeping A's signature; and other forgeries.
    static func forgeries(_ w: Windows) -> [(String, String)] {
        let parts = w.tokenA.split(separator: ".").map(String.init)
        let now = Int64(Date().timeIntervalSince1970)
        let payloadB = #"{"exp":\#(now + 600),"role":"applicant","sid":"\#(w.b)","sub":"\#(w.subA)"}"#
        let flipped = parts[2].last == "A" ? "B" : "A"
        return [
            ("sid swapped, old signature", parts[0] + "." + HelloTests.base64url(payloadB) + "." + parts[2]),
            ("alg none", HelloTests.unsigned(header: #"{"alg":"none","typ":"JWT"}"#, payload: payloadB) + "."),
            ("alg HS512", HelloTests.base64url(#"{"alg":"HS512","typ":"JWT"}"#) + "." + parts[1] + "." + parts[2]),
            ("signature changed", parts[0] + "." + parts[1] + "." + parts[2].dropLast() + flipped),
            ("expired", w.relay.token(w.subA, .applicant, session: w.a, ttl: -120)),
            (
                "a clerk's claims, old signature",
                HelloTests.signed(w.relay, #"{"sub":"x","role":"clerk","exp":\#(now + 60)}"#)
                    .split(separator: ".").prefix(2).joined(separator: ".") + "." + parts[2]
            ),
        ]
    }

    @Test func forgedOrExpiredTokensAreRefusedOnTheSocketAndOverHTTP() async throws {
        let w = try await Windows.open()
        for (name, token) in Self.forgeries(w) {
            let c = try await w.relay.connect()
            c.send(json: ["type": "hello", "id": "f", "token": .string(token)])
            let reply = try await c.nextJSON()
            #expect(reply["code"] == "unauthorized", "\(name): \(reply)")
            #expect(try await c.closeCode() == 4401, "\(name)")
            #expect(try w.relay.get("/v1/sessions/\(w.a)/record", headers: w.bearer(token)).status == 401, "\(name)")
        }
        // The genuine token still works.
        _ = try await w.applicant()
    }

    @Test func afterItsSessionEndedTheTokenOnlyReadsTheRecord() async throws {
        let w = try await Windows.open()
        let first = try await w.applicant()
        try await w.clerk.ok("session.end", ["sessionId": .string(w.a), "outcome": "completed"])
        _ = try await first.next("session.ended", session: w.a)

        // A device coming back with the same token: hello works, the join replays the ended session.
        let again = try await w.applicant(join: false)
        let joined = try await again.ok("session.join", ["sessionId": .string(w.a)])
        #expect(joined["session"]?["state"] == "ended")
        #expect(joined["replayed"] == true)
        let changes = Self.requests(session: w.a, form: w.formA, to: "clerk-qd").filter {
            ["chat.send", "form.set", "form.submit", "audio.open", "doc.offer", "session.leave"].contains($0.0)
        }
        for (type, reply) in zip(changes.map(\.0), try await again.pipelined(changes)) {
            #expect(reply["code"] == "invalid_state", "\(type) after the end: \(reply)")
        }
        #expect(
            try await again.refusal("session.applicantToken", ["sessionId": .string(w.a), "ttlSeconds": 60])
                == "forbidden"
        )
        #expect(try w.relay.get("/v1/sessions/\(w.a)/record", headers: w.bearer(w.tokenA)).status == 200)
    }

    @Test func aKickedApplicantNoLongerJoinsReadsTheRecordOrDownloads() async throws {
        let u = try await DocumentDownloadTests.uploaded(size: 5000)
        let sid = u.session.sessionId
        let grant = try await u.session.clerk.request([
            "type": "session.applicantToken", "id": "t", "sessionId": .string(sid), "ttlSeconds": 600,
        ])
        let token = try #require(grant["result"]?["token"]?.stringValue)
        let sub = SessionBook.applicantSub(of: sid)
        let applicant = try await Device.hello(client: u.relay.client, port: u.relay.port, sub: sub, token: token)
        try await applicant.ok("session.join", ["sessionId": .string(sid)])
        let auth = ["Authorization": "Bearer \(token)"]
        #expect(try u.relay.get("/v1/sessions/\(sid)/record", headers: auth).status == 200)
        #expect(try u.relay.download(u.path, headers: auth).status == 200)

        let kick = try HTTPTestClient.request(
            port: u.relay.port,
            method: "POST",
            path: "/v1/ops/sessions/\(sid)/participants/\(sub)/kick",
            headers: ["Authorization": "Bearer \(u.relay.token("ops-1", .ops))"]
        )
        #expect(kick.status == 200)
        #expect(try await applicant.closeCode() == 4403)
        #expect(try u.relay.get("/v1/sessions/\(sid)/record", headers: auth).status == 403)
        #expect(try u.relay.download(u.path, headers: auth).status == 403)
        let back = try await Device.hello(client: u.relay.client, port: u.relay.port, sub: sub, token: token)
        #expect(try await back.refusal("session.join", ["sessionId": .string(sid)]) == "forbidden")
    }

    @Test func itOpensAFewAudioTracksNotThousands() async throws {
        let w = try await Windows.open()
        let applicant = try await w.applicant()
        let open: (String, [String: JSONValue]) = ("audio.open", ["sessionId": .string(w.a)])
        let replies = try await applicant.pipelined(Array(repeating: open, count: 10))
        let opened = replies.compactMap { $0["result"]?["track"]?.intValue }
        #expect(opened.count == 4)
        #expect(replies.dropFirst(4).allSatisfy { $0["code"] == "rate_limited" })
        // Closing one makes room for another.
        try await applicant.ok("audio.close", ["sessionId": .string(w.a), "track": .number(Double(opened[0]))])
        #expect(try await applicant.ok("audio.open", ["sessionId": .string(w.a)])["track"] != nil)
    }

    @Test func staffOfAnotherUnitNeitherActsInNorReadsASession() async throws {
        let w = try await Windows.open()
        let outsider = try await Device.hello(w.relay, "approver-xa", .approver, unit: "xa-yanta")
        let requests = Self.requests(session: w.a, form: w.formA, to: "clerk-qd")
        for ((type, _), reply) in zip(requests, try await outsider.pipelined(requests)) {
            // Accept and decline too: the session is not waiting for its unit.
            #expect(reply["code"] == "forbidden", "\(type) by staff of another unit: \(reply)")
        }
        let auth = ["Authorization": "Bearer \(w.relay.token("approver-xa", .approver, unit: "xa-yanta"))"]
        #expect(try w.relay.get("/v1/sessions/\(w.a)/record", headers: auth).status == 403)
        #expect(try w.relay.get("/v1/ops/sessions", headers: auth).status == 403)
    }

    @Test func aStaffTokenWithoutAUnitIsRefusedAtHello() async throws {
        let relay = try await TestRelay.started()
        let c = try await relay.connect()
        c.send(json: ["type": "hello", "id": "u", "token": .string(relay.token("clerk-nowhere", .clerk))])
        let reply = try await c.nextJSON()
        #expect(reply["code"] == "unauthorized")
        #expect(try await c.closeCode() == 4401)
    }
}
