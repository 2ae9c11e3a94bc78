import Foundation
public import Logging
import RelayCore
import Synchronization

/// A swift-log handler that writes one JSON object per line to standard error
/// (`log.format: json`): `{"at","level","label","message",…metadata}`; metadata such as
/// `session` and `participant` become top-level fields, ready for a log pipeline.
public struct JSONLinesLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public let label: String
    private static let output = Mutex<Void>(())

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = .string("\(value)")
        }
        fields["at"] = .string(Timestamp.rfc3339(millis: Timestamp.millis(Date())))
        fields["level"] = .string(event.level.rawValue)
        fields["label"] = .string(label)
        fields["message"] = .string("\(event.message)")
        var line = JSONValue.object(fields).canonicalBytes
        line.append(UInt8(ascii: "\n"))
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line)) }
    }
}
