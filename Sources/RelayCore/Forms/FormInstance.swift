/// One open form of a session (PROTOCOL §5): its values, per-field versions, staff guidance and
/// whether it was submitted. A struct state machine: operations check, change state and return the
/// event to record and broadcast, or throw the `Refusal` to send back.
///
/// Decisions:
/// - Values are strings, numbers or `null` (`bool`, arrays and objects are `bad_request`). A value with
///   problems is still stored. Setting `null` removes the value; `""` is kept as `""`. Both count as absent.
/// - Every accepted `set` is a change (version + 1), even when the value is the same as before.
/// - An unknown field is `not_found`; any change after submit is `invalid_state`.
/// - A change whose value equals the field's pending suggestion settles that suggestion (it is removed);
///   that is how `acceptSuggestion` clears it, also when the state is rebuilt from `form.changed` alone.
/// - A suggested value must pass the field's checks (else `bad_request` with `problems`); `hint` and
///   `error` need a text; `value` is only for `suggest`. `clear` removes all guidance of the field,
///   its pending suggestion included. Guidance keeps the latest of each kind per field.
/// - Problem messages are in the `language` the caller passes (the actor's); `Refusal` messages are English.
/// - `submit` hashes through the caller's `digest`, which must be `sha256Hex(JCS(values))` (RFC 8785).
public struct FormInstance: Sendable, Hashable {
    public let formId: String
    public let template: FormTemplate
    /// The current values of the fields that have one (never `null`).
    public internal(set) var values: [String: JSONValue]
    /// Every template field's version: 0 at open, + 1 per change.
    public internal(set) var versions: [String: Int]
    /// Per field, the latest guidance of each kind (never `.clear`).
    public internal(set) var guidance: [String: [GuidanceKind: FieldGuidance]]
    /// The `sha256` of the submitted values, once submitted.
    public internal(set) var submittedSha256: String?

    /// The longest guidance text, as for chat.
    public static let maxTextLength = 4000

    /// A freshly opened form: no values, every version 0.
    public init(formId: String, template: FormTemplate) {
        self.formId = formId
        self.template = template
        self.values = [:]
        self.versions = Dictionary(template.fields.map { ($0.id, 0) }, uniquingKeysWith: { a, _ in a })
        self.guidance = [:]
        self.submittedSha256 = nil
    }

    public var isSubmitted: Bool { submittedSha256 != nil }

    /// The pending suggested value per field.
    public var suggestions: [String: JSONValue] {
        guidance.compactMapValues { $0[.suggest]?.value }
    }

    /// The `form.opened` event of this form.
    public var openedEvent: FormEvent {
        .opened(formId: formId, template: template, values: values, versions: versions)
    }

    /// The problems of every failing field (required-but-missing included), keyed by field id.
    public func problems(language: MessageLanguage = .zh) -> [String: [Problem]] {
        var out: [String: [Problem]] = [:]
        for field in template.fields {
            let p = field.problems(of: values[field.id], language: language)
            if !p.isEmpty { out[field.id] = p }
        }
        return out
    }

    // MARK: Operations

    /// `form.set`: stores `value` as the field's next version when `baseVersion` is its current version.
    public mutating func set(
        field id: String,
        value: JSONValue,
        baseVersion: Int,
        language: MessageLanguage = .zh
    ) throws(Refusal) -> FormChange {
        let field = try changeableField(id)
        try Self.requireFormValue(value)
        let current = versions[id] ?? 0
        guard baseVersion == current else {
            throw Refusal(
                .conflict,
                "field \"\(id)\" is at version \(current), not \(baseVersion); merge with the current value and retry",
                details: ["current": ["value": values[id] ?? .null, "version": JSONValue(current)]]
            )
        }
        return change(field, to: value, language: language)
    }

    /// `form.guide`: records staff guidance on a field.
    public mutating func guide(
        field id: String,
        kind: GuidanceKind,
        text: String? = nil,
        value: JSONValue? = nil,
        language: MessageLanguage = .zh
    ) throws(Refusal) -> FormEvent {
        let field = try changeableField(id)
        var value = value
        if value?.isNull == true { value = Optional.none }
        if let text, text.count > Self.maxTextLength {
            throw Refusal(.badRequest, "guidance text is longer than \(Self.maxTextLength) characters")
        }
        if kind == .hint || kind == .error, (text ?? "").isEmpty {
            throw Refusal(.badRequest, "a \(kind.rawValue) needs a text")
        }
        if kind == .suggest {
            guard let value else { throw Refusal(.badRequest, "a suggest needs a value") }
            try Self.requireFormValue(value)
            let problems = field.problems(of: value, language: language)
            guard problems.isEmpty else {
                throw Refusal(
                    .badRequest,
                    "the suggested value for field \"\(id)\" fails its checks",
                    details: ["problems": [id: .array(problems.map(\.json))]]
                )
            }
        } else if value != nil {
            throw Refusal(.badRequest, "only a suggest carries a value")
        }
        recordGuidance(field: id, kind: kind, text: text, value: value)
        return .guidance(formId: formId, field: id, kind: kind, text: text, value: value)
    }

