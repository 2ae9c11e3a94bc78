import Foundation
public import RelayCore
import Yams

extension RelayConfiguration {
    /// Reads the catalog named by the `catalog` key.
    public func loadCatalog() throws(ConfigError) -> Catalog {
        try Self.loadCatalog(path: catalog)
    }

    /// Reads a catalog YAML (units, services, forms; PROTOCOL §9).
    ///
    /// Errors name the file, the line and the key path (`services[2].handledBy`). Keys the catalog
    /// types do not have are errors too, so that a typo such as `requried` does not pass silently.
    public static func loadCatalog(path: String) throws(ConfigError) -> Catalog {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: reason(error))
        }
        return try decodeCatalog(yaml: text, path: path)
    }

    /// Decodes catalog text; `path` is only used in messages.
    public static func decodeCatalog(yaml: String, path: String) throws(ConfigError) -> Catalog {
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, path: path)
        } catch {
            throw .syntax(path: path, line: nil, problem: "\(error)")
        }
        guard case var .mapping(root)? = composed else {
            throw .catalog(
                path: path,
                line: composed?.mark?.line,
                keyPath: nil,
                problem: "expected a mapping with units, services and forms"
            )
        }
        // `forms` may be left out, as in `Catalog.init`.
        if root["forms"] == nil { root["forms"] = Node([Node]()) }
        let node = Node.mapping(root)

        let catalog: Catalog
        do {
            catalog = try YAMLDecoder().decode(Catalog.self, from: node)
        } catch let error as DecodingError {
            throw catalogError(error, in: node, path: path)
        } catch {
            throw .catalog(path: path, line: nil, keyPath: nil, problem: "\(error)")
        }
        try rejectUnknownKeys(in: node, decoded: catalog, path: path)
        // Semantic checks (references between units, services and forms) are validated by
        // Catalog.validate() in RelayServer start-up.
        return catalog
    }

    private static func catalogError(_ error: DecodingError, in root: Node, path: String) -> ConfigError {
        func fail(_ codingPath: [any CodingKey], _ problem: String) -> ConfigError {
            let line = node(at: codingPath, in: root)?.mark?.line
            return .catalog(path: path, line: line, keyPath: keyPath(codingPath), problem: problem)
        }
        switch error {
        case let .keyNotFound(key, context):
            return fail(context.codingPath, "missing \"\(key.stringValue)\"")
        case let .valueNotFound(type, context):
            return fail(context.codingPath, "needs a value of type \(type)")
        case let .typeMismatch(type, context):
            let found = node(at: context.codingPath, in: root).map { ", found " + ConfigEntry.describe($0) } ?? ""
            return fail(context.codingPath, "expected \(expectation(type))\(found)")
        case let .dataCorrupted(context):
            if context.codingPath.last?.stringValue == "type" {
                let kinds = FormField.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                return fail(context.codingPath, "a field type must be one of \(kinds)")
            }
            return fail(context.codingPath, context.debugDescription)
        @unknown default:
            return .catalog(path: path, line: nil, keyPath: nil, problem: "\(error)")
        }
    }

    private static func expectation(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is Node.Sequence.Type: return "a list"
        case is Node.Mapping.Type: return "a mapping"
        default: return "\(type)"
        }
    }

    /// Compares the file with the decoded catalog encoded again: a key in the file that did not survive
    /// the round trip (and is not null) was ignored by decoding, so it is not a key of the catalog types.
    private static func rejectUnknownKeys(in source: Node, decoded: Catalog, path: String) throws(ConfigError) {
        let encoded: Node?
        do {
            encoded = try Yams.compose(yaml: YAMLEncoder().encode(decoded))
        } catch {
            return  // cannot happen for a value that was just decoded; decoding already succeeded
        }
        guard let encoded else { return }
        if let (unknown, codingPath) = firstUnknownKey(source, encoded, codingPath: []) {
            throw .catalog(path: path, line: unknown.mark?.line, keyPath: keyPath(codingPath), problem: "unknown key")
        }
    }

    private static func firstUnknownKey(
        _ source: Node,
        _ encoded: Node,
        codingPath: [String]
    ) -> (key: Node, codingPath: [String])? {
        switch (source, encoded) {
        case let (.mapping(mine), .mapping(theirs)):
            for (key, value) in mine {
                let name = key.string ?? "?"
                if ConfigEntry(key: name, node: value, path: "").isNull { continue }
                guard let counterpart = theirs[name] else { return (key, codingPath + [name]) }
                if let found = firstUnknownKey(value, counterpart, codingPath: codingPath + [name]) { return found }
            }
        case let (.sequence(mine), .sequence(theirs)):
            for (index, (item, counterpart)) in zip(mine, theirs).enumerated() {
                if let found = firstUnknownKey(item, counterpart, codingPath: codingPath + ["[\(index)]"]) {
                    return found
                }
            }
        default:
            break
        }
        return nil
    }

    private static func node(at codingPath: [any CodingKey], in root: Node) -> Node? {
        var node = root
        for key in codingPath {
            switch node {
            case let .mapping(mapping):
                guard let next = mapping[key.stringValue] else { return node }
                node = next
            case let .sequence(sequence):
                guard let index = key.intValue, index >= 0, index < sequence.count else { return node }
                node = Array(sequence)[index]
            default:
                return node
            }
        }
        return node
    }

    private static func keyPath(_ codingPath: [any CodingKey]) -> String? {
        keyPath(codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue })
    }

    private static func keyPath(_ components: [String]) -> String? {
        guard !components.isEmpty else { return nil }
        return components.enumerated().map { index, part in
            index == 0 || part.hasPrefix("[") ? part : "." + part
        }.joined()
    }
}
