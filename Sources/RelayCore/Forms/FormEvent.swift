/// A form event of a session (PROTOCOL §5): its type and its own fields, ready to become a `SessionEvent`.
///
/// The operations of `FormInstance` return these; `FormInstance.apply(_:)` rebuilds state from them.
public struct FormEvent: Sendable, Hashable {
    /// The event types of PROTOCOL §5.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case opened = "form.opened"
        case changed = "form.changed"
        case guidance = "form.guidance"
        case submitted = "form.submitted"
    }

    public var kind: Kind
    /// The event's own fields (the `data` of its record entry).
    public var data: [String: JSONValue]

    public init(kind: Kind, data: [String: JSONValue]) {
        self.kind = kind
        self.data = data
    }

    /// A recorded event, when its type is a form event; `nil` for any other type.
    public init?(type: String, data: [String: JSONValue]) {
        guard let kind = Kind(rawValue: type) else { return nil }
        self.init(kind: kind, data: data)
    }

    /// The event type as the wire and the record spell it.
    public var type: String { kind.rawValue }
    public var formId: String? { data["formId"]?.stringValue }
}

extension FormEvent {
    /// `form.opened {formId, template, values, versions}`.
    public static func opened(
        formId: String,
        template: FormTemplate,
        values: [String: JSONValue],
        versions: [String: Int]
    ) -> FormEvent {
        FormEvent(
            kind: .opened,
            data: [
                "formId": .string(formId),
                "template": template.json,
                "values": .object(values),
                "versions": .object(versions.mapValues { JSONValue($0) }),
            ]
        )
    }

    /// `form.changed {formId, field, value, version, problems}`.
    public static func changed(
        formId: String,
        field: String,
        value: JSONValue,
        version: Int,
        problems: [Problem]
    ) -> FormEvent {
        FormEvent(
            kind: .changed,
            data: [
                "formId": .string(formId),
                "field": .string(field),
                "value": value,
                "version": JSONValue(version),
                "problems": .array(problems.map(\.json)),
            ]
        )
    }

    /// `form.guidance {formId, field, kind, text, value}`; `text` and `value` are left out when absent.
    public static func guidance(
        formId: String,
        field: String,
        kind: GuidanceKind,
        text: String?,
        value: JSONValue?
    ) -> FormEvent {
        var data: [String: JSONValue] = [
            "formId": .string(formId),
            "field": .string(field),
            "kind": .string(kind.rawValue),
        ]
        if let text { data["text"] = .string(text) }
        if let value { data["value"] = value }
        return FormEvent(kind: .guidance, data: data)
    }

    /// `form.submitted {formId, values, sha256}`; `sha256` is of `JCS(values)`, made by the caller.
    public static func submitted(formId: String, values: JSONValue, sha256: String) -> FormEvent {
        FormEvent(
            kind: .submitted,
            data: [
                "formId": .string(formId),
                "values": values,
                "sha256": .string(sha256),
            ]
        )
    }
}

/// The kinds of staff guidance on a field.
public enum GuidanceKind: String, Sendable, Hashable, CaseIterable {
    case highlight, hint, suggest, error, clear
}

/// The latest guidance of one kind on one field: its text and, for `suggest`, the suggested value.
public struct FieldGuidance: Sendable, Hashable {
    public var text: String?
    public var value: JSONValue?

    public init(text: String? = nil, value: JSONValue? = nil) {
        self.text = text
        self.value = value
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [:]
        if let text { o["text"] = .string(text) }
        if let value { o["value"] = value }
        return .object(o)
    }
}

/// A recorded form event that cannot be applied: the record and the state disagree.
public struct FormReplayError: Error, CustomStringConvertible, Hashable {
    public var eventType: String
    public var formId: String?
    public var reason: String

    public init(_ eventType: String, formId: String?, _ reason: String) {
        self.eventType = eventType
        self.formId = formId
        self.reason = reason
    }

    public var description: String {
        "form replay: \(eventType) of form \"\(formId ?? "?")\": \(reason); the session's record is inconsistent"
    }
}
