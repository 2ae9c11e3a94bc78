/// Form templates as JSON, for `form.opened` and for the `forms` of `session.join`; and back, for replay.
extension FormTemplate {
    /// `{id, title, fields:[…]}`.
    public var json: JSONValue {
        ["id": .string(id), "title": .string(title), "fields": .array(fields.map(\.json))]
    }

    /// The template of a recorded `form.opened`, or `nil` when the JSON does not have its shape.
    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let title = json["title"]?.stringValue,
            let list = json["fields"]?.arrayValue
        else { return nil }
        var fields: [FormField] = []
        for item in list {
            guard let field = FormField(json: item) else { return nil }
            fields.append(field)
        }
        self.init(id: id, title: title, fields: fields)
    }
}

extension FormField {
    /// `{id, label, type, required, pattern, maxLength, options}`; members that are not set are left out.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["id": .string(id), "label": .string(label), "type": .string(type.rawValue)]
        if let required { o["required"] = .bool(required) }
        if let pattern { o["pattern"] = .string(pattern) }
        if let maxLength { o["maxLength"] = JSONValue(maxLength) }
        if let options { o["options"] = .array(options.map(JSONValue.string)) }
        return .object(o)
    }

    /// The field of a template's JSON, or `nil` when the JSON does not have its shape.
    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let label = json["label"]?.stringValue,
            let kind = json["type"]?.stringValue.flatMap(Kind.init(rawValue:))
        else { return nil }
        var options: [String]?
        if let list = json["options"]?.arrayValue {
            options = list.compactMap(\.stringValue)
            guard options?.count == list.count else { return nil }
        }
        self.init(
            id: id,
            label: label,
            type: kind,
            required: json["required"]?.boolValue,
            pattern: json["pattern"]?.stringValue,
            maxLength: json["maxLength"]?.intValue,
            options: options
        )
    }
}
