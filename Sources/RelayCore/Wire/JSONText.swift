// JSON text for `JSONValue`: the RFC 8785 (JCS) serializer, which is also the wire serializer,
// and a small RFC 8259 parser over UTF-8 bytes.

extension JSONValue {
    /// RFC 8785 canonical JSON: members sorted by UTF-16 code units, no white space, ES6 numbers.
    ///
    /// NaN and ±Infinity have no JSON form; they are written as `null`, as `JSON.stringify` does.
    public var canonicalText: String { String(decoding: canonicalBytes, as: UTF8.self) }

    /// The UTF-8 bytes of `canonicalText`: what goes on the wire and into the record's hashes.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        writeCanonical(into: &out)
        return out
    }

    /// Appends the canonical UTF-8 text to `out` (for building a frame with a header in one buffer).
    public func writeCanonical(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: JSONText.null)
        case .bool(let b): out.append(contentsOf: b ? JSONText.true : JSONText.false)
        case .number(let n): JSONText.writeNumber(n, into: &out)
        case .string(let s): JSONText.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.sorted { JSONText.precedesInUTF16($0.key, $1.key) }
            for (i, member) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Parses one JSON text (RFC 8259) from UTF-8 bytes.
    ///
    /// Strict: at most 64 nested arrays/objects, no trailing bytes but white space, valid UTF-8 only,
    /// no lone surrogates in `\u` escapes, no leading zeros, no NaN/Infinity, no number that
    /// overflows a double. A duplicate key in one object is an error (a record entry must mean one
    /// thing to every reader, RFC 8785 §3.1 / I-JSON).
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in
            Result { () throws(JSONParseError) -> JSONValue in try JSONText.parse(buffer) }
        }) {
            return try result.get()
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer throws(JSONParseError) in try JSONText.parse(buffer) }
    }

    /// Parses one JSON text from a string (see `parse(_:)` on bytes).
    public static func parse(_ string: String) throws(JSONParseError) -> JSONValue {
        try parse(string.utf8)
    }
}

/// Why a JSON text was refused, and the byte offset (from 0) where the problem was found.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

/// The writing and reading machinery behind `JSONValue`'s JSON text.
enum JSONText {
    static let null = Array("null".utf8)
    static let `true` = Array("true".utf8)
    static let `false` = Array("false".utf8)
    static let maxDepth = 64
    private static let hexDigits = Array("0123456789abcdef".utf8)

    // MARK: Strings

