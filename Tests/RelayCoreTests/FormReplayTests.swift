import Testing

@testable import RelayCore

@Suite struct FormReplayTests {
    /// A session's life with two forms open, every kind of event, recorded as the server would.
    func liveBook() throws -> (FormBook, [FormEvent]) {
        var book = FormBook()
        var events: [FormEvent] = []
        events.append(try book.open(formId: "f_1", template: FormFixture.template))
        events.append(try book.open(formId: "f_2", template: FormFixture.template))
        try book.update("f_1") { (form: inout FormInstance) throws(Refusal) in
            events.append(try form.set(field: "phone", value: "1381234567", baseVersion: 0).event)
            events.append(try form.guide(field: "phone", kind: .highlight))
            events.append(try form.guide(field: "phone", kind: .suggest, text: "少一位", value: "13812345678"))
            events.append(try form.acceptSuggestion(field: "phone").event)
            events.append(try form.guide(field: "id", kind: .error, text: "校验码不对"))
            events.append(try form.guide(field: "item", kind: .suggest, value: "名称"))
            for (field, value) in FormFixture.goodValues where field != "phone" {
                events.append(try form.set(field: field, value: value, baseVersion: 0).event)
            }
            events.append(try form.set(field: "note", value: "", baseVersion: 0).event)
            events.append(try form.submit { _ in "abc123" }.event)
        }
        try book.update("f_2") { (form: inout FormInstance) throws(Refusal) in
            events.append(try form.set(field: "capital", value: 12.5, baseVersion: 0).event)
            events.append(try form.set(field: "capital", value: .null, baseVersion: 1).event)
            events.append(try form.guide(field: "date", kind: .hint, text: "写决议日期"))
            events.append(try form.guide(field: "name", kind: .suggest, value: "王五"))
            events.append(try form.guide(field: "name", kind: .clear))
        }
        return (book, events)
    }

    /// What the record holds: type strings and data, read back through `FormEvent(type:data:)`.
    func recorded(_ events: [FormEvent]) -> [FormEvent] {
        events.compactMap { FormEvent(type: $0.type, data: $0.data) }
    }

    @Test func bookRebuildsIdenticalState() throws {
        let (live, events) = try liveBook()
        var rebuilt = FormBook()
        for event in recorded(events) { try rebuilt.apply(event) }
        #expect(rebuilt == live)
        #expect(rebuilt.stateJSON == live.stateJSON)
        let f1 = try #require(rebuilt["f_1"])
        #expect(f1.isSubmitted && f1.submittedSha256 == "abc123")
        #expect(f1.versions["phone"] == 2 && f1.suggestions == ["item": "名称"] && f1.values["note"] == "")
        #expect(rebuilt["f_2"]?.versions["capital"] == 2 && rebuilt["f_2"]?.values.keys.contains("capital") == false)
    }

    @Test func singleFormRebuild() throws {
        let (live, events) = try liveBook()
        let mine = recorded(events).filter { $0.formId == "f_2" }
        #expect(try FormInstance.rebuild(from: mine) == live["f_2"])
    }

    @Test func stateJSONShape() throws {
        let (live, _) = try liveBook()
        let state = try #require(live["f_1"]?.stateJSON)
        #expect(state["formId"] == "f_1" && state["submitted"] == true && state["sha256"] == "abc123")
        #expect(state["template"]?["id"] == "business-licence")
        #expect(state["versions"]?["phone"] == 2)
        #expect(state["guidance"]?["phone"]?["highlight"] == [:])
        #expect(state["guidance"]?["id"]?["error"] == ["text": "校验码不对"])
        #expect(state["guidance"]?["item"]?["suggest"] == ["value": "名称"])
        #expect(state["suggestions"] == ["item": "名称"])
        #expect(live.stateJSON.arrayValue?.count == 2)
        #expect(live["f_2"]?.stateJSON.objectValue?.keys.contains("sha256") == false)
    }

    @Test func templateRoundTripsThroughJSON() {
        #expect(FormTemplate(json: FormFixture.template.json) == FormFixture.template)
        #expect(
            FormTemplate(json: ["id": "x", "title": "t", "fields": [["id": "a", "label": "A", "type": "blob"]]])
                == nil
        )
    }

    @Test func inconsistentRecordsAreRefused() throws {
        let (_, events) = try liveBook()
        let all = recorded(events)
        var book = FormBook()
        #expect(throws: FormReplayError.self) { try book.apply(all[2]) }  // a change before its form.opened
        try book.apply(all[0])
        #expect(throws: FormReplayError.self) { try book.apply(all[0]) }  // opened twice
        var skipped = all[2]
        skipped.data["version"] = 2
        #expect(throws: FormReplayError.self) { try book.apply(skipped) }  // a version gap
        var wrongValues = FormEvent.submitted(formId: "f_1", values: ["phone": "1"], sha256: "x")
        #expect(throws: FormReplayError.self) { try book.apply(wrongValues) }
        wrongValues = FormEvent.submitted(formId: "f_1", values: [:], sha256: "x")
        try book.apply(wrongValues)
        #expect(throws: FormReplayError.self) { try book.apply(all[2]) }  // a change after submit
        #expect(FormEvent(type: "chat", data: [:]) == nil)
    }

    @Test func bookRefusals() throws {
        var book = FormBook()
        _ = try book.open(formId: "f_1", template: FormFixture.template)
        #expect(throws: Refusal(.conflict, "form \"f_1\" is already open")) {
            try book.open(formId: "f_1", template: FormFixture.template)
        }
        #expect(throws: Refusal.self) { try book.update("f_9") { (_: inout FormInstance) throws(Refusal) in () } }
    }

    @Test func replayErrorSaysWhatIsWrong() {
        let e = FormReplayError("form.changed", formId: "f_1", "version of \"phone\" is not 3")
        #expect(e.description.contains("form.changed") && e.description.contains("f_1"))
    }
}
