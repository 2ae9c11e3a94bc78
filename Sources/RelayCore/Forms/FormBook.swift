/// All open forms of one session, keyed by `formId`, in the order they were opened.
///
/// The caller makes the `formId` (`f_…`) and checks who may do what (see `FormRequestKind`).
public struct FormBook: Sendable, Hashable {
    public private(set) var forms: [FormInstance] = []

    public init() {}

    public subscript(formId: String) -> FormInstance? {
        forms.first { $0.formId == formId }
    }

    /// `form.open`: opens `template` as `formId`; `conflict` when that id is taken.
    public mutating func open(formId: String, template: FormTemplate) throws(Refusal) -> FormEvent {
        guard self[formId] == nil else { throw Refusal(.conflict, "form \"\(formId)\" is already open") }
        let form = FormInstance(formId: formId, template: template)
        forms.append(form)
        return form.openedEvent
    }

    /// Runs an operation on form `formId`; `not_found` when no such form is open.
    public mutating func update<Result>(
        _ formId: String,
        _ operation: (inout FormInstance) throws(Refusal) -> Result
    ) throws(Refusal) -> Result {
        guard let i = forms.firstIndex(where: { $0.formId == formId }) else {
            throw Refusal(.notFound, "no open form \"\(formId)\" in this session")
        }
        return try operation(&forms[i])
    }

    /// Applies a recorded form event of this session (replay after a restart).
    public mutating func apply(_ event: FormEvent) throws(FormReplayError) {
        if event.kind == .opened {
            let form = try FormInstance(opened: event)
            guard self[form.formId] == nil else {
                throw FormReplayError(event.type, formId: form.formId, "the form is already open")
            }
            forms.append(form)
            return
        }
        guard let i = forms.firstIndex(where: { $0.formId == event.formId }) else {
            throw FormReplayError(event.type, formId: event.formId, "the form was never opened")
        }
        try forms[i].apply(event)
    }

    /// The `forms` array of the `session.join` result.
    public var stateJSON: JSONValue { .array(forms.map(\.stateJSON)) }
}

/// The form requests of PROTOCOL §5 and the roles that may make them.
///
/// Only the role is judged here (from `FormAuthorization.matrix`, the one table of who may do what); that the
/// caller is present in the session, and the session's state, are checked by `FormAuthorization.check`.
public enum FormRequestKind: String, Sendable, Hashable, CaseIterable {
    case open = "form.open"
    case set = "form.set"
    case guide = "form.guide"
    case acceptSuggestion = "form.acceptSuggestion"
    case submit = "form.submit"

    /// Whether `role` may make this request: open and guide are staff only; acceptSuggestion is for the
    /// applicant or a clerk; set and submit for any participant. Ops never touch form values.
    public func permits(_ role: Role) -> Bool {
        FormAuthorization.relations(self, role) != nil
    }
}
