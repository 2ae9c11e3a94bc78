import RelayCore
import Testing

@Suite struct SessionRequestTests {
    func parse(_ type: String, _ body: [String: JSONValue]) throws(Refusal) -> SessionRequest? {
        try SessionRequest.parse(type: type, body: body)
    }

    /// The field a refused parse names, checked to be in the message too.
    func refusedField(_ type: String, _ body: [String: JSONValue]) -> String? {
        do {
            _ = try parse(type, body)
            return nil
        } catch {
            #expect(error.code == .badRequest)
            let field = error.details["field"]?.stringValue
            #expect(field.map { error.message.contains("`\($0)`") } == true, "\(error.message)")
            return field
        }
    }

    @Test func otherTypesAreNotSessionRequests() throws {
        #expect(try parse("doc.offer", ["sessionId": "s_1"]) == nil)
        #expect(try parse("hello", [:]) == nil)
    }

    @Test func everyTypeParses() throws {
        #expect(
            try parse(
                "session.create",
                [
                    "service": "svc", "toUnit": "B", "note": "n",
                    "applicant": ["name": "王五", "idTail": "12x4"],
                ])
                == .create(
                    service: "svc", toUnit: "B", applicant: ApplicantInfo(name: "王五", idTail: "12x4"),
                    note: "n"))
        #expect(
            try parse("session.create", ["service": "svc", "toUnit": "B", "applicant": .null])
                == .create(service: "svc", toUnit: "B", applicant: nil, note: nil))
        #expect(try parse("queue.watch", [:]) == .queueWatch)
        #expect(try parse("session.accept", ["sessionId": "s_1"]) == .accept(sessionId: "s_1"))
        #expect(
            try parse("session.decline", ["sessionId": "s_1", "reason": "r"]) == .decline(sessionId: "s_1", reason: "r")
        )
        #expect(
            try parse("session.transfer", ["sessionId": "s_1", "toUnit": "C"])
                == .transfer(sessionId: "s_1", toUnit: "C", reason: nil))
        #expect(try parse("session.invite", ["sessionId": "s_1", "unit": "C"]) == .invite(sessionId: "s_1", unit: "C"))
        #expect(
            try parse("session.applicantToken", ["sessionId": "s_1", "ttlSeconds": 600])
                == .applicantToken(sessionId: "s_1", ttlSeconds: 600))
        #expect(try parse("session.join", ["sessionId": "s_1"]) == .join(sessionId: "s_1", lastSeq: 0))
        #expect(try parse("session.join", ["sessionId": "s_1", "lastSeq": 7]) == .join(sessionId: "s_1", lastSeq: 7))
        #expect(try parse("session.leave", ["sessionId": "s_1"]) == .leave(sessionId: "s_1"))
        #expect(
            try parse("session.end", ["sessionId": "s_1", "outcome": "needs_correction"])
                == .end(sessionId: "s_1", outcome: .needsCorrection, note: nil))
        #expect(try parse("chat.send", ["sessionId": "s_1", "text": "hi"]) == .chat(sessionId: "s_1", text: "hi"))
        for kind in SessionRequest.Kind.allCases {
            let body: [String: JSONValue] = [
                "sessionId": "s_1", "service": "svc", "toUnit": "B", "unit": "C", "ttlSeconds": 1,
                "outcome": "completed", "text": "t",
            ]
            #expect(try parse(kind.rawValue, body)?.kind == kind)
        }
    }

    @Test func missingOrIllTypedFieldsAreNamed() {
        #expect(refusedField("session.create", ["toUnit": "B"]) == "service")
        #expect(refusedField("session.create", ["service": "svc", "toUnit": 3]) == "toUnit")
        #expect(refusedField("session.create", ["service": "svc", "toUnit": "B", "note": 1]) == "note")
        let longNote = JSONValue.string(String(repeating: "注", count: 501))
        #expect(refusedField("session.create", ["service": "svc", "toUnit": "B", "note": longNote]) == "note")
        #expect(refusedField("session.create", ["service": "svc", "toUnit": "B", "applicant": "x"]) == "applicant")
        let longName: JSONValue = ["name": .string(String(repeating: "a", count: 65))]
        #expect(
            refusedField("session.create", ["service": "svc", "toUnit": "B", "applicant": longName])
                == "applicant.name")
        for tail in ["12a4", "123", "12345", "１２３４"] {
            let applicant: JSONValue = ["idTail": .string(tail)]
            #expect(
                refusedField("session.create", ["service": "svc", "toUnit": "B", "applicant": applicant])
                    == "applicant.idTail", "\(tail)")
        }
        #expect(refusedField("session.accept", [:]) == "sessionId")
        #expect(refusedField("session.accept", ["sessionId": ""]) == "sessionId")
        #expect(refusedField("session.decline", ["sessionId": "s_1", "reason": false]) == "reason")
        #expect(refusedField("session.transfer", ["sessionId": "s_1"]) == "toUnit")
        #expect(refusedField("session.invite", ["sessionId": "s_1"]) == "unit")
        #expect(refusedField("session.applicantToken", ["sessionId": "s_1"]) == "ttlSeconds")
        #expect(refusedField("session.applicantToken", ["sessionId": "s_1", "ttlSeconds": 1.5]) == "ttlSeconds")
        #expect(refusedField("session.join", ["sessionId": "s_1", "lastSeq": -1]) == "lastSeq")
        #expect(refusedField("session.join", ["sessionId": "s_1", "lastSeq": "3"]) == "lastSeq")
        #expect(refusedField("session.leave", ["sessionId": 1]) == "sessionId")
        #expect(refusedField("session.end", ["sessionId": "s_1", "outcome": "expired"]) == "outcome")
        #expect(refusedField("session.end", ["sessionId": "s_1"]) == "outcome")
        #expect(refusedField("chat.send", ["sessionId": "s_1", "text": ""]) == "text")
        #expect(refusedField("chat.send", ["sessionId": "s_1"]) == "text")
    }
}
