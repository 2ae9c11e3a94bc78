import Foundation
import Testing

@testable import RelayCore

/// Form ids `f_1`, `f_2`, … in order.
final class FormIdCounter: @unchecked Sendable {
    // Guarded by `lock`: tests run in parallel.
    private let lock = NSLock()
    private var next = 1

    func make() -> String {
        lock.lock()
        defer { lock.unlock() }
        let id = "f_\(next)"
        next += 1
        return id
    }
}

/// A session book with an active session `s_1` (clerk A, approver B, the applicant joined) and a form desk.
struct FormDeskFixture {
    static let catalog = Catalog(
        units: sessionTestCatalog.units,
        services: sessionTestCatalog.services,
        forms: [FormFixture.template]
    )
    /// A fake SHA-256 that shows exactly which bytes were hashed.
    static let showBytes: @Sendable ([UInt8]) -> String = { "sha(" + String(decoding: $0, as: UTF8.self) + ")" }

    var sessions = SessionFixture()
    var desk = FormDesk(catalog: FormDeskFixture.catalog, sha256Hex: showBytes, makeFormId: FormIdCounter().make)
    var sid = ""
    var applicant: Identity { SessionPeople.applicant(sid) }

    init() throws {
        sid = try sessions.active()
        try sessions.run(.applicantToken(sessionId: sid, ttlSeconds: 600), SessionPeople.clerkA)
        try sessions.run(.join(sessionId: sid, lastSeq: 0), SessionPeople.applicant(sid))
    }

    @discardableResult
    mutating func run(
        _ request: FormRequest,
        _ who: Identity,
        _ language: MessageLanguage = .zh
    ) throws(Refusal) -> SessionOutcome {
        let out = try desk.handle(request, by: who, language: language, in: &sessions.book, now: sessions.now)
        sessions.events += out.events
        return out
    }

    /// The refusal of `request`, or nil when it would be accepted; this fixture does not change.
    func refusal(_ request: FormRequest, _ who: Identity, _ language: MessageLanguage = .zh) -> Refusal? {
        var copy = self
        do {
            try copy.run(request, who, language)
            return nil
        } catch {
            return error
        }
    }

    /// Opens the fixture template as clerk A; returns its form id.
    mutating func opened() throws(Refusal) -> String {
        try run(.open(sessionId: sid, form: FormFixture.template.id), SessionPeople.clerkA).result?["formId"]?
            .stringValue ?? ""
    }
}

@Suite struct FormDeskTests {
    @Test func openAppendsASessionEventWithTheNextSeq() throws {
        var f = try FormDeskFixture()
        let before = f.sessions.book.session(f.sid)!.lastSeq
        let out = try f.run(.open(sessionId: f.sid, form: "business-licence"), SessionPeople.approverB)
        #expect(out.result == ["formId": "f_1"])
        let event = try #require(out.emitted.first)
        #expect(event.event.type == "form.opened" && event.event.seq == before + 1 && event.event.actor == "appr-b")
        #expect(event.event.data["versions"]?["phone"] == 0)
        #expect(Set(event.recipients) == ["clerk-a", "appr-b", f.applicant.sub])
        #expect(f.sessions.book.session(f.sid)!.lastSeq == before + 1, "the session book holds the seq")
        #expect(f.desk.book(of: f.sid)["f_1"]?.template == FormFixture.template)
    }

    @Test func severalFormsOpenInOneSession() throws {
        var f = try FormDeskFixture()
        let first = try f.opened()
        let second = try f.opened()
        #expect(first == "f_1" && second == "f_2")
        try f.run(
            .set(sessionId: f.sid, formId: second, field: "phone", value: "13812345678", baseVersion: 0),
            f.applicant
        )
        #expect(f.desk.book(of: f.sid)[first]?.values.isEmpty == true)
        #expect(f.desk.book(of: f.sid)[second]?.values["phone"] == "13812345678")
    }

