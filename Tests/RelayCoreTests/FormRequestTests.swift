import Testing

@testable import RelayCore

@Suite struct FormRequestTests {
    func parsed(_ type: String, _ body: [String: JSONValue]) -> Result<FormRequest?, Refusal> {
        do throws(Refusal) {
            return .success(try FormRequest.parse(type: type, body: body))
        } catch {
            return .failure(error)
        }
    }

    func refusedField(_ type: String, _ body: [String: JSONValue]) -> JSONValue? {
        guard case .failure(let r) = parsed(type, body), r.code == .badRequest else { return nil }
        return r.details["field"]
    }

    @Test func readsEveryRequest() throws {
        let base: [String: JSONValue] = ["sessionId": "s_1", "formId": "f_1", "field": "phone"]
        #expect(try parsed("form.open", ["sessionId": "s_1", "form": "x"]).get() == .open(sessionId: "s_1", form: "x"))
        #expect(
            try parsed("form.set", base.merging(["value": nil, "baseVersion": 3]) { $1 }).get()
                == .set(sessionId: "s_1", formId: "f_1", field: "phone", value: .null, baseVersion: 3)
        )
        #expect(
            try parsed("form.guide", base.merging(["kind": "suggest", "value": "1", "text": "t"]) { $1 }).get()
                == .guide(sessionId: "s_1", formId: "f_1", field: "phone", kind: .suggest, text: "t", value: "1")
        )
        #expect(
            try parsed("form.acceptSuggestion", base).get()
                == .acceptSuggestion(sessionId: "s_1", formId: "f_1", field: "phone")
        )
        #expect(try parsed("form.submit", base).get() == .submit(sessionId: "s_1", formId: "f_1"))
        #expect(try parsed("chat.send", base).get() == nil, "not a form request")
    }

    @Test func refusesMissingAndIllTypedFields() {
        let base: [String: JSONValue] = ["sessionId": "s_1", "formId": "f_1", "field": "phone"]
        #expect(refusedField("form.open", ["sessionId": "s_1"]) == "form")
        #expect(refusedField("form.set", base.merging(["baseVersion": 0]) { $1 }) == "value")
        #expect(refusedField("form.set", base.merging(["value": "x"]) { $1 }) == "baseVersion")
        #expect(refusedField("form.set", base.merging(["value": "x", "baseVersion": -1]) { $1 }) == "baseVersion")
        #expect(refusedField("form.set", base.merging(["value": "x", "baseVersion": 1.5]) { $1 }) == "baseVersion")
        #expect(refusedField("form.guide", base.merging(["kind": "shout"]) { $1 }) == "kind")
        #expect(refusedField("form.submit", ["sessionId": "s_1"]) == "formId")
        #expect(refusedField("form.submit", ["formId": "f_1"]) == "sessionId")
    }

    @Test func languageTags() {
        #expect(MessageLanguage(tag: "en") == .en && MessageLanguage(tag: "EN-gb") == .en)
        #expect(MessageLanguage(tag: "zh-Hans-CN") == .zh && MessageLanguage(tag: "zh") == .zh)
        #expect(MessageLanguage(tag: "fr") == nil && MessageLanguage(tag: "") == nil)
        #expect(MessageLanguage(tag: "english") == nil)
    }

    @Test func acceptLanguageTakesTheHighestWeightOfTheLanguagesThereAre() {
        #expect(MessageLanguage.preferred(acceptLanguage: "en-US,en;q=0.9,zh;q=0.8") == .en)
        #expect(MessageLanguage.preferred(acceptLanguage: "fr-FR, zh-CN;q=0.7, en;q=0.5") == .zh)
        #expect(MessageLanguage.preferred(acceptLanguage: "zh;q=0.2, en ; q=0.6") == .en)
        #expect(MessageLanguage.preferred(acceptLanguage: "en;q=0, zh;q=0.1") == .zh, "q=0 means not acceptable")
        #expect(MessageLanguage.preferred(acceptLanguage: "zh, en") == .zh, "the first of equal weights")
        #expect(MessageLanguage.preferred(acceptLanguage: "*") == nil)
        #expect(MessageLanguage.preferred(acceptLanguage: "de, fr;q=0.5") == nil)
        #expect(MessageLanguage.preferred(acceptLanguage: nil) == nil)
    }
}
