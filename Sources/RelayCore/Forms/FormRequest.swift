/// A PROTOCOL §5 request with its fields checked for presence and type.
///
/// What the fields mean against the session and its forms (is the form open, is the field in it, is the
/// value a form value) is judged by `FormDesk`; here only the message's shape is.
public enum FormRequest: Sendable, Hashable {
    case open(sessionId: String, form: String)
    case set(sessionId: String, formId: String, field: String, value: JSONValue, baseVersion: Int)
    case guide(sessionId: String, formId: String, field: String, kind: GuidanceKind, text: String?, value: JSONValue?)
    case acceptSuggestion(sessionId: String, formId: String, field: String)
    case submit(sessionId: String, formId: String)

    public var kind: FormRequestKind {
        switch self {
        case .open: .open
        case .set: .set
        case .guide: .guide
        case .acceptSuggestion: .acceptSuggestion
        case .submit: .submit
        }
    }

    public var sessionId: String {
        switch self {
        case .open(let id, _), .set(let id, _, _, _, _), .guide(let id, _, _, _, _, _), .acceptSuggestion(let id, _, _),
            .submit(let id, _):
            id
        }
    }

    /// The open form the request is about (nil for `form.open`).
    public var formId: String? {
        switch self {
        case .open: nil
        case .set(_, let f, _, _, _), .guide(_, let f, _, _, _, _), .acceptSuggestion(_, let f, _), .submit(_, let f):
            f
        }
    }
}

extension FormRequest {
    /// Reads a request message's fields; nil when `type` is not a form request.
    ///
    /// Missing or ill-typed fields are `bad_request` naming the field (also as `details.field`). `value` of
    /// `form.set` is required (`null` clears the field); `baseVersion` is an integer of 0 or more.
    public static func parse(type: String, body: [String: JSONValue]) throws(Refusal) -> FormRequest? {
        guard let kind = FormRequestKind(rawValue: type) else { return nil }
        let f = SessionRequestFields(body: body)
        let sessionId = try f.string("sessionId")
        switch kind {
        case .open:
            return .open(sessionId: sessionId, form: try f.string("form"))
        case .set:
            let formId = try f.string("formId")
            let field = try f.string("field")
            guard let value = body["value"] else {
                throw SessionRequestFields.bad("value", "is missing (send null to clear the field)")
            }
            let baseVersion = try f.int("baseVersion", default: nil)
            guard baseVersion >= 0 else { throw SessionRequestFields.bad("baseVersion", "must be 0 or more") }
            return .set(sessionId: sessionId, formId: formId, field: field, value: value, baseVersion: baseVersion)
        case .guide:
            let formId = try f.string("formId")
            let field = try f.string("field")
            let raw = try f.string("kind")
            guard let guidance = GuidanceKind(rawValue: raw) else {
                let kinds = GuidanceKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw SessionRequestFields.bad("kind", "must be one of \(kinds)")
            }
            let text = try f.optionalString("text", max: FormInstance.maxTextLength)
            let value = body["value"].flatMap { $0.isNull ? nil : $0 }
            return .guide(
                sessionId: sessionId,
                formId: formId,
                field: field,
                kind: guidance,
                text: text,
                value: value
            )
        case .acceptSuggestion:
            return .acceptSuggestion(sessionId: sessionId, formId: try f.string("formId"), field: try f.string("field"))
        case .submit:
            return .submit(sessionId: sessionId, formId: try f.string("formId"))
        }
    }
}