    @Test func whoMayDoWhat() throws {
        var f = try FormDeskFixture()
        let formId = try f.opened()
        let set = FormRequest.set(sessionId: f.sid, formId: formId, field: "phone", value: "1", baseVersion: 0)
        #expect(f.refusal(.open(sessionId: f.sid, form: "business-licence"), f.applicant)?.code == .forbidden)
        #expect(
            f.refusal(
                .guide(
                    sessionId: f.sid,
                    formId: formId,
                    field: "phone",
                    kind: .highlight,
                    text: nil,
                    value: nil
                ),
                f.applicant
            )?.code == .forbidden
        )
        #expect(f.refusal(set, SessionPeople.ops)?.code == .forbidden)
        #expect(
            f.refusal(
                .acceptSuggestion(sessionId: f.sid, formId: formId, field: "phone"),
                SessionPeople.approverB
            )?.code == .forbidden
        )
        // Staff of another unit, and an applicant token for another session, are not in the session.
        #expect(f.refusal(set, SessionPeople.clerkC)?.code == .forbidden)
        let stranger = Identity(sub: "applicant-s_9", role: .applicant, sessionScope: "s_9")
        #expect(f.refusal(set, stranger)?.message.contains("another session") == true)
        #expect(f.refusal(.submit(sessionId: "s_404", formId: formId), f.applicant)?.code == .notFound)
        // Away: join first.
        _ = f.sessions.lost(f.applicant.sub)
        #expect(f.refusal(set, f.applicant)?.code == .invalidState)
        #expect(f.refusal(set, SessionPeople.clerkA) == nil)
    }

    @Test func theTableIsTheOnePlaceForRoles() {
        for kind in FormRequestKind.allCases {
            #expect(!kind.permits(.ops), "ops never touch form values")
            for role in Role.allCases {
                #expect(kind.permits(role) == (FormAuthorization.relations(kind, role) != nil))
            }
        }
        #expect(FormAuthorization.stateNeed(.open) == .active && FormAuthorization.stateNeed(.submit) == .live)
    }

    @Test func openNeedsAnActiveSessionAndACatalogForm() throws {
        var f = try FormDeskFixture()
        let queued = try f.sessions.created(to: "B")
        #expect(
            f.refusal(.open(sessionId: queued, form: "business-licence"), SessionPeople.clerkA)?.code
                == .invalidState
        )
        let unknown = f.refusal(.open(sessionId: f.sid, form: "nope"), SessionPeople.clerkA)
        #expect(unknown?.code == .badRequest && unknown?.details["field"] == "form")
        #expect(unknown?.message.contains("business-licence") == true, "it names the forms there are")
    }

    @Test func anEndedSessionsFormsNoLongerChange() throws {
        var f = try FormDeskFixture()
        let formId = try f.opened()
        try f.sessions.run(.end(sessionId: f.sid, outcome: .completed, note: nil), SessionPeople.clerkA)
        let r = f.refusal(.submit(sessionId: f.sid, formId: formId), SessionPeople.clerkA)
        #expect(r?.code == .invalidState && r?.message.contains("ended") == true)
        #expect(f.desk.book(of: f.sid)[formId]?.isSubmitted == false)
    }

    @Test func aStaleBaseVersionIsAConflictWithTheCurrentValue() throws {
        var f = try FormDeskFixture()
        let formId = try f.opened()
        try f.run(.set(sessionId: f.sid, formId: formId, field: "name", value: "张三", baseVersion: 0), f.applicant)
        let seq = f.sessions.book.session(f.sid)!.lastSeq
        let r = f.refusal(
            .set(sessionId: f.sid, formId: formId, field: "name", value: "李四", baseVersion: 0),
            SessionPeople.clerkA
        )
        #expect(r?.code == .conflict)
        #expect(r?.details["current"] == ["value": "张三", "version": 1])
        #expect(f.sessions.book.session(f.sid)!.lastSeq == seq, "a refusal appends nothing")
    }

    @Test func problemsAreInTheCallersLanguage() throws {
        var f = try FormDeskFixture()
        let formId = try f.opened()
        let en = try f.run(
            .set(sessionId: f.sid, formId: formId, field: "phone", value: "123", baseVersion: 0),
            f.applicant,
            .en
        )
        let message = en.events[0].data["problems"]?.arrayValue?.first?["message"]
        #expect(message == #""联系电话" is not in the required format"#)
        let zh = try f.run(
            .set(sessionId: f.sid, formId: formId, field: "phone", value: "12", baseVersion: 1),
            f.applicant,
            .zh
        )
        #expect(zh.events[0].data["problems"]?.arrayValue?.first?["message"] == "“联系电话”格式不正确")
        #expect(zh.result == ["version": 2])
    }

    @Test func guideAcceptAndSubmitWithTheCanonicalDigest() throws {
        var f = try FormDeskFixture()
        let formId = try f.opened()
        try f.run(
            .guide(sessionId: f.sid, formId: formId, field: "item", kind: .suggest, text: "选住所", value: "住所"),
            SessionPeople.approverB
        )
        let accepted = try f.run(.acceptSuggestion(sessionId: f.sid, formId: formId, field: "item"), f.applicant)
        #expect(accepted.events.map(\.type) == ["form.changed"] && accepted.events[0].data["value"] == "住所")

        let refused = f.refusal(.submit(sessionId: f.sid, formId: formId), f.applicant, .en)
        #expect(refused?.code == .badRequest)
        let problems = refused?.details["problems"]?.objectValue ?? [:]
        #expect(Set(problems.keys) == ["phone", "name", "date", "id"])
        #expect(problems["phone"]?.arrayValue?.first?["code"] == "required")
        #expect(problems["phone"]?.arrayValue?.first?["message"] == #""联系电话" is required"#)

        for (field, value) in FormFixture.goodValues where field != "item" {
            try f.run(.set(sessionId: f.sid, formId: formId, field: field, value: value, baseVersion: 0), f.applicant)
        }
        let submitted = try f.run(.submit(sessionId: f.sid, formId: formId), SessionPeople.clerkA)
        let canonical =
            #"{"capital":500,"date":"2026-11-22","id":"11010519491231002X","item":"住所","name":"张三","#
            + #""phone":"13812345678"}"#
        #expect(submitted.result == ["sha256": .string("sha(\(canonical))")])
        #expect(submitted.events[0].type == "form.submitted")
        #expect(submitted.events[0].data["sha256"] == .string("sha(\(canonical))"))
        #expect(f.refusal(.submit(sessionId: f.sid, formId: formId), f.applicant)?.code == .invalidState)
    }

    @Test func valuesAndFormsAreBounded() throws {
        var f = try FormDeskFixture()
        let formId = try f.opened()
        let long = String(repeating: "字", count: FormDesk.maxValueLength + 1)
        let r = f.refusal(
            .set(sessionId: f.sid, formId: formId, field: "note", value: .string(long), baseVersion: 0),
            f.applicant
        )
        #expect(r?.code == .tooLarge && r?.details["field"] == "value")
        for _ in 1..<FormDesk.maxFormsPerSession { _ = try f.opened() }
        #expect(
            f.refusal(.open(sessionId: f.sid, form: "business-licence"), SessionPeople.clerkA)?.code
                == .rateLimited
        )
    }

    @Test func restoringTheRecordRebuildsTheSameForms() throws {
        var f = try FormDeskFixture()
        let a = try f.opened()
        let b = try f.opened()
        try f.run(.set(sessionId: f.sid, formId: a, field: "phone", value: "138", baseVersion: 0), f.applicant)
        try f.run(
            .guide(sessionId: f.sid, formId: a, field: "phone", kind: .hint, text: "11 位", value: nil),
            SessionPeople.approverB
        )
        try f.run(
            .guide(sessionId: f.sid, formId: b, field: "name", kind: .suggest, text: nil, value: "王五"),
            SessionPeople.approverB
        )
        for (field, value) in FormFixture.goodValues {
            let base = f.desk.book(of: f.sid)[a]?.versions[field] ?? 0
            try f.run(.set(sessionId: f.sid, formId: a, field: field, value: value, baseVersion: base), f.applicant)
        }
        try f.run(.submit(sessionId: f.sid, formId: a), f.applicant)

        var sessions = SessionFixture().book
        var desk = FormDesk(
            catalog: FormDeskFixture.catalog,
            sha256Hex: FormDeskFixture.showBytes,
            makeFormId: { "f_x" }
        )
        var folded = 0
        for event in f.sessions.events where sessions.restore(event) {
            if try desk.restore(event) { folded += 1 }
        }
        #expect(folded == 2 + 1 + 2 + FormFixture.goodValues.count + 1, "every form event, nothing else")
        #expect(desk.book(of: f.sid) == f.desk.book(of: f.sid))
        #expect(desk.joinState(sessionId: f.sid, language: .en) == f.desk.joinState(sessionId: f.sid, language: .en))
        #expect(sessions.session(f.sid)?.head == f.sessions.book.session(f.sid)?.head)
    }

    @Test func joinStateCarriesProblemsOfChangedFieldsInTheJoinersLanguage() throws {
        var f = try FormDeskFixture()
        let formId = try f.opened()
        try f.run(.set(sessionId: f.sid, formId: formId, field: "item", value: "别的", baseVersion: 0), f.applicant)
        try f.run(.set(sessionId: f.sid, formId: formId, field: "name", value: "张三", baseVersion: 0), f.applicant)
        let state = f.desk.joinState(sessionId: f.sid, language: .en)
        let form = try #require(state.arrayValue?.first)
        #expect(form["formId"] == .string(formId) && form["versions"]?["item"] == 1)
        #expect(form["values"] == ["item": "别的", "name": "张三"])
        // Only changed fields: the untouched required ones are for submit to name.
        #expect(form["problems"]?.objectValue?.keys.sorted() == ["item"])
        let message = form["problems"]?["item"]?.arrayValue?.first?["message"]?.stringValue ?? ""
        #expect(message.hasPrefix(#""变更事项" must be one of"#))
        #expect(f.desk.joinState(sessionId: "s_none", language: .zh) == [])
    }
}