    /// Writes `s` quoted, escaped as ES6 `JSON.stringify` (and so RFC 8785) does.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if s.utf8.withContiguousStorageIfAvailable({ writeEscaped($0, into: &out) }) == nil {
            Array(s.utf8).withUnsafeBufferPointer { writeEscaped($0, into: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var runStart = 0
        for i in bytes.indices {
            let b = bytes[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            runStart = i + 1
            out.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]])
            }
        }
        if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
    }

    /// Whether `a` sorts before `b` by UTF-16 code units (RFC 8785 §3.2.3), compared on UTF-8.
    ///
    /// UTF-8 byte order is code point order; UTF-16 order differs only between a supplementary
    /// character (surrogates D800–DBFF, UTF-8 lead F0–F4) and U+E000–U+FFFF (lead EE–EF).
    /// At the first differing byte both strings are at a character boundary or inside characters
    /// with the same lead byte, so swapping the result for that one pair of lead classes suffices.
    static func precedesInUTF16(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                var i = 0
                while i < n, x[i] == y[i] { i += 1 }
                if i == n { return x.count < y.count }
                let (p, q) = (x[i], y[i])
                if p >= 0xF0, q == 0xEE || q == 0xEF { return true }
                if q >= 0xF0, p == 0xEE || p == 0xEF { return false }
                return p < q
            }
        }
    }

    // MARK: Numbers

    /// Writes `x` as ECMAScript `Number.prototype.toString` does (RFC 8785 §3.2.2.3).
    static func writeNumber(_ x: Double, into out: inout [UInt8]) {
        guard x.isFinite else { return out.append(contentsOf: null) }
        if x == 0 { return out.append(UInt8(ascii: "0")) }  // also -0
        if x.magnitude < 9_007_199_254_740_992, x == x.rounded(.towardZero) {
            return writeInteger(Int64(x), into: &out)
        }
        if x < 0 { out.append(UInt8(ascii: "-")) }
        // Swift's description has the shortest round-trip digits; only its layout differs from ES6.
        var (digits, n) = decimalDigits(of: x.magnitude.description)
        let k = digits.count
        // The value is 0.d1d2…dk × 10^n.
        if k <= n, n <= 21 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n, n <= 21 {
            out.append(contentsOf: digits[..<n])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[n...])
        } else if -6 < n, n <= 0 {
            out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: ".")])
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            out.append(contentsOf: digits)
        } else {
            out.append(digits[0])
            if k > 1 {
                digits[0] = UInt8(ascii: ".")
                out.append(contentsOf: digits)
            }
            out.append(UInt8(ascii: "e"))
            out.append(UInt8(ascii: n - 1 < 0 ? "-" : "+"))
            writeInteger(Int64((n - 1).magnitude), into: &out)
        }
    }

    private static func writeInteger(_ v: Int64, into out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(m % 10))
            m /= 10
        } while m > 0
        out[start...].reverse()
    }

    /// The significant digits (no leading or trailing zeros) and the exponent `n` of
    /// `0.digits × 10^n` for a positive number's Swift description (`1.5`, `1e-07`, `1.25e+21`).
    private static func decimalDigits(of text: String) -> ([UInt8], Int) {
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var pointAt: Int?
        var exponent = 0
        var exponentSign = 1
        var inExponent = false
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if inExponent { exponent = exponent * 10 + Int(c - UInt8(ascii: "0")) } else { digits.append(c) }
            case UInt8(ascii: "."): pointAt = digits.count
            case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
            case UInt8(ascii: "-"): exponentSign = -1
            default: break  // "+"
            }
        }
        var n = (pointAt ?? digits.count) + exponentSign * exponent
        let leading = digits.prefix { $0 == UInt8(ascii: "0") }.count
        n -= leading
        digits.removeFirst(leading)
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits, n)
    }

    // MARK: Parsing

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        var reader = JSONReader(bytes: bytes)
        reader.skipWhiteSpace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhiteSpace()
        if reader.index < bytes.count {
            throw reader.error("unexpected \(JSONReader.describe(bytes[reader.index])) after the JSON value")
        }
        return value
    }
}

