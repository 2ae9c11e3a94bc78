import Foundation
import RelayClient
import RelayCore
import RelayMedia
import RelayServer
import Testing

@Suite("Form-fill guidance (PROTOCOL §5)")
struct FormFlowTests {
    static let local = "qd-xihaian"
    static let remote = "sz-futian"
    static let service = "business-licence-change"
    static let form = "business-licence"

    /// An active session: clerk at `local` created it, approver at `remote` accepted it, the clerk made an
    /// applicant token.
    struct Window {
        var clerk: ClientConnection
        var approver: ClientConnection
        var sid: String
        var applicantToken: String
        var applicantSub: String { "applicant-" + sid }
    }

    static func window(_ relay: TestRelay) async throws -> Window {
        let clerk = try await relay.join("clerk-1", .clerk, unit: local)
        let approver = try await relay.join("approver-1", .approver, unit: remote)
        let created = try await ok(
            clerk,
            ["type": "session.create", "service": .string(service), "toUnit": .string(remote)]
        )
        let sid = try #require(created["session"]?["id"]?.stringValue)
        _ = try await ok(approver, ["type": "session.accept", "sessionId": .string(sid)])
        let grant = try await ok(
            clerk,
            ["type": "session.applicantToken", "sessionId": .string(sid), "ttlSeconds": 600]
        )
        let token = try #require(grant["token"]?.stringValue)
        return Window(clerk: clerk, approver: approver, sid: sid, applicantToken: token)
    }

    /// The applicant's device: hello with the token from `session.applicantToken` (and `lang`), then join.
    static func applicant(
        _ relay: TestRelay,
        _ w: Window,
        lang: String? = nil,
        lastSeq: Int = 0
    ) async throws -> (ClientConnection, JSONValue) {
        let c = try await relay.connect()
        var hello: [String: JSONValue] = ["type": "hello", "token": .string(w.applicantToken)]
        if let lang { hello["lang"] = .string(lang) }
        let greeting = try await ok(c, .object(hello))
        #expect(greeting["role"] == "applicant" && greeting["lang"] == lang.map(JSONValue.string))
        let joined = try await ok(
            c,
            ["type": "session.join", "sessionId": .string(w.sid), "lastSeq": JSONValue(lastSeq)]
        )
        return (c, joined)
    }

    /// Sends `body` with a fresh id and returns the whole reply.
    static func call(_ c: ClientConnection, _ body: JSONValue) async throws -> JSONValue {
        guard case .object(var o) = body else { throw TestFailure("a request is an object") }
        o["id"] = .string(UUID().uuidString)
        return try await c.request(.object(o))
    }

    /// The `result` of an `ok` reply; anything else fails.
    static func ok(_ c: ClientConnection, _ body: JSONValue) async throws -> JSONValue {
        let reply = try await call(c, body)
        guard reply["type"] == "ok", let result = reply["result"] else { throw TestFailure("not ok: \(reply)") }
        return result
    }

    /// The next event of `type` on `c` (other messages before it are skipped).
    static func event(_ c: ClientConnection, _ type: String) async throws -> JSONValue {
        try await c.next(type: type)
    }

    static func set(_ sid: String, _ formId: String, _ field: String, _ value: JSONValue, base: Int) -> JSONValue {
        [
            "type": "form.set", "sessionId": .string(sid), "formId": .string(formId), "field": .string(field),
            "value": value, "baseVersion": JSONValue(base),
        ]
    }

    static func guide(
        _ sid: String,
        _ formId: String,
        _ field: String,
        _ kind: String,
        text: String? = nil,
        value: JSONValue? = nil
    ) -> JSONValue {
        var o: [String: JSONValue] = [
            "type": "form.guide", "sessionId": .string(sid), "formId": .string(formId), "field": .string(field),
            "kind": .string(kind),
        ]
        if let text { o["text"] = .string(text) }
        if let value { o["value"] = value }
        return .object(o)
    }

    static func open(_ sid: String, _ form: String = form) -> JSONValue {
        ["type": "form.open", "sessionId": .string(sid), "form": .string(form)]
    }

    static func accept(_ sid: String, _ formId: String, _ field: String) -> JSONValue {
        [
            "type": "form.acceptSuggestion", "sessionId": .string(sid), "formId": .string(formId),
            "field": .string(field),
        ]
    }

    static func submit(_ sid: String, _ formId: String) -> JSONValue {
        ["type": "form.submit", "sessionId": .string(sid), "formId": .string(formId)]
    }

    // MARK: The whole flow

