/// Every session's open forms, kept in step with the session record: decides PROTOCOL §5 requests and
/// rebuilds the same state from the recorded events after a restart.
///
/// A form request is checked (`FormAuthorization`), decided on a copy of the session's `FormBook`, and its
/// event is appended to the session through `SessionBook.append` (next seq, chain hash, sent to the
/// participants present); only then does the copy replace the book. `restore` folds recorded events the same
/// way, so the state after a restart is the state before it.
///
/// Decisions:
/// - `form.open` takes any catalog form, not only the service's own (`form` is required by PROTOCOL §5).
/// - At most `maxFormsPerSession` forms per session (`rate_limited`), string values of at most
///   `maxValueLength` characters (`too_large`): a value with problems is stored, so it needs a bound.
/// - Replies: `form.open` → `{formId}`; `form.set` and `form.acceptSuggestion` → `{version}`;
///   `form.guide` → `{}`; `form.submit` → `{sha256}`.
public struct FormDesk: Sendable {
    public let catalog: Catalog
    let sha256Hex: @Sendable ([UInt8]) -> String
    let makeFormId: @Sendable () -> String
    var books: [String: FormBook] = [:]

    /// Most forms one session may open.
    public static let maxFormsPerSession = 20
    /// Longest string value or suggestion, in Characters.
    public static let maxValueLength = 4000

    /// - Parameters:
    ///   - sha256Hex: lowercase hex SHA-256 of bytes (for `form.submitted`'s `sha256`).
    ///   - makeFormId: a new `f_…` id; asked again on a collision within the session.
    public init(
        catalog: Catalog,
        sha256Hex: @escaping @Sendable ([UInt8]) -> String,
        makeFormId: @escaping @Sendable () -> String
    ) {
        self.catalog = catalog
        self.sha256Hex = sha256Hex
        self.makeFormId = makeFormId
    }

    // MARK: Queries

    /// The forms of session `sessionId` (empty when it has none).
    public func book(of sessionId: String) -> FormBook { books[sessionId] ?? FormBook() }

    /// The `forms` array of a `session.join` result: each open form's state as of the session's latest seq,
    /// with `problems` {field: [problem]} of each field changed at least once, in `language`.
    public func joinState(sessionId: String, language: MessageLanguage) -> JSONValue {
        .array(
            book(of: sessionId).forms.map { form in
                guard case .object(var o) = form.stateJSON else { return form.stateJSON }
                var problems: [String: JSONValue] = [:]
                for field in form.template.fields where (form.versions[field.id] ?? 0) > 0 {
                    let p = field.problems(of: form.values[field.id], language: language)
                    if !p.isEmpty { problems[field.id] = .array(p.map(\.json)) }
                }
                o["problems"] = .object(problems)
                return .object(o)
            }
        )
    }

    /// `form.submitted`'s `sha256`: lowercase hex SHA-256 of the RFC 8785 canonical JSON of `values`.
    public func digest(_ values: JSONValue) -> String { sha256Hex(values.canonicalBytes) }

    // MARK: Requests

    /// Decides a PROTOCOL §5 request from `who` at `now` (unix millis), with problem messages in `language`:
    /// refuses it (nothing changes), or appends its event to the session in `sessions` and returns it.
    ///
    /// Checks run in this order: role (`forbidden`), session (`not_found`), presence and session state
    /// (`forbidden`, `invalid_state`), then the form, the field and the value.
    public mutating func handle(
        _ request: FormRequest,
        by who: Identity,
        language: MessageLanguage,
        in sessions: inout SessionBook,
        now: Int64
    ) throws(Refusal) -> SessionOutcome {
        try FormAuthorization.checkRole(request.kind, who)
        guard let session = sessions.session(request.sessionId) else {
            throw Refusal(.notFound, "no session \(request.sessionId); it never existed or was closed long ago")
        }
        try FormAuthorization.check(request.kind, who, session)
        var forms = book(of: session.id)
        let (event, result) = try decide(request, on: &forms, language: language)
        let emitted = try sessions.append(
            sessionId: session.id,
            type: event.type,
            actor: who.sub,
            data: event.data,
            now: now
        )
        books[session.id] = forms
        return SessionOutcome(emitted: [emitted], result: result)
    }

    private func decide(
        _ request: FormRequest,
        on forms: inout FormBook,
        language: MessageLanguage
    ) throws(Refusal) -> (FormEvent, JSONValue) {
        switch request {
        case .open(_, let name):
            guard let template = catalog.form(name) else {
                let known = catalog.forms.map(\.id).joined(separator: ", ")
                throw Refusal(
                    .badRequest,
                    "unknown form `\(name)`; the catalog's forms are: \(known)",
                    details: ["field": "form"]
                )
            }
            guard forms.forms.count < Self.maxFormsPerSession else {
                throw Refusal(
                    .rateLimited,
                    "this session already has \(Self.maxFormsPerSession) forms; submit or reuse one"
                )
            }
            let formId = try newFormId(in: forms)
            return (try forms.open(formId: formId, template: template), ["formId": .string(formId)])
        case .set(_, let formId, let field, let value, let baseVersion):
            try Self.checkSize(value, "value")
            let change = try forms.update(formId) { (form: inout FormInstance) throws(Refusal) in
                try form.set(field: field, value: value, baseVersion: baseVersion, language: language)
            }
            return (change.event, ["version": JSONValue(change.version)])
        case .guide(_, let formId, let field, let kind, let text, let value):
            if let value { try Self.checkSize(value, "value") }
            let event = try forms.update(formId) { (form: inout FormInstance) throws(Refusal) in
                try form.guide(field: field, kind: kind, text: text, value: value, language: language)
            }
            return (event, .object([:]))
        case .acceptSuggestion(_, let formId, let field):
            let change = try forms.update(formId) { (form: inout FormInstance) throws(Refusal) in
                try form.acceptSuggestion(field: field, language: language)
            }
            return (change.event, ["version": JSONValue(change.version)])
        case .submit(_, let formId):
            let sha256Hex = self.sha256Hex
            let submission = try forms.update(formId) { (form: inout FormInstance) throws(Refusal) in
                try form.submit(language: language) { sha256Hex($0.canonicalBytes) }
            }
            return (submission.event, ["sha256": .string(submission.sha256)])
        }
    }

    private func newFormId(in forms: FormBook) throws(Refusal) -> String {
        for _ in 0..<16 {
            let id = makeFormId()
            if forms[id] == nil { return id }
        }
        throw Refusal(.internal, "could not make a new form id; try again")
    }

    private static func checkSize(_ value: JSONValue, _ field: String) throws(Refusal) {
        guard case .string(let s) = value, s.count > maxValueLength else { return }
        throw Refusal(
            .tooLarge,
            "`\(field)` has \(s.count) characters; a form value has at most \(maxValueLength)",
            details: ["field": .string(field)]
        )
    }

    // MARK: Recorded events

    /// Folds one recorded event of a session, in record order; false (nothing changes) when it is not a form
    /// event. Feed it the events `SessionBook.restore` accepted.
    @discardableResult
    public mutating func restore(_ event: SessionEvent) throws(FormReplayError) -> Bool {
        guard let formEvent = FormEvent(type: event.type, data: event.data) else { return false }
        var forms = book(of: event.sessionId)
        try forms.apply(formEvent)
        books[event.sessionId] = forms
        return true
    }

    /// Drops a session's forms from memory (with `SessionBook.forget`; the record keeps them).
    public mutating func forget(sessionId: String) {
        books[sessionId] = nil
    }
}