/// A recursive-descent RFC 8259 reader over a UTF-8 buffer.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(offset: offset ?? index, message: message)
    }

    static func describe(_ b: UInt8) -> String {
        let hex = "0x" + String(b, radix: 16, uppercase: true)
        return (0x21...0x7E).contains(b) ? "'\(Character(Unicode.Scalar(b)))' (\(hex))" : "byte \(hex)"
    }

    mutating func skipWhiteSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private var atEnd: Bool { index >= bytes.count }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONParseError) {
        guard !atEnd else { throw error("the text ends where \(what) was expected") }
        guard bytes[index] == byte else { throw error("expected \(what), found \(Self.describe(bytes[index]))") }
        index += 1
    }

    mutating func readValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard !atEnd else { throw error("the text ends where a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject(depth: depth + 1)
        case UInt8(ascii: "["): return try readArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): return try readLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try readLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try readLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        case let b: throw error("expected a value, found \(Self.describe(b))")
        }
    }

    private mutating func readLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let start = index
        let word = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.count - index >= word.count, word.indices.allSatisfy({ bytes[index + $0] == word[$0] }) else {
            throw error("unknown word; a value is an object, array, string, number, true, false or null", at: start)
        }
        index += word.count
        return value
    }

    private mutating func readObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONText.maxDepth else { throw error("nested deeper than \(JSONText.maxDepth) levels") }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhiteSpace()
        if !atEnd, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhiteSpace()
            let keyAt = index
            guard !atEnd, bytes[index] == UInt8(ascii: "\"") else {
                throw atEnd ? error("the text ends inside an object") : error("expected a quoted member name")
            }
            let key = try readString()
            skipWhiteSpace()
            try expect(UInt8(ascii: ":"), "':' after a member name")
            skipWhiteSpace()
            let value = try readValue(depth: depth)
            if members.updateValue(value, forKey: key) != nil {
                throw error("duplicate member name \"\(key)\" in one object", at: keyAt)
            }
            skipWhiteSpace()
            guard !atEnd else { throw error("the text ends inside an object") }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            try expect(UInt8(ascii: ","), "',' or '}' in an object")
        }
    }

    private mutating func readArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONText.maxDepth else { throw error("nested deeper than \(JSONText.maxDepth) levels") }
        index += 1
        var items: [JSONValue] = []
        skipWhiteSpace()
        if !atEnd, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhiteSpace()
            items.append(try readValue(depth: depth))
            skipWhiteSpace()
            guard !atEnd else { throw error("the text ends inside an array") }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            try expect(UInt8(ascii: ","), "',' or ']' in an array")
        }
    }

    private mutating func readNumber() throws(JSONParseError) -> Double {
        let start = index
        func digits(_ reader: inout JSONReader) -> Int {
            let from = reader.index
            while !reader.atEnd, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.index]) {
                reader.index += 1
            }
            return reader.index - from
        }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let intStart = index
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw error("expected a digit after '-'") }
        if intDigits > 1, bytes[intStart] == UInt8(ascii: "0") {
            throw error("a number may not have leading zeros", at: intStart)
        }
        var isInteger = true
        if !atEnd, bytes[index] == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard digits(&self) > 0 else { throw error("expected a digit after the decimal point") }
        }
        if !atEnd, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if !atEnd, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("expected a digit in the exponent") }
        }
        if isInteger, intDigits <= 15 {
            var v: Int64 = 0
            for b in bytes[intStart..<index] { v = v * 10 + Int64(b - UInt8(ascii: "0")) }
            return bytes[start] == UInt8(ascii: "-") ? (v == 0 ? -0.0 : -Double(v)) : Double(v)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("the number is too large for a double", at: start)
        }
        return value
    }

    private mutating func readString() throws(JSONParseError) -> String {
        index += 1  // the opening quote
        let start = index
        var scratch: [UInt8] = []
        var runStart = start
        var escaped = false
        while true {
            guard !atEnd else { throw error("the text ends inside a string", at: start - 1) }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                let run = UnsafeBufferPointer(rebasing: bytes[runStart..<index])
                index += 1
                if !escaped { return String(decoding: run, as: UTF8.self) }
                scratch.append(contentsOf: run)
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                if !escaped { scratch.reserveCapacity(index - start + 16) }
                escaped = true
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                try readEscape(into: &scratch)
                runStart = index
            case 0..<0x20:
                throw error("a control character (\(Self.describe(b))) must be escaped in a string")
            case 0..<0x80:
                index += 1
            default:
                try skipUTF8Sequence()
            }
        }
    }

    /// Checks one multi-byte UTF-8 sequence (RFC 3629: no overlongs, surrogates or > U+10FFFF).
    private mutating func skipUTF8Sequence() throws(JSONParseError) {
        let lead = bytes[index]
        let (count, low, high): (Int, UInt8, UInt8)
        switch lead {
        case 0xC2...0xDF: (count, low, high) = (1, 0x80, 0xBF)
        case 0xE0: (count, low, high) = (2, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (count, low, high) = (2, 0x80, 0xBF)
        case 0xED: (count, low, high) = (2, 0x80, 0x9F)
        case 0xF0: (count, low, high) = (3, 0x90, 0xBF)
        case 0xF1...0xF3: (count, low, high) = (3, 0x80, 0xBF)
        case 0xF4: (count, low, high) = (3, 0x80, 0x8F)
        default: throw error("invalid UTF-8 (\(Self.describe(lead)) cannot start a character)")
        }
        for k in 1...count {
            let at = index + k
            let ok = at < bytes.count && (k == 1 ? (low...high) : (0x80...0xBF)).contains(bytes[at])
            guard ok else { throw error("invalid UTF-8 sequence", at: index) }
        }
        index += count + 1
    }

    private mutating func readEscape(into out: inout [UInt8]) throws(JSONParseError) {
        let at = index
        index += 1
        guard !atEnd else { throw error("the text ends inside an escape", at: at) }
        let c = bytes[index]
        index += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try readHex4())
            if (0xDC00...0xDFFF).contains(scalar) { throw error("a lone low surrogate in a \\u escape", at: at) }
            if (0xD800...0xDBFF).contains(scalar) {
                let lowAt = index
                guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("a high surrogate \\u escape must be followed by a low one", at: at) }
                index += 2
                let low = UInt32(try readHex4())
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("a high surrogate \\u escape must be followed by a low one", at: lowAt)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            out.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            throw error(
                "unknown escape \\\(Self.describe(c)); use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX", at: at)
        }
    }

    private mutating func readHex4() throws(JSONParseError) -> UInt16 {
        guard bytes.count - index >= 4 else { throw error("a \\u escape needs four hex digits") }
        var v: UInt16 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits, found \(Self.describe(b))")
            }
            v = v << 4 | UInt16(d)
            index += 1
        }
        return v
    }
}
