/// Why the configuration, the secret or the catalog could not be loaded; each message names the file,
/// the line and the key where it can, and says what to change.
public enum ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(path: String, reason: String)
    /// The file is not valid YAML.
    case syntax(path: String, line: Int?, problem: String)
    /// A key the relay does not know: most likely a typo.
    case unknownKey(path: String, line: Int?, key: String, suggestion: String?)
    /// A value of the wrong kind, e.g. a string where a number belongs.
    case wrongType(path: String, line: Int?, key: String, expected: String, found: String)
    /// A value of the right kind that is not allowed, e.g. a port above 65535.
    case outOfRange(path: String, line: Int?, key: String, problem: String)
    /// Settings that contradict each other.
    case inconsistent(path: String, line: Int?, problem: String)
    /// The secret file (`auth.secretFile`) does not exist or cannot be read.
    case secretUnreadable(file: String, key: String, reason: String)
    /// The secret is empty or too short for HS256.
    case secretTooShort(source: String, length: Int, minimum: Int)
    /// The catalog does not have the shape of a catalog.
    case catalog(path: String, line: Int?, keyPath: String?, problem: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read the file: \(reason)"
        case let .syntax(path, line, problem):
            return "\(Self.place(path, line)): not valid YAML: \(problem)"
        case let .unknownKey(path, line, key, suggestion):
            let hint = suggestion.map { " (did you mean \"\($0)\"?)" } ?? " (see config/relay.yaml for every key)"
            return "\(Self.place(path, line)): unknown key \"\(key)\"\(hint)"
        case let .wrongType(path, line, key, expected, found):
            let name = key.hasPrefix("(") ? key : "\"\(key)\""
            return "\(Self.place(path, line)): \(name) must be \(expected), found \(found)"
        case let .outOfRange(path, line, key, problem):
            return "\(Self.place(path, line)): \"\(key)\" \(problem)"
        case let .inconsistent(path, line, problem):
            return "\(Self.place(path, line)): \(problem)"
        case let .secretUnreadable(file, key, reason):
            return "cannot read the token secret from \(file) (\(key)): \(reason); "
                + "create the file or set WINDOWRELAY_SECRET"
        case let .secretTooShort(source, length, minimum):
            let what = length == 0 ? "is empty" : "has only \(length) bytes"
            return "the token secret from \(source) \(what); HS256 needs at least \(minimum) bytes "
                + "(e.g. `openssl rand -hex 32`)"
        case let .catalog(path, line, keyPath, problem):
            let key = keyPath.map { " at \"\($0)\"" } ?? ""
            return "\(Self.place(path, line)): invalid catalog\(key): \(problem)"
        }
    }

    private static func place(_ path: String, _ line: Int?) -> String {
        line.map { "\(path):\($0)" } ?? path
    }
}