    /// `form.acceptSuggestion`: the pending suggestion becomes the field's next version and is settled.
    public mutating func acceptSuggestion(
        field id: String,
        language: MessageLanguage = .zh
    ) throws(Refusal) -> FormChange {
        let field = try changeableField(id)
        guard let value = guidance[id]?[.suggest]?.value else {
            throw Refusal(.invalidState, "field \"\(id)\" has no pending suggestion")
        }
        return change(field, to: value, language: language)
    }

    /// `form.submit`: when no field has a problem, the form is submitted with its values and
    /// `digest(values)` as `sha256`; otherwise `bad_request` with `problems` of every failing field.
    public mutating func submit(
        language: MessageLanguage = .zh,
        digest: (JSONValue) -> String
    ) throws(Refusal) -> FormSubmission {
        guard !isSubmitted else { throw Refusal(.invalidState, "form \"\(formId)\" is already submitted") }
        let problems = problems(language: language)
        guard problems.isEmpty else {
            let list = problems.mapValues { JSONValue.array($0.map(\.json)) }
            throw Refusal(
                .badRequest,
                "form \"\(formId)\" has problems in \(problems.count) field(s); fix them and submit again",
                details: ["problems": .object(list)]
            )
        }
        let submitted = JSONValue.object(values)
        let sha256 = digest(submitted)
        submittedSha256 = sha256
        return FormSubmission(
            values: submitted,
            sha256: sha256,
            event: .submitted(formId: formId, values: submitted, sha256: sha256)
        )
    }

    // MARK: State shared by the operations and replay

    /// Stores a change; a value equal to the pending suggestion settles it.
    mutating func recordChange(field id: String, value: JSONValue, version: Int) {
        // Not `value.isNull ? nil : value`: JSONValue is ExpressibleByNilLiteral, that would store `.null`.
        if value.isNull { values.removeValue(forKey: id) } else { values[id] = value }
        versions[id] = version
        if let pending = guidance[id]?[.suggest]?.value, pending == value {
            guidance[id]?[.suggest] = nil
            if guidance[id]?.isEmpty == true { guidance[id] = nil }
        }
    }

    mutating func recordGuidance(field id: String, kind: GuidanceKind, text: String?, value: JSONValue?) {
        if kind == .clear {
            guidance[id] = nil
        } else {
            guidance[id, default: [:]][kind] = FieldGuidance(text: text, value: value)
        }
    }

    private mutating func change(_ field: FormField, to value: JSONValue, language: MessageLanguage) -> FormChange {
        let version = (versions[field.id] ?? 0) + 1
        recordChange(field: field.id, value: value, version: version)
        let problems = field.problems(of: value, language: language)
        return FormChange(
            field: field.id,
            value: value,
            version: version,
            problems: problems,
            event: .changed(formId: formId, field: field.id, value: value, version: version, problems: problems)
        )
    }

    private func changeableField(_ id: String) throws(Refusal) -> FormField {
        guard !isSubmitted else { throw Refusal(.invalidState, "form \"\(formId)\" is submitted; it cannot change") }
        guard let field = template.fields.first(where: { $0.id == id }) else {
            throw Refusal(.notFound, "form \"\(template.id)\" has no field \"\(id)\"")
        }
        return field
    }

    private static func requireFormValue(_ value: JSONValue) throws(Refusal) {
        switch value {
        case .null, .string, .number: return
        case .bool, .array, .object: throw Refusal(.badRequest, "a form value is a string, a number or null")
        }
    }
}

/// The result of a change (`form.set` or `form.acceptSuggestion`).
public struct FormChange: Sendable, Hashable {
    public var field: String
    public var value: JSONValue
    public var version: Int
    /// The new value's problems (it is stored anyway).
    public var problems: [Problem]
    /// `form.changed`.
    public var event: FormEvent
}

/// The result of an accepted `form.submit`.
public struct FormSubmission: Sendable, Hashable {
    /// All values, as the JSON object that was hashed.
    public var values: JSONValue
    public var sha256: String
    /// `form.submitted`.
    public var event: FormEvent
}
