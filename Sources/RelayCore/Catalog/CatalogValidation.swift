/// A catalog that cannot be used, and the one thing wrong with it, naming the unit, service, form or field.
public enum CatalogError: Error, CustomStringConvertible, Hashable {
    case emptyUnitId(index: Int)
    case duplicateUnit(String)
    case emptyUnitName(unit: String)
    case badRegion(unit: String, region: String)
    case emptyServiceCode(index: Int)
    case duplicateService(String)
    case noHandlers(service: String)
    case unknownHandler(service: String, unit: String)
    case unknownForm(service: String, form: String)
    case emptyFormId(index: Int)
    case duplicateForm(String)
    case noFields(form: String)
    case emptyFieldId(form: String, index: Int)
    case duplicateField(form: String, field: String)
    case selectWithoutOptions(form: String, field: String)
    case duplicateOption(form: String, field: String, option: String)
    case optionsOnNonSelect(form: String, field: String, type: FormField.Kind)
    case badPattern(form: String, field: String, pattern: String)
    case badMaxLength(form: String, field: String, maxLength: Int)
    case numberWithStringCheck(form: String, field: String)

    public var description: String {
        "catalog: " + detail
    }

    private var detail: String {
        switch self {
        case .emptyUnitId(let i): "unit #\(i + 1) has an empty id"
        case .duplicateUnit(let id): "unit \"\(id)\" is listed twice; unit ids must be unique"
        case .emptyUnitName(let u): "unit \"\(u)\" has an empty name"
        case .badRegion(let u, let r):
            "unit \"\(u)\": region \"\(r)\" is not a 6-digit GB/T 2260 code (write it quoted, e.g. \"370211\")"
        case .emptyServiceCode(let i): "service #\(i + 1) has an empty code"
        case .duplicateService(let c): "service \"\(c)\" is listed twice; service codes must be unique"
        case .noHandlers(let s): "service \"\(s)\": handledBy is empty; list at least one unit"
        case .unknownHandler(let s, let u): "service \"\(s)\": handledBy names unit \"\(u)\", which is not in units"
        case .unknownForm(let s, let f): "service \"\(s)\": form \"\(f)\" is not in forms"
        case .emptyFormId(let i): "form #\(i + 1) has an empty id"
        case .duplicateForm(let f): "form \"\(f)\" is listed twice; form ids must be unique"
        case .noFields(let f): "form \"\(f)\" has no fields"
        case .emptyFieldId(let f, let i): "form \"\(f)\", field #\(i + 1) has an empty id"
        case .duplicateField(let f, let x): "form \"\(f)\", field \"\(x)\": listed twice; field ids must be unique"
        case .selectWithoutOptions(let f, let x):
            "form \"\(f)\", field \"\(x)\": a select needs a non-empty options list"
        case .duplicateOption(let f, let x, let o): "form \"\(f)\", field \"\(x)\": option \"\(o)\" is listed twice"
        case .optionsOnNonSelect(let f, let x, let t):
            "form \"\(f)\", field \"\(x)\": options are only for select fields, not \(t.rawValue)"
        case .badPattern(let f, let x, let p): "form \"\(f)\", field \"\(x)\": pattern \"\(p)\" does not compile"
        case .badMaxLength(let f, let x, let n): "form \"\(f)\", field \"\(x)\": maxLength \(n) must be above 0"
        case .numberWithStringCheck(let f, let x):
            "form \"\(f)\", field \"\(x)\": a number field takes a JSON number; pattern and maxLength do not apply"
        }
    }
}

extension Catalog {
    /// Checks that the catalog hangs together; throws the first thing wrong (see `validationErrors()`).
    public func validate() throws(CatalogError) {
        if let first = validationErrors().first { throw first }
    }

    /// Everything wrong with the catalog, in file order (units, services, forms); empty when it is usable.
    ///
    /// Patterns are compiled with `FieldPattern`, the same way the field checks use them.
    public func validationErrors() -> [CatalogError] {
        var errors: [CatalogError] = []
        var unitIds = Set<String>()
        for (i, unit) in units.enumerated() {
            if unit.id.isEmpty { errors.append(.emptyUnitId(index: i)); continue }
            if !unitIds.insert(unit.id).inserted { errors.append(.duplicateUnit(unit.id)) }
            if unit.name.isEmpty { errors.append(.emptyUnitName(unit: unit.id)) }
            let isCode = unit.region.utf8.count == 6 && unit.region.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
            if !isCode { errors.append(.badRegion(unit: unit.id, region: unit.region)) }
        }
        let formIds = Set(forms.map(\.id))
        var codes = Set<String>()
        for (i, service) in services.enumerated() {
            if service.code.isEmpty { errors.append(.emptyServiceCode(index: i)); continue }
            if !codes.insert(service.code).inserted { errors.append(.duplicateService(service.code)) }
            if service.handledBy.isEmpty { errors.append(.noHandlers(service: service.code)) }
            for unit in service.handledBy where !unitIds.contains(unit) {
                errors.append(.unknownHandler(service: service.code, unit: unit))
            }
            if let form = service.form, !formIds.contains(form) {
                errors.append(.unknownForm(service: service.code, form: form))
            }
        }
        var seenForms = Set<String>()
        for (i, form) in forms.enumerated() {
            if form.id.isEmpty { errors.append(.emptyFormId(index: i)); continue }
            if !seenForms.insert(form.id).inserted { errors.append(.duplicateForm(form.id)) }
            errors += Self.fieldErrors(form)
        }
        return errors
    }

    private static func fieldErrors(_ form: FormTemplate) -> [CatalogError] {
        var errors: [CatalogError] = []
        if form.fields.isEmpty { errors.append(.noFields(form: form.id)) }
        var ids = Set<String>()
        for (i, field) in form.fields.enumerated() {
            let (f, x) = (form.id, field.id)
            if x.isEmpty { errors.append(.emptyFieldId(form: f, index: i)); continue }
            if !ids.insert(x).inserted { errors.append(.duplicateField(form: f, field: x)) }
            if field.type == .select {
                let options = field.options ?? []
                if options.isEmpty { errors.append(.selectWithoutOptions(form: f, field: x)) }
                var seen = Set<String>()
                for option in options where !seen.insert(option).inserted {
                    errors.append(.duplicateOption(form: f, field: x, option: option))
                }
            } else if field.options != nil {
                errors.append(.optionsOnNonSelect(form: f, field: x, type: field.type))
            }
            if field.type == .number, field.pattern != nil || field.maxLength != nil {
                errors.append(.numberWithStringCheck(form: f, field: x))
            }
            if let pattern = field.pattern, !FieldPattern.compiles(pattern) {
                errors.append(.badPattern(form: f, field: x, pattern: pattern))
            }
            if let n = field.maxLength, n <= 0 { errors.append(.badMaxLength(form: f, field: x, maxLength: n)) }
        }
        return errors
    }
}
