import Yams

/// One `key: value` of a configuration file, read as the type its key needs; errors name the file,
/// the line and the key.
struct ConfigEntry {
    /// The dotted key, e.g. `listen.port`.
    var key: String
    var node: Node
    /// The file, for messages.
    var path: String
    /// The line of the key itself, when known; a list value starts on a later line.
    var keyLine: Int?

    init(key: String, node: Node, path: String, keyLine: Int? = nil) {
        self.key = key
        self.node = node
        self.path = path
        self.keyLine = keyLine
    }

    var line: Int? { keyLine ?? node.mark?.line }

    /// `~`, `null` or nothing after the colon.
    var isNull: Bool {
        guard case let .scalar(scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func string() throws(ConfigError) -> String {
        guard case let .scalar(scalar) = node, !isNull else { throw wrongType("a string") }
        return scalar.string
    }

    /// A path or name that may be left out: null means absent.
    func optionalString() throws(ConfigError) -> String? {
        if isNull { return nil }
        let value = try string()
        return value.isEmpty ? nil : value
    }

    func integer(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let plain = plainScalar, let value = Int(plain.replacing("_", with: "")) else {
            throw wrongType("an integer")
        }
        return try checked(value, range, format: String.init)
    }

    /// A byte count: an integer, or a string like `512KiB`, `4 MiB`, `1GiB`.
    func byteSize(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case let .scalar(scalar) = node, !isNull else { throw wrongType(Self.byteSizeExpectation) }
        if scalar.style == .plain, let value = Int(scalar.string.replacing("_", with: "")) {
            return try checked(value, range, format: ByteSize.format)
        }
        guard let value = ByteSize.parse(scalar.string) else { throw wrongType(Self.byteSizeExpectation) }
        return try checked(value, range, format: ByteSize.format)
    }

    func bool() throws(ConfigError) -> Bool {
        switch plainScalar {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw wrongType("true or false")
        }
    }

    /// One of the raw values of `T`, e.g. a log level.
    func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws(ConfigError) -> T where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        let expectation = "one of " + names.joined(separator: ", ")
        guard case let .scalar(scalar) = node, !isNull else { throw wrongType(expectation) }
        guard let value = T(rawValue: scalar.string) else { throw wrongType(expectation) }
        return value
    }

    /// A list of strings, written as a YAML sequence.
    func stringList() throws(ConfigError) -> [String] {
        guard case let .sequence(sequence) = node else { throw wrongType("a list of strings") }
        var values: [String] = []
        for item in sequence {
            guard case let .scalar(scalar) = item, !ConfigEntry(key: key, node: item, path: path).isNull else {
                throw ConfigError.wrongType(
                    path: path,
                    line: item.mark?.line,
                    key: key,
                    expected: "a list of strings",
                    found: "the item " + Self.describe(item, asItem: true)
                )
            }
            values.append(scalar.string)
        }
        return values
    }

    func outOfRange(_ problem: String) -> ConfigError {
        .outOfRange(path: path, line: line, key: key, problem: problem)
    }

    func wrongType(_ expected: String) -> ConfigError {
        .wrongType(path: path, line: line, key: key, expected: expected, found: Self.describe(node))
    }

    private static let byteSizeExpectation = "a byte size (an integer, or e.g. \"512KiB\", \"4 MiB\", \"1GiB\")"

    private var plainScalar: String? {
        guard case let .scalar(scalar) = node, scalar.style == .plain || scalar.style == .any else { return nil }
        return scalar.string
    }

    private func checked(
        _ value: Int,
        _ range: ClosedRange<Int>,
        format: (Int) -> String
    ) throws(ConfigError) -> Int {
        guard range.contains(value) else {
            if range.upperBound == Int.max {
                throw outOfRange("is \(format(value)); it must be at least \(format(range.lowerBound))")
            }
            throw outOfRange(
                "is \(format(value)); it must be between \(format(range.lowerBound)) and \(format(range.upperBound))"
            )
        }
        return value
    }

    /// How a node looks, for "found …" in messages.
    static func describe(_ node: Node, asItem: Bool = false) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias (aliases are not supported here)"
        case let .scalar(scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return asItem ? "null" : "no value (remove the key to use its default)"
            }
            let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "…" : scalar.string
            return "\"\(text)\""
        }
    }
}
