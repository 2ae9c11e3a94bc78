import Testing

@testable import RelayCore

@Suite struct FormInstanceTests {
    func refusal(_ body: () throws(Refusal) -> Void) -> Refusal? {
        do throws(Refusal) {
            try body()
            return nil
        } catch {
            return error
        }
    }

    func fakeDigest(_ v: JSONValue) -> String { "digest-of-\(v.objectValue?.count ?? -1)-values" }

    @Test func opensWithVersionZero() {
        let form = FormInstance(formId: "f_1", template: FormFixture.template)
        #expect(form.values.isEmpty)
        #expect(form.versions.count == 7 && form.versions.values.allSatisfy { $0 == 0 })
        let event = form.openedEvent
        #expect(event.type == "form.opened")
        #expect(event.data["formId"] == "f_1")
        #expect(event.data["versions"]?["phone"] == 0)
        #expect(event.data["template"]?["fields"]?.arrayValue?.count == 7)
    }

    @Test func setStoresValueVersionAndProblems() throws {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        let first = try form.set(field: "phone", value: "1381234", baseVersion: 0)
        #expect(first.version == 1 && first.problems.map(\.code) == [.pattern])
        #expect(form.values["phone"] == "1381234", "a value with problems is still stored")
        let second = try form.set(field: "phone", value: "13812345678", baseVersion: 1)
        #expect(second.version == 2 && second.problems.isEmpty)
        #expect(
            second.event.data == [
                "formId": "f_1", "field": "phone", "value": "13812345678", "version": 2, "problems": [],
            ]
        )
        _ = try form.set(field: "phone", value: .null, baseVersion: 2)
        #expect(!form.values.keys.contains("phone") && form.versions["phone"] == 3)
    }

    @Test func staleBaseVersionIsConflictWithCurrent() throws {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        _ = try form.set(field: "name", value: "张三", baseVersion: 0)
        let r = refusal { () throws(Refusal) in _ = try form.set(field: "name", value: "李四", baseVersion: 0) }
        #expect(r?.code == .conflict)
        #expect(r?.details["current"] == ["value": "张三", "version": 1])
        #expect(form.values["name"] == "张三" && form.versions["name"] == 1)
        let unset = refusal { () throws(Refusal) in _ = try form.set(field: "note", value: "x", baseVersion: 3) }
        #expect(unset?.details["current"] == ["value": .null, "version": 0])
    }

    @Test func unknownFieldAndBadValues() {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        #expect(
            refusal { () throws(Refusal) in _ = try form.set(field: "nope", value: "1", baseVersion: 0) }?.code
                == .notFound
        )
        #expect(
            refusal { () throws(Refusal) in _ = try form.set(field: "note", value: ["a"], baseVersion: 0) }?.code
                == .badRequest
        )
        #expect(
            refusal { () throws(Refusal) in _ = try form.set(field: "note", value: true, baseVersion: 0) }?.code
                == .badRequest
        )
        #expect(form.versions["note"] == 0)
    }

    @Test func guidanceIsKeptPerKindAndCleared() throws {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        let e = try form.guide(field: "id", kind: .hint, text: "身份证号码在证件背面")
        #expect(e.data == ["formId": "f_1", "field": "id", "kind": "hint", "text": "身份证号码在证件背面"])
        _ = try form.guide(field: "id", kind: .highlight)
        _ = try form.guide(field: "id", kind: .hint, text: "第二条提示")
        #expect(form.guidance["id"]?[.hint]?.text == "第二条提示")
        #expect(form.guidance["id"]?[.highlight] != nil)
        _ = try form.guide(field: "id", kind: .suggest, text: "建议", value: "11010519491231002X")
        #expect(form.suggestions == ["id": "11010519491231002X"])
        let clear = try form.guide(field: "id", kind: .clear)
        #expect(clear.data["kind"] == "clear" && !clear.data.keys.contains("text"))
        #expect(form.guidance["id"] == nil && form.suggestions.isEmpty)
    }

    @Test func guidanceRefusals() {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        #expect(refusal { () throws(Refusal) in _ = try form.guide(field: "id", kind: .hint) }?.code == .badRequest)
        #expect(refusal { () throws(Refusal) in _ = try form.guide(field: "id", kind: .suggest) }?.code == .badRequest)
        #expect(
            refusal { () throws(Refusal) in _ = try form.guide(field: "id", kind: .error, text: "x", value: "1") }?
                .code == .badRequest
        )
        #expect(refusal { () throws(Refusal) in _ = try form.guide(field: "zz", kind: .highlight) }?.code == .notFound)
        let bad = refusal { () throws(Refusal) in
            _ = try form.guide(field: "id", kind: .suggest, value: "110105194912310021", language: .en)
        }
        #expect(bad?.code == .badRequest)
        #expect(bad?.details["problems"]?["id"]?.arrayValue?.first?["code"] == "idNumber")
        #expect(
            refusal { () throws(Refusal) in _ = try form.guide(field: "id", kind: .suggest, value: .null) }?.code
                == .badRequest,
            "a null suggestion is no suggestion"
        )
        #expect(form.guidance.isEmpty)
        #expect(
            refusal { () throws(Refusal) in _ = try form.guide(field: "id", kind: .highlight, value: .null) } == nil
        )
        #expect(form.guidance["id"]?[.highlight] == FieldGuidance())
    }

    @Test func acceptSuggestionIsAChangeAndSettlesIt() throws {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        #expect(refusal { () throws(Refusal) in _ = try form.acceptSuggestion(field: "phone") }?.code == .invalidState)
        _ = try form.set(field: "phone", value: "1381234567", baseVersion: 0)
        _ = try form.guide(field: "phone", kind: .hint, text: "少了一位")
        _ = try form.guide(field: "phone", kind: .suggest, value: "13812345678")
        let change = try form.acceptSuggestion(field: "phone")
        #expect(change.version == 2 && change.value == "13812345678" && change.problems.isEmpty)
        #expect(change.event.type == "form.changed")
        #expect(form.values["phone"] == "13812345678")
        #expect(form.suggestions.isEmpty && form.guidance["phone"]?[.hint] != nil)
        #expect(refusal { () throws(Refusal) in _ = try form.acceptSuggestion(field: "phone") }?.code == .invalidState)
    }

    @Test func submitRefusalListsEveryFailingField() throws {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        _ = try form.set(field: "phone", value: "123", baseVersion: 0)
        _ = try form.set(field: "capital", value: "500", baseVersion: 0)
        let r = refusal { () throws(Refusal) in _ = try form.submit(digest: fakeDigest) }
        #expect(r?.code == .badRequest)
        let problems = try #require(r?.details["problems"]?.objectValue)
        #expect(Set(problems.keys) == ["phone", "name", "capital", "date", "item", "id"])
        #expect(problems["phone"]?.arrayValue?.first?["code"] == "pattern")
        #expect(problems["name"]?.arrayValue?.first?["code"] == "required")
        #expect(problems["capital"]?.arrayValue?.first?["code"] == "type")
        #expect(!form.isSubmitted)
    }

    @Test func submitThenNoMoreChanges() throws {
        var form = FormInstance(formId: "f_1", template: FormFixture.template)
        for (field, value) in FormFixture.goodValues {
            _ = try form.set(field: field, value: value, baseVersion: 0)
        }
        #expect(form.problems().isEmpty)
        let s = try form.submit(digest: fakeDigest)
        #expect(s.values == .object(FormFixture.goodValues))
        #expect(s.sha256 == "digest-of-6-values")
        #expect(
            s.event.data == [
                "formId": "f_1", "values": .object(FormFixture.goodValues), "sha256": "digest-of-6-values",
            ]
        )
        #expect(form.isSubmitted)
        #expect(
            refusal { () throws(Refusal) in _ = try form.set(field: "note", value: "x", baseVersion: 0) }?.code
                == .invalidState
        )
        #expect(
            refusal { () throws(Refusal) in _ = try form.guide(field: "note", kind: .highlight) }?.code
                == .invalidState
        )
        #expect(refusal { () throws(Refusal) in _ = try form.submit(digest: fakeDigest) }?.code == .invalidState)
    }

    @Test func requestRoles() {
        #expect(FormRequestKind.open.permits(.clerk) && !FormRequestKind.open.permits(.applicant))
        #expect(FormRequestKind.guide.permits(.approver) && !FormRequestKind.guide.permits(.applicant))
        #expect(FormRequestKind.acceptSuggestion.permits(.applicant))
        #expect(!FormRequestKind.acceptSuggestion.permits(.approver))
        #expect(FormRequestKind.set.permits(.applicant) && !FormRequestKind.submit.permits(.ops))
    }
}
