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

    @Test func aScalarSplitBetweenPiecesIsWellFormed() {
        let bytes = Array("κόσμε 营业 😀".utf8)
        // Every split point, including inside the two-, three- and four-byte scalars.
        for cut in 0...bytes.count {
            var stream = UTF8Stream()
            let first = bytes[..<cut].withUnsafeBytes { stream.take($0) }
            let second = bytes[cut...].withUnsafeBytes { stream.take($0) }
            #expect(first && second && stream.isComplete, "cut at \(cut)")
        }
    }

    @Test func aBadByteFailsTheStreamAtOnceAndForGood() {
        var stream = UTF8Stream()
        // κόσμε, then the start of a surrogate (ED A0 80): invalid at A0, before the message ends.
        #expect(([0xCE, 0xBA, 0xE1, 0xBD, 0xB9] as [UInt8]).withUnsafeBytes { stream.take($0) })
        #expect(!([0xCF, 0x83, 0xED, 0xA0] as [UInt8]).withUnsafeBytes { stream.take($0) })
        #expect(!stream.isValid)
        #expect(!([0x41] as [UInt8]).withUnsafeBytes { stream.take($0) })
        stream.reset()
        #expect(([0x41] as [UInt8]).withUnsafeBytes { stream.take($0) } && stream.isComplete)
    }

    @Test func aScalarCutShortIsValidSoFarButNotComplete() {
        var stream = UTF8Stream()
        #expect(([0xF0, 0x9F] as [UInt8]).withUnsafeBytes { stream.take($0) })
        #expect(stream.isValid)
        #expect(!stream.isComplete)
    }
}
