import RelayCore
import Testing

@Suite struct JSONTextSerializerTests {
    /// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    @Test(
        arguments: [
            (0x0000_0000_0000_0000, "0"),
            (0x8000_0000_0000_0000, "0"),
            (0x0000_0000_0000_0001, "5e-324"),
            (0x8000_0000_0000_0001, "-5e-324"),
            (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
            (0xFFEF_FFFF_FFFF_FFFF, "-1.7976931348623157e+308"),
            (0x4340_0000_0000_0000, "9007199254740992"),
            (0xC340_0000_0000_0000, "-9007199254740992"),
            (0x4430_0000_0000_0000, "295147905179352830000"),
            (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"),
            (0x44B5_2D02_C7E1_4AF6, "1e+23"),
            (0x44B5_2D02_C7E1_4AF7, "1.0000000000000001e+23"),
            (0x444B_1AE4_D6E2_EF4E, "999999999999999700000"),
            (0x444B_1AE4_D6E2_EF4F, "999999999999999900000"),
            (0x444B_1AE4_D6E2_EF50, "1e+21"),
            (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"),
            (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
            (0x41B3_DE43_5555_5553, "333333333.3333332"),
            (0x41B3_DE43_5555_5554, "333333333.33333325"),
            (0x41B3_DE43_5555_5555, "333333333.3333333"),
            (0x41B3_DE43_5555_5556, "333333333.3333334"),
            (0x41B3_DE43_5555_5557, "333333333.33333343"),
            (0xBECB_F647_612F_3696, "-0.0000033333333333333333"),
            (0x4314_3FF3_C1CB_0959, "1424953923781206.2"),
        ] as [(UInt64, String)])
    func rfc8785Numbers(bits: UInt64, expected: String) {
        #expect(JSONValue.number(Double(bitPattern: bits)).canonicalBytes == Array(expected.utf8))
    }

    @Test(
        arguments: [
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123_456_789_012_345_680_000, "123456789012345680000"),
            (1_152_921_504_606_846_976, "1152921504606847000"),  // 2^60: shortest digits, then zeros
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (100, "100"),
            (-42, "-42"),
            (1e16, "10000000000000000"),
            (123.456, "123.456"),
            (1.7e-300, "1.7e-300"),
            (1.0 / 3.0, "0.3333333333333333"),
            (9_007_199_254_740_994, "9007199254740994"),
            (4.35, "4.35"),
            (-0.0, "0"),
        ] as [(Double, String)])
    func ecmaScriptNumbers(value: Double, expected: String) {
        #expect(JSONValue.number(value).canonicalBytes == Array(expected.utf8))
    }

    @Test func nonFiniteNumbersAreNull() {
        let value: JSONValue = [.number(.nan), .number(.infinity), .number(-.infinity)]
        #expect(value.canonicalText == "[null,null,null]")
    }

    @Test func stringEscapesAsJSONStringify() {
        let value = JSONValue.string("\u{0}\u{1}\u{1F}\u{8}\u{C}\n\r\t\"\\/\u{7F}\u{2028}\u{E9}😀")
        let expected = #""\u0000\u0001\u001f\b\f\n\r\t\"\\/"# + "\u{7F}\u{2028}\u{E9}😀\""
        #expect(value.canonicalBytes == Array(expected.utf8))
    }

    @Test func stringBytesAreLiteralUTF8() {
        let bytes = JSONValue.string("\u{7F}\u{2028}\u{E9}😀").canonicalBytes
        #expect(bytes == [0x22, 0x7F, 0xE2, 0x80, 0xA8, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x22])
    }

    /// RFC 8785 §3.2.3: members sorted by UTF-16 code units (😀 = D83D DE00 before U+FB33).
    @Test func membersSortByUTF16CodeUnits() {
        let value: JSONValue = [
            "\u{20AC}": "Euro Sign",
            "\r": "Carriage Return",
            "\u{FB33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "😀": "Emoji: Grinning Face",
            "\u{80}": "Control",
            "\u{F6}": "Latin Small Letter O With Diaeresis",
        ]
        let expected =
            #"{"\r":"Carriage Return","1":"One","# + "\"\u{80}\":\"Control\",\"ö\":"
            + #""Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","#
            + "\"\u{FB33}\"" + #":"Hebrew Letter Dalet With Dagesh"}"#
        #expect(value.canonicalBytes == Array(expected.utf8))
    }

    @Test func nestedStructureHasNoWhiteSpace() {
        let value: JSONValue = ["b": [1, true, nil, ["y": "", "x": []]], "a": [:], "B": false]
        #expect(value.canonicalText == #"{"B":false,"a":{},"b":[1,true,null,{"x":[],"y":""}]}"#)
    }

    @Test func writeCanonicalAppends() {
        var out: [UInt8] = [0xFF]
        JSONValue.array([1, "a"]).writeCanonical(into: &out)
        #expect(out == [0xFF] + Array(#"[1,"a"]"#.utf8))
    }

    /// RFC 8785 §3.2.4 (the example input, parsed, then written canonically).
    @Test func rfc8785Example() throws {
        let input = #"""
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """#
        let expected =
            #"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"#
            + #""string":"€$\u000f\nA'B\"\\\\\"/"}"#
        #expect(try JSONValue.parse(input).canonicalBytes == Array(expected.utf8))
    }
}

@Suite struct JSONTextParserTests {
    private func failure(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONValue.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    private func failure(_ text: String) -> JSONParseError? { failure(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let text = #"  {"a" : [1, -0.5e2, "x\u00e9\ud83d\ude00\n\/", true, false, null], "b": {} } "# + "\r\n\t"
        let value = try JSONValue.parse(text)
        #expect(value == ["a": [1, -50, "x\u{E9}😀\n/", true, false, nil], "b": [:]])
        let decoded = value["a"]?.arrayValue?[2].stringValue.map { Array($0.utf8) }
        #expect(decoded == [0x78, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x0A, 0x2F])
    }

    @Test func parsesScalarsAtTopLevel() throws {
        #expect(try JSONValue.parse("42") == 42)
        #expect(try JSONValue.parse(#""营业执照.pdf""#) == "营业执照.pdf")
        #expect(try JSONValue.parse("12345678901234567890") == .number(12_345_678_901_234_567_890))
        #expect(try JSONValue.parse("-0").doubleValue?.sign == .minus)
        #expect(try JSONValue.parse("1E-2") == 0.01)
    }

    @Test func parsesNonContiguousBytes() throws {
        let bytes = Array(#"[1,"a"]"#.utf8).lazy.map { $0 }
        #expect(try JSONValue.parse(bytes) == [1, "a"])
    }

    @Test func roundTripsCanonicalText() throws {
        let value: JSONValue = [
            "text": "营业执照.pdf \u{1}\"\\", "n": [0, -1, 1.5, 1e21, 0.000001, 1e-7, 5e-324],
            "nested": ["😀": ["\u{FB33}": nil]], "ok": true,
        ]
        #expect(try JSONValue.parse(value.canonicalBytes) == value)
        #expect(try JSONValue.parse(value.canonicalText).canonicalBytes == value.canonicalBytes)
    }

    @Test func nestingUpTo64Levels() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try JSONValue.parse(ok).arrayValue?.count == 1)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(failure(deep) == JSONParseError(offset: 64, message: "nested deeper than 64 levels"))
        let deepObject = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(failure(deepObject)?.offset == 64 * 5)
    }

    @Test(
        arguments: [
            ("", 0, "the text ends where a value was expected"),
            ("[1,2] x", 6, "unexpected 'x' (0x78) after the JSON value"),
            ("01", 0, "a number may not have leading zeros"),
            ("-01", 1, "a number may not have leading zeros"),
            ("NaN", 0, "expected a value, found 'N' (0x4E)"),
            ("1.", 2, "expected a digit after the decimal point"),
            ("-", 1, "expected a digit after '-'"),
            (".5", 0, "expected a value, found '.' (0x2E)"),
            ("+1", 0, "expected a value, found '+' (0x2B)"),
            ("1e", 2, "expected a digit in the exponent"),
            ("1e400", 0, "the number is too large for a double"),
            ("tru", 0, "unknown word; a value is an object, array, string, number, true, false or null"),
            (#""abc"#, 0, "the text ends inside a string"),
            (#"{"a":1,"a":2}"#, 7, #"duplicate member name "a" in one object"#),
            (#"{"a" 1}"#, 5, "expected ':' after a member name, found '1' (0x31)"),
            (#"{"a":1,}"#, 7, "expected a quoted member name"),
            ("[1 2]", 3, "expected ',' or ']' in an array, found '2' (0x32)"),
            ("[1,]", 3, "expected a value, found ']' (0x5D)"),
            ("[1", 2, "the text ends inside an array"),
            (#""\uD800""#, 1, #"a high surrogate \u escape must be followed by a low one"#),
            (#""\uD800\u0041""#, 7, #"a high surrogate \u escape must be followed by a low one"#),
            (#""\uDC00""#, 1, #"a lone low surrogate in a \u escape"#),
            (#""\u12G4""#, 5, #"a \u escape needs four hex digits, found 'G' (0x47)"#),
            (#""\x""#, 1, #"unknown escape \'x' (0x78); use \" \\ \/ \b \f \n \r \t or \uXXXX"#),
        ] as [(String, Int, String)])
    func refusesMalformedText(text: String, offset: Int, message: String) {
        #expect(failure(text) == JSONParseError(offset: offset, message: message))
    }

    @Test(
        arguments: [
            ([0x22, 0xC0, 0x80, 0x22], 1, "invalid UTF-8 (byte 0xC0 cannot start a character)"),  // overlong
            ([0x22, 0x80, 0x22], 1, "invalid UTF-8 (byte 0x80 cannot start a character)"),  // stray continuation
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 1, "invalid UTF-8 sequence"),  // encoded surrogate D800
            ([0x22, 0xE0, 0x80, 0x80, 0x22], 1, "invalid UTF-8 sequence"),  // overlong 3 bytes
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1, "invalid UTF-8 sequence"),  // above U+10FFFF
            ([0x22, 0x61, 0xE4, 0xB8], 2, "invalid UTF-8 sequence"),  // truncated at the end
            ([0x22, 0x0A, 0x22], 1, "a control character (byte 0xA) must be escaped in a string"),
        ] as [([UInt8], Int, String)])
    func refusesBadBytesInStrings(bytes: [UInt8], offset: Int, message: String) {
        #expect(failure(bytes) == JSONParseError(offset: offset, message: message))
    }

    @Test func errorDescriptionNamesTheOffset() {
        #expect(failure("[1,]")?.description == "invalid JSON at byte 3: expected a value, found ']' (0x5D)")
    }
}
