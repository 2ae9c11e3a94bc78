/// A field's `pattern`: a whole-value regular expression, compiled the one way both the catalog
/// validation and the field checks use.
///
/// Swift `Regex` syntax (PCRE/ICU-like), matched against the whole value (`wholeMatch`, no anchors
/// needed). `\d` means the ASCII digits 0–9 only (`asciiOnlyDigits`): a full-width `１` is not a digit
/// in a phone number or a credit code. Other classes keep their Unicode meaning (`\p{Han}` works).
public struct FieldPattern {
    public let source: String
    private let regex: Regex<AnyRegexOutput>

    /// Compiles `source`; throws the compiler's error when it is not a valid expression.
    public init(_ source: String) throws {
        self.source = source
        self.regex = try Regex(source).asciiOnlyDigits()
    }

    /// Whether the whole of `value` matches.
    public func matches(_ value: String) -> Bool {
        (try? regex.wholeMatch(in: value)) != nil
    }

    /// Whether `source` compiles.
    public static func compiles(_ source: String) -> Bool {
        (try? FieldPattern(source)) != nil
    }
}
