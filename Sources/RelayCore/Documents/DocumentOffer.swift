/// A `doc.offer` request (PROTOCOL §4) with its fields checked for presence, type and form.
public struct DocumentOffer: Sendable, Hashable {
    public var sessionId: String
    /// Display text only: never part of a path.
    public var name: String
    /// Lower-cased, without parameters.
    public var mime: String
    public var size: Int
    /// 64 lowercase hex digits.
    public var sha256: String

    /// The request's wire type.
    public static let type = "doc.offer"
    /// Longest `name`, in Characters.
    public static let maxNameLength = 255

    public init(sessionId: String, name: String, mime: String, size: Int, sha256: String) {
        self.sessionId = sessionId
        self.name = name
        self.mime = DocumentSignature.normalized(mime)
        self.size = size
        self.sha256 = sha256.lowercased()
    }

    /// Reads the fields of a `doc.offer`; a missing or ill-formed field is `bad_request` naming it.
    public static func parse(_ body: [String: JSONValue]) throws(Refusal) -> DocumentOffer {
        func string(_ field: String) throws(Refusal) -> String {
            guard let value = body[field]?.stringValue, !value.isEmpty else {
                throw Refusal(
                    .badRequest,
                    "field `\(field)` must be a non-empty string",
                    details: ["field": .string(field)]
                )
            }
            return value
        }
        let sessionId = try string("sessionId")
        let name = try string("name")
        guard name.count <= maxNameLength else {
            throw Refusal(
                .badRequest,
                "field `name` must be at most \(maxNameLength) characters",
                details: ["field": "name"]
            )
        }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw Refusal(.badRequest, "field `name` must not contain control characters", details: ["field": "name"])
        }
        let mime = try string("mime")
        guard let size = body["size"]?.intValue, size >= 1 else {
            throw Refusal(
                .badRequest,
                "field `size` must be a whole number of bytes, at least 1",
                details: ["field": "size"]
            )
        }
        let sha256 = try string("sha256")
        let hex = sha256.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0 | 0x20) }
        guard sha256.utf8.count == 64, hex else {
            throw Refusal(
                .badRequest,
                "field `sha256` must be the file's SHA-256 as 64 hex digits",
                details: ["field": "sha256"]
            )
        }
        return DocumentOffer(sessionId: sessionId, name: name, mime: mime, size: size, sha256: sha256)
    }
}

/// Why an upload failed after its offer was accepted (`doc.failed`'s `reason`).
public enum DocumentFailure: String, Sendable, Hashable, CaseIterable {
    /// The whole file's SHA-256 is not the one offered.
    case checksumMismatch = "checksum_mismatch"
    /// The leading bytes do not match the declared type.
    case unsupportedType = "unsupported_type"
    /// The session ended, or the uploader left it, before the upload finished.
    case sessionEnded = "session_ended"
    /// The server could not write or sync the bytes (disk full, I/O error).
    case storageFailed = "storage_failed"
}

/// A document that became available in a session: the `document` of a `doc.available` event.
public struct DocumentRecord: Sendable, Hashable {
    /// `d_…`.
    public var id: String
    /// Display text only.
    public var name: String
    public var mime: String
    public var size: Int
    public var sha256: String
    /// The uploader's `sub`.
    public var from: String
    /// When it became available (unix millis): the event's `at`.
    public var atMillis: Int64

    /// The event type that announces a document.
    public static let eventType = "doc.available"

    public init(id: String, name: String, mime: String, size: Int, sha256: String, from: String, atMillis: Int64) {
        self.id = id
        self.name = name
        self.mime = mime
        self.size = size
        self.sha256 = sha256
        self.from = from
        self.atMillis = atMillis
    }

    /// Reads the document of a `doc.available` event; nil for any other event.
    public init?(event: SessionEvent) {
        guard event.type == Self.eventType, let d = event.data["document"]?.objectValue,
            let id = d["id"]?.stringValue, let name = d["name"]?.stringValue, let mime = d["mime"]?.stringValue,
            let size = d["size"]?.intValue, let sha256 = d["sha256"]?.stringValue, let from = d["from"]?.stringValue
        else { return nil }
        self.init(id: id, name: name, mime: mime, size: size, sha256: sha256, from: from, atMillis: event.atMillis)
    }

    /// `{id, name, mime, size, sha256, from}`: the event's `document` and an entry of a join result.
    public var json: JSONValue {
        [
            "id": .string(id), "name": .string(name), "mime": .string(mime), "size": JSONValue(size),
            "sha256": .string(sha256), "from": .string(from),
        ]
    }

    /// The `data` of the `doc.available` event.
    public var eventData: [String: JSONValue] { ["document": json] }

    /// `{id, name, mime, size, sha256, from, at}`: an entry of the record manifest's `documents`.
    public var manifestEntry: JSONValue {
        guard case .object(var o) = json else { return json }
        o["at"] = .string(Timestamp.rfc3339(millis: atMillis))
        return .object(o)
    }

    /// The manifest entries of every document announced in `events`, in record order.
    public static func manifestEntries(_ events: [SessionEvent]) -> [JSONValue] {
        events.compactMap(DocumentRecord.init(event:)).map(\.manifestEntry)
    }
}

/// The documents of each session, rebuilt from `doc.available` events: join results and per-session totals.
public struct SessionDocuments: Sendable {
    private var bySession: [String: [DocumentRecord]] = [:]

    public init() {}

    /// Takes note of `event` if it announces a document.
    public mutating func restore(_ event: SessionEvent) {
        guard let record = DocumentRecord(event: event) else { return }
        bySession[event.sessionId, default: []].append(record)
    }

    /// The session's documents in the order they became available.
    public func documents(in sessionId: String) -> [DocumentRecord] { bySession[sessionId] ?? [] }

    /// The bytes of the session's documents together.
    public func bytes(in sessionId: String) -> Int { documents(in: sessionId).reduce(0) { $0 + $1.size } }

    /// The join result's `documents`.
    public func json(in sessionId: String) -> JSONValue { .array(documents(in: sessionId).map(\.json)) }
}

extension SessionBook {
    /// Refuses `who` sending a document into `sessionId` unless it is present in that session and the session is
    /// active (PROTOCOL §4: clerks, approvers and applicants, in both directions).
    public func checkDocumentSender(_ who: Identity, sessionId: String) throws(Refusal) {
        guard who.role == .clerk || who.role == .approver || who.role == .applicant else {
            throw Refusal(.forbidden, "only clerks, approvers and applicants send documents")
        }
        guard let s = session(sessionId) else {
            throw Refusal(.notFound, "no session \(sessionId); it never existed or was closed long ago")
        }
        guard s.isPresent(who.sub) else {
            throw Refusal(.forbidden, "join session \(sessionId) before sending documents into it")
        }
        guard s.state == .active else {
            throw Refusal(
                .invalidState,
                "session \(sessionId) is \(s.state.rawValue); documents can be sent while it is active"
            )
        }
    }
}
