/// The stable problem codes of PROTOCOL §5.
public enum ProblemCode: String, Sendable, Hashable, CaseIterable {
    case required, pattern, maxLength, option, type, idNumber
}

/// The language problem messages are written in, chosen per participant.
public enum MessageLanguage: String, Sendable, Hashable, CaseIterable {
    case zh, en
}

/// One problem of a field value as the wire carries it: `{"code":…,"message":…}`.
public struct Problem: Sendable, Hashable {
    public var code: ProblemCode
    public var message: String

    public init(code: ProblemCode, message: String) {
        self.code = code
        self.message = message
    }

    public var json: JSONValue { ["code": .string(code.rawValue), "message": .string(message)] }
}

/// What is wrong with a field value, before it is put into words (see `problem(field:language:)`).
public enum FieldDefect: Sendable, Hashable {
    /// A required field is absent (`null`, `""` or never set).
    case missing
    /// The value does not match the field's `pattern` as a whole.
    case patternMismatch
    /// The value has more characters than `maxLength`.
    case tooLong(limit: Int)
    /// A `select` value that is not one of the options.
    case notAnOption
    /// The value is not of the field's type (a number field given a string, an unreal date …).
    case wrongType(FormField.Kind)
    /// An `idNumber` that fails GB 11643.
    case idNumber(IdNumberDefect)

    public var code: ProblemCode {
        switch self {
        case .missing: .required
        case .patternMismatch: .pattern
        case .tooLong: .maxLength
        case .notAnOption: .option
        case .wrongType: .type
        case .idNumber: .idNumber
        }
    }
}

/// The template checks of one field (PROTOCOL §5).
///
/// Rules, in order:
/// - `null` and `""` are absent: a `required` problem when the field is required, else no problem at all.
/// - The type: text, date, select and idNumber take a JSON string; number takes a JSON number, and a numeric
///   *string* such as `"12"` is a `type` problem (the wire carries numbers as numbers, so nothing has to
///   guess whether `"1e3"` or `"０１"` is a number). A date is an exact `YYYY-MM-DD` of a real day. Booleans,
///   arrays and objects are `type` problems. With a type problem no other check runs.
/// - Then the kind's own check (`option` for select, `idNumber` for idNumber), then `maxLength` (counted in
///   Swift `Character`s, what a person sees as one character), then `pattern` (see `FieldPattern`).
///   The catalog validation refuses `pattern` and `maxLength` on number fields.
/// - A pattern that does not compile (a catalog that skipped `validate()`) fails closed: a `pattern` problem.
extension FormField {
    /// The defects of `value` for this field, in a stable order; empty when it passes.
    public func defects(of value: JSONValue?) -> [FieldDefect] {
        guard let value, !value.isAbsentFormValue else { return isRequired ? [.missing] : [] }
        switch (type, value) {
        case (.number, .number(let n)):
            return n.isFinite ? [] : [.wrongType(.number)]
        case (.number, _):
            return [.wrongType(.number)]
        case (_, .string(let s)):
            return stringDefects(s)
        default:
            return [.wrongType(type)]
        }
    }

    /// The problems of `value` for this field, in `language`.
    public func problems(of value: JSONValue?, language: MessageLanguage) -> [Problem] {
        defects(of: value).map { $0.problem(field: self, language: language) }
    }

    private func stringDefects(_ s: String) -> [FieldDefect] {
        var found: [FieldDefect] = []
        switch type {
        case .date:
            if CalendarDate.parse(s) == nil { return [.wrongType(.date)] }
        case .select:
            if !(options ?? []).contains(s) { found.append(.notAnOption) }
        case .idNumber:
            if let d = ResidentIdNumber.defect(in: s) { found.append(.idNumber(d)) }
        case .text, .number:
            break
        }
        if let limit = maxLength, s.count > limit { found.append(.tooLong(limit: limit)) }
        if let pattern {
            let ok = (try? FieldPattern(pattern))?.matches(s) ?? false
            if !ok { found.append(.patternMismatch) }
        }
        return found
    }
}

extension JSONValue {
    /// `null` and `""`: a form value that counts as not given.
    public var isAbsentFormValue: Bool {
        switch self {
        case .null: true
        case .string(let s): s.isEmpty
        default: false
        }
    }
}