    @Test func approverGuidesApplicantFillsConflictSuggestionAndSubmit() async throws {
        let relay = try TestRelay()
        let w = try await Self.window(relay)
        let (applicant, joined) = try await Self.applicant(relay, w, lang: "en")
        #expect(joined["forms"] == [])

        // Staff only: the applicant cannot open a form.
        #expect(try await Self.call(applicant, Self.open(w.sid))["code"] == "forbidden")
        let formId = try #require(try await Self.ok(w.approver, Self.open(w.sid))["formId"]?.stringValue)
        #expect(formId.hasPrefix("f_"))
        let opened = try await Self.event(applicant, "form.opened")
        #expect(opened["formId"] == .string(formId) && opened["template"]?["id"] == .string(Self.form))
        #expect(opened["versions"]?["phone"] == 0 && opened["values"] == [:] && opened["actor"] == "approver-1")
        #expect(try await Self.event(w.clerk, "form.opened")["seq"] == opened["seq"])

        // Guidance: highlight, hint, suggest.
        _ = try await Self.ok(w.approver, Self.guide(w.sid, formId, "creditCode", "highlight"))
        _ = try await Self.ok(w.approver, Self.guide(w.sid, formId, "phone", "hint", text: "11 位手机号"))
        _ = try await Self.ok(w.approver, Self.guide(w.sid, formId, "changeItem", "suggest", text: "选住所", value: "住所"))
        var kinds: [String] = []
        for _ in 0..<3 { kinds.append(try await Self.event(applicant, "form.guidance")["kind"]?.stringValue ?? "") }
        #expect(kinds == ["highlight", "hint", "suggest"])

        // The applicant fills; problems are in its language (en), stored anyway.
        let name = try await Self.ok(applicant, Self.set(w.sid, formId, "companyName", "青岛海岸科技有限公司", base: 0))
        #expect(name == ["version": 1])
        _ = try await Self.ok(applicant, Self.set(w.sid, formId, "phone", "1381234", base: 0))
        let nameChanged = try await Self.event(w.approver, "form.changed")
        #expect(nameChanged["field"] == "companyName" && nameChanged["version"] == 1)
        #expect(nameChanged["actor"] == .string(w.applicantSub) && nameChanged["problems"] == [])
        let phoneChanged = try await Self.event(w.approver, "form.changed")
        #expect(phoneChanged["problems"] == [["code": "pattern", "message": #""联系电话" is not in the required format"#]])

        // Two devices typed into the same field: the one with the stale version gets the current value.
        let stale = try await Self.call(w.clerk, Self.set(w.sid, formId, "phone", "13812345678", base: 0))
        #expect(stale["type"] == "error" && stale["code"] == "conflict")
        #expect(stale["current"] == ["value": "1381234", "version": 1])
        #expect(try await Self.ok(w.clerk, Self.set(w.sid, formId, "phone", "13812345678", base: 1)) == ["version": 2])

        // The applicant takes the suggestion.
        #expect(try await Self.ok(applicant, Self.accept(w.sid, formId, "changeItem")) == ["version": 1])
        var changed = try await Self.event(w.approver, "form.changed")
        while changed["field"] != "changeItem" { changed = try await Self.event(w.approver, "form.changed") }
        #expect(changed["value"] == "住所" && changed["actor"] == .string(w.applicantSub))

        // Submit: refused while required fields are missing, every failing field named.
        let refused = try await Self.call(applicant, Self.submit(w.sid, formId))
        #expect(refused["code"] == "bad_request")
        let problems = refused["problems"]?.objectValue ?? [:]
        #expect(Set(problems.keys) == ["creditCode", "legalRepName", "legalRepId", "changeDate"])
        #expect(problems["legalRepName"] == [["code": "required", "message": #""法定代表人姓名" is required"#]])

        let rest: [(String, JSONValue)] = [
            ("creditCode", "91370211MA3C123456"), ("legalRepName", "王五"), ("legalRepId", "11010519491231002X"),
            ("changeDate", "2026-11-20"), ("capital", 500),
        ]
        for (field, value) in rest { _ = try await Self.ok(applicant, Self.set(w.sid, formId, field, value, base: 0)) }
        let submitted = try await Self.ok(w.clerk, Self.submit(w.sid, formId))

        let values: JSONValue = [
            "companyName": "青岛海岸科技有限公司", "phone": "13812345678", "changeItem": "住所",
            "creditCode": "91370211MA3C123456", "legalRepName": "王五", "legalRepId": "11010519491231002X",
            "changeDate": "2026-11-20", "capital": 500,
        ]
        let expected = SHA256.hex(values.canonicalBytes)
        #expect(submitted == ["sha256": .string(expected)])
        let event = try await Self.event(applicant, "form.submitted")
        #expect(event["values"] == values && event["sha256"] == .string(expected) && event["actor"] == "clerk-1")
        let late = try await Self.call(applicant, Self.set(w.sid, formId, "phone", "1", base: 2))
        #expect(late["code"] == "invalid_state", "a submitted form no longer changes")
    }

    // MARK: Late joiners and reconnecting devices

