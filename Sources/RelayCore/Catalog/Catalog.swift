/// The alliance of units, the services they handle and the forms those services use (PROTOCOL §9).
///
/// Decoded from `config/catalog.yaml`; the YAML keys are these property names.
public struct Catalog: Sendable, Hashable, Codable {
    public var units: [CatalogUnit]
    public var services: [CatalogService]
    public var forms: [FormTemplate]

    public init(units: [CatalogUnit], services: [CatalogService], forms: [FormTemplate] = []) {
        self.units = units
        self.services = services
        self.forms = forms
    }

    public func unit(_ id: String) -> CatalogUnit? { units.first { $0.id == id } }
    public func service(_ code: String) -> CatalogService? { services.first { $0.code == code } }
    public func form(_ id: String) -> FormTemplate? { forms.first { $0.id == id } }
}

/// An organisation unit: a service centre or window-owning office.
public struct CatalogUnit: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// GB/T 2260 region code, as a string.
    public var region: String

    public init(id: String, name: String, region: String) {
        self.id = id
        self.name = name
        self.region = region
    }
}

/// A service (a kind of matter) and the units that may handle it.
public struct CatalogService: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    public var handledBy: [String]
    /// The id of the form this service uses, if any.
    public var form: String?

    public init(code: String, name: String, handledBy: [String], form: String? = nil) {
        self.code = code
        self.name = name
        self.handledBy = handledBy
        self.form = form
    }
}

/// A form template: the fields an application form has and their checks.
public struct FormTemplate: Sendable, Hashable, Codable {
    public var id: String
    public var title: String
    public var fields: [FormField]

    public init(id: String, title: String, fields: [FormField]) {
        self.id = id
        self.title = title
        self.fields = fields
    }
}

/// One field of a form template.
public struct FormField: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case text, number, date, select, idNumber
    }

    public var id: String
    public var label: String
    public var type: Kind
    public var required: Bool?
    /// A whole-value regular expression.
    public var pattern: String?
    public var maxLength: Int?
    /// The allowed values of a `select`.
    public var options: [String]?

    public init(
        id: String,
        label: String,
        type: Kind,
        required: Bool? = nil,
        pattern: String? = nil,
        maxLength: Int? = nil,
        options: [String]? = nil
    ) {
        self.id = id
        self.label = label
        self.type = type
        self.required = required
        self.pattern = pattern
        self.maxLength = maxLength
        self.options = options
    }

    public var isRequired: Bool { required ?? false }
}
