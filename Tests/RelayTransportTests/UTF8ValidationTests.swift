import Testing

@testable import RelayTransport

@Suite("UTF-8 check of text messages (RFC 6455 §8.1)")
struct UTF8ValidationTests {
    static let cases: [(String, [UInt8], Bool)] = [
        ("empty", [], true),
        ("ASCII JSON", Array(#"{"type":"hello"}"#.utf8), true),
        ("Chinese", Array("营业执照".utf8), true),
        ("four-byte scalar", Array("😀".utf8), true),
        ("lone 0xFF", [0x41, 0xFF], false),
        ("overlong slash", [0xC0, 0xAF], false),
        ("surrogate half", [0xED, 0xA0, 0x80], false),
        ("past U+10FFFF", [0xF4, 0x90, 0x80, 0x80], false),
        ("cut short", [0xE4, 0xB8], false),
        ("stray continuation", [0x80], false),
    ]

    @Test(arguments: cases.map(\.0))
    func wellFormednessIsDecidedPerMessage(_ name: String) {
        let (_, bytes, valid) = Self.cases.first { $0.0 == name }!
        #expect(bytes.withUnsafeBytes { isValidUTF8($0) } == valid)
    }
}