    @Test func lateJoinerAndReconnectingDeviceGetEveryOpenFormInTheJoinResult() async throws {
        let relay = try TestRelay()
        let w = try await Self.window(relay)
        let first = try #require(try await Self.ok(w.approver, Self.open(w.sid))["formId"]?.stringValue)
        let second = try #require(
            try await Self.ok(w.clerk, Self.open(w.sid, "social-insurance-transfer"))["formId"]?.stringValue
        )
        _ = try await Self.ok(w.clerk, Self.set(w.sid, first, "companyName", "海岸科技", base: 0))
        _ = try await Self.ok(w.clerk, Self.set(w.sid, second, "idNumber", "110105194912310021", base: 0))
        _ = try await Self.ok(w.approver, Self.guide(w.sid, first, "changeItem", "suggest", value: "名称"))

        // A late joiner: the state of both forms, in open order, with problems in its language, then the replay.
        let (applicant, joined) = try await Self.applicant(relay, w, lang: "en")
        let forms = try #require(joined["forms"]?.arrayValue)
        #expect(forms.map { $0["formId"] } == [.string(first), .string(second)])
        #expect(forms[0]["values"] == ["companyName": "海岸科技"] && forms[0]["versions"]?["companyName"] == 1)
        #expect(forms[0]["suggestions"] == ["changeItem": "名称"] && forms[0]["submitted"] == false)
        #expect(forms[1]["template"]?["id"] == "social-insurance-transfer")
        let checksum = #""居民身份证号码" has a check character that does not match; please check the number"#
        #expect(forms[1]["problems"]?["idNumber"] == [["code": "idNumber", "message": .string(checksum)]])
        #expect(joined["replayed"] == true)
        #expect(try await Self.event(applicant, "form.opened")["formId"] == .string(first))
        let seenThrough = try #require(joined["lastSeq"]?.intValue)

        // The device drops; a change happens while it is away; it comes back with the seq it had.
        applicant.close()
        _ = try await Self.event(w.clerk, "participant.away")
        _ = try await Self.ok(w.clerk, Self.set(w.sid, first, "companyName", "海岸科技有限公司", base: 1))
        let (back, rejoined) = try await Self.applicant(relay, w, lastSeq: seenThrough)
        let state = try #require(rejoined["forms"]?.arrayValue?.first)
        #expect(state["values"]?["companyName"] == "海岸科技有限公司" && state["versions"]?["companyName"] == 2)
        #expect(
            rejoined["forms"]?.arrayValue?.last?["problems"]?["idNumber"]?.arrayValue?.first?["message"]
                == "“居民身份证号码”校验码不符，请核对号码",
            "problems in this device's language (zh)"
        )
        let missed = try await Self.event(back, "form.changed")
        #expect(missed["value"] == "海岸科技有限公司" && (missed["seq"]?.intValue ?? 0) > seenThrough)
        #expect((missed["seq"]?.intValue ?? .max) <= rejoined["lastSeq"]?.intValue ?? 0, "replayed, already in forms")
    }

    // MARK: Restart

    @Test func aRestartOnTheSameDataDirKeepsTheFormState() async throws {
        let dataDir = TestRelay.temporaryDirectory()
        let first = try TestRelay(dataDir: dataDir)
        let w = try await Self.window(first)
        let formId = try #require(try await Self.ok(w.approver, Self.open(w.sid))["formId"]?.stringValue)
        _ = try await Self.ok(w.clerk, Self.set(w.sid, formId, "companyName", "海岸科技", base: 0))
        _ = try await Self.ok(w.clerk, Self.set(w.sid, formId, "companyName", "海岸科技有限公司", base: 1))
        _ = try await Self.ok(w.approver, Self.guide(w.sid, formId, "changeItem", "suggest", value: "住所"))
        _ = try await Self.ok(w.approver, Self.guide(w.sid, formId, "phone", "hint", text: "手机号"))
        first.server.shutdown(grace: .milliseconds(500))

        let second = try TestRelay(dataDir: dataDir)
        let clerk = try await second.join("clerk-1", .clerk, unit: Self.local)
        let joined = try await Self.ok(clerk, ["type": "session.join", "sessionId": .string(w.sid), "lastSeq": 0])
        let form = try #require(joined["forms"]?.arrayValue?.first)
        #expect(joined["forms"]?.arrayValue?.count == 1)
        #expect(form["formId"] == .string(formId) && form["values"] == ["companyName": "海岸科技有限公司"])
        #expect(form["versions"]?["companyName"] == 2 && form["versions"]?["phone"] == 0)
        #expect(form["suggestions"] == ["changeItem": "住所"])
        #expect(form["guidance"]?["phone"]?["hint"] == ["text": "手机号"])

        // The versions go on from where they were; a stale one is still a conflict.
        let stale = try await Self.call(clerk, Self.set(w.sid, formId, "companyName", "x", base: 1))
        #expect(stale["code"] == "conflict" && stale["current"] == ["value": "海岸科技有限公司", "version": 2])
        #expect(try await Self.ok(clerk, Self.set(w.sid, formId, "companyName", "海岸", base: 2)) == ["version": 3])
        let accepted = try await Self.ok(clerk, Self.accept(w.sid, formId, "changeItem"))
        #expect(accepted == ["version": 1], "the suggestion survived the restart")
    }
}
