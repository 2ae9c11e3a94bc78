/// Event sourcing for forms: rebuilding a `FormInstance` from its recorded events after a restart,
/// and its state as the `forms` array of `session.join` shows it.
extension FormInstance {
    /// The form a recorded `form.opened` opened.
    public init(opened event: FormEvent) throws(FormReplayError) {
        func fail(_ reason: String) -> FormReplayError { FormReplayError(event.type, formId: event.formId, reason) }
        guard event.kind == .opened else { throw fail("not a form.opened") }
        guard let formId = event.formId else { throw fail("no formId") }
        guard let templateJSON = event.data["template"], let template = FormTemplate(json: templateJSON) else {
            throw fail("no readable template")
        }
        self.init(formId: formId, template: template)
        if let values = event.data["values"]?.objectValue {
            for (id, value) in values where !value.isNull {
                guard versions[id] != nil else { throw fail("value of unknown field \"\(id)\"") }
                self.values[id] = value
            }
        }
        if let versions = event.data["versions"]?.objectValue {
            for (id, version) in versions {
                guard self.versions[id] != nil, let v = version.intValue else { throw fail("bad version of \"\(id)\"") }
                self.versions[id] = v
            }
        }
    }

    /// Applies a recorded `form.changed`, `form.guidance` or `form.submitted` of this form, as the live
    /// operation did. Problems in `form.changed` are not state (they follow from the values).
    public mutating func apply(_ event: FormEvent) throws(FormReplayError) {
        func fail(_ reason: String) -> FormReplayError { FormReplayError(event.type, formId: event.formId, reason) }
        guard event.formId == formId else { throw fail("belongs to another form than \"\(formId)\"") }
        guard !isSubmitted else { throw fail("comes after the form was submitted") }
        let d = event.data
        switch event.kind {
        case .opened:
            throw fail("the form is already open")
        case .changed:
            guard let id = d["field"]?.stringValue, let current = versions[id] else { throw fail("unknown field") }
            guard let value = d["value"] else { throw fail("no value") }
            guard let version = d["version"]?.intValue, version == current + 1 else {
                throw fail("version of \"\(id)\" is not \(current + 1)")
            }
            recordChange(field: id, value: value, version: version)
        case .guidance:
            guard let id = d["field"]?.stringValue, versions[id] != nil else { throw fail("unknown field") }
            guard let kind = d["kind"]?.stringValue.flatMap(GuidanceKind.init(rawValue:)) else {
                throw fail("unknown kind")
            }
            recordGuidance(field: id, kind: kind, text: d["text"]?.stringValue, value: d["value"])
        case .submitted:
            guard let sha256 = d["sha256"]?.stringValue else { throw fail("no sha256") }
            guard d["values"] == .object(values) else { throw fail("values differ from the recorded changes") }
            submittedSha256 = sha256
        }
    }

    /// Rebuilds a form from its events: `form.opened` first, then the others in record order.
    public static func rebuild(from events: [FormEvent]) throws(FormReplayError) -> FormInstance {
        guard let first = events.first else { throw FormReplayError("form.opened", formId: nil, "no events") }
        var form = try FormInstance(opened: first)
        for event in events.dropFirst() { try form.apply(event) }
        return form
    }

    /// `{formId, template, values, versions, guidance, suggestions, submitted, sha256}` (`sha256` once
    /// submitted); `guidance` is `{field: {kind: {text, value}}}`, `suggestions` is `{field: value}`.
    public var stateJSON: JSONValue {
        var o: [String: JSONValue] = [
            "formId": .string(formId),
            "template": template.json,
            "values": .object(values),
            "versions": .object(versions.mapValues { JSONValue($0) }),
            "guidance": .object(
                guidance.mapValues { kinds in
                    .object(Dictionary(uniqueKeysWithValues: kinds.map { ($0.key.rawValue, $0.value.json) }))
                }
            ),
            "suggestions": .object(suggestions),
            "submitted": .bool(isSubmitted),
        ]
        if let submittedSha256 { o["sha256"] = .string(submittedSha256) }
        return .object(o)
    }
}
