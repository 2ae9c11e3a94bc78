import Testing

@testable import RelayCore

/// A small template with one field of every type, shared by the form tests.
enum FormFixture {
    static let phone = FormField(id: "phone", label: "联系电话", type: .text, required: true, pattern: #"1[3-9]\d{9}"#)
    static let name = FormField(id: "name", label: "姓名", type: .text, required: true, maxLength: 4)
    static let capital = FormField(id: "capital", label: "注册资本", type: .number)
    static let date = FormField(id: "date", label: "变更日期", type: .date, required: true)
    static let item = FormField(id: "item", label: "变更事项", type: .select, required: true, options: ["名称", "住所"])
    static let id = FormField(id: "id", label: "身份证号", type: .idNumber, required: true)
    static let note = FormField(id: "note", label: "备注", type: .text)

    static let template = FormTemplate(
        id: "business-licence",
        title: "营业执照变更登记申请表",
        fields: [phone, name, capital, date, item, id, note]
    )

    /// Values that pass every check.
    static let goodValues: [String: JSONValue] = [
        "phone": "13812345678", "name": "张三", "capital": 500, "date": "2026-11-22", "item": "住所",
        "id": "11010519491231002X",
    ]
}

@Suite struct FormFieldCheckTests {
    func codes(_ field: FormField, _ value: JSONValue?) -> [ProblemCode] {
        field.problems(of: value, language: .en).map(\.code)
    }

    @Test func absentValues() {
        #expect(codes(FormFixture.phone, nil) == [.required])
        #expect(codes(FormFixture.phone, .null) == [.required])
        #expect(codes(FormFixture.phone, "") == [.required])
        #expect(codes(FormFixture.note, "").isEmpty)
        #expect(codes(FormFixture.capital, .null).isEmpty)
        #expect(codes(FormFixture.capital, "").isEmpty)
    }

    @Test func textPatternAndMaxLength() {
        #expect(codes(FormFixture.phone, "13812345678").isEmpty)
        #expect(codes(FormFixture.phone, "12812345678") == [.pattern])
        #expect(codes(FormFixture.phone, "1381234567") == [.pattern])
        #expect(codes(FormFixture.phone, "x13812345678") == [.pattern], "the pattern is whole-value")
        #expect(codes(FormFixture.phone, "１3812345678") == [.pattern], "\\d is ASCII digits only")
        #expect(codes(FormFixture.name, "欧阳娜娜").isEmpty)
        #expect(codes(FormFixture.name, "欧阳娜娜娜") == [.maxLength])
        #expect(codes(FormFixture.name, 12) == [.type])
        #expect(codes(FormFixture.name, true) == [.type])
    }

    @Test func numbers() {
        #expect(codes(FormFixture.capital, 500).isEmpty)
        #expect(codes(FormFixture.capital, 12.5).isEmpty)
        #expect(codes(FormFixture.capital, "500") == [.type], "a numeric string is not a number")
        #expect(codes(FormFixture.capital, ["a"]) == [.type])
    }

    @Test func dates() {
        #expect(codes(FormFixture.date, "2024-02-29").isEmpty)
        #expect(codes(FormFixture.date, "2023-02-29") == [.type])
        #expect(codes(FormFixture.date, "2024/02/01") == [.type])
        #expect(codes(FormFixture.date, 20240201) == [.type])
    }

    @Test func selects() {
        #expect(codes(FormFixture.item, "名称").isEmpty)
        #expect(codes(FormFixture.item, "经营范围") == [.option])
        #expect(codes(FormFixture.item, 1) == [.type])
    }

    @Test func idNumbers() {
        #expect(codes(FormFixture.id, "11010519491231002X").isEmpty)
        #expect(codes(FormFixture.id, "110105194912310021") == [.idNumber])
        #expect(codes(FormFixture.id, "11010519491231002x") == [.idNumber])
        #expect(codes(FormFixture.id, 110105194912310021) == [.type])
    }

    @Test func severalProblemsAtOnce() {
        let field = FormField(id: "code", label: "代码", type: .text, pattern: "[A-Z]+", maxLength: 3)
        #expect(codes(field, "abcd") == [.maxLength, .pattern])
    }

    @Test func messagesInBothLanguages() {
        let zh = FormFixture.phone.problems(of: nil, language: .zh)
        let en = FormFixture.phone.problems(of: nil, language: .en)
        #expect(zh == [Problem(code: .required, message: "请填写“联系电话”")])
        #expect(en == [Problem(code: .required, message: "\"联系电话\" is required")])
        let option = FormFixture.item.problems(of: "x", language: .zh).first?.message
        #expect(option == "“变更事项”须为以下之一：名称、住所")
        let idEn = FormFixture.id.problems(of: "11010519491231002x", language: .en).first?.message
        #expect(idEn == "\"身份证号\" must end in an uppercase X")
    }

    @Test func problemJSON() {
        let p = Problem(code: .maxLength, message: "m")
        #expect(p.json == ["code": "maxLength", "message": "m"])
    }

    @Test func everyDefectHasWordsInBothLanguages() {
        var defects: [FieldDefect] = [.missing, .patternMismatch, .tooLong(limit: 3), .notAnOption]
        defects += FormField.Kind.allCases.map(FieldDefect.wrongType)
        defects += IdNumberDefect.allCases.map(FieldDefect.idNumber)
        for d in defects {
            let zh = d.message(label: "L", options: ["a"], language: .zh)
            let en = d.message(label: "L", options: ["a"], language: .en)
            #expect(zh.contains("“L”") && en.contains("\"L\"") && zh != en)
        }
    }
}
