/// A PROTOCOL §3 request with its fields checked for presence, type and fixed limits.
public enum SessionRequest: Sendable, Hashable {
    case create(service: String, toUnit: String, applicant: ApplicantInfo?, note: String?)
    case queueWatch
    case accept(sessionId: String)
    case decline(sessionId: String, reason: String?)
    case transfer(sessionId: String, toUnit: String, reason: String?)
    case invite(sessionId: String, unit: String)
    case applicantToken(sessionId: String, ttlSeconds: Int)
    case join(sessionId: String, lastSeq: Int)
    case leave(sessionId: String)
    case end(sessionId: String, outcome: SessionEndOutcome, note: String?)
    case chat(sessionId: String, text: String)

    /// The request types, named as on the wire.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case create = "session.create"
        case queueWatch = "queue.watch"
        case accept = "session.accept"
        case decline = "session.decline"
        case transfer = "session.transfer"
        case invite = "session.invite"
        case applicantToken = "session.applicantToken"
        case join = "session.join"
        case leave = "session.leave"
        case end = "session.end"
        case chat = "chat.send"
    }

    public var kind: Kind {
        switch self {
        case .create: .create
        case .queueWatch: .queueWatch
        case .accept: .accept
        case .decline: .decline
        case .transfer: .transfer
        case .invite: .invite
        case .applicantToken: .applicantToken
        case .join: .join
        case .leave: .leave
        case .end: .end
        case .chat: .chat
        }
    }

    /// The session the request is about (nil for `session.create` and `queue.watch`).
    public var sessionId: String? {
        switch self {
        case .create, .queueWatch: nil
        case .accept(let id), .decline(let id, _), .transfer(let id, _, _), .invite(let id, _),
            .applicantToken(let id, _), .join(let id, _), .leave(let id), .end(let id, _, _), .chat(let id, _):
            id
        }
    }

    /// Longest `note` or `reason`, in Characters.
    public static let maxNoteLength = 500
    /// Longest applicant name, in Characters.
    public static let maxApplicantNameLength = 64
}

extension SessionRequest {
    /// Reads a request message's fields; nil when `type` is not a session request.
    ///
    /// Missing or ill-typed fields are `bad_request` naming the field (also as `details.field`).
    public static func parse(type: String, body: [String: JSONValue]) throws(Refusal) -> SessionRequest? {
        guard let kind = Kind(rawValue: type) else { return nil }
        let f = SessionRequestFields(body: body)
        switch kind {
        case .create:
            return .create(
                service: try f.string("service"), toUnit: try f.string("toUnit"), applicant: try f.applicant(),
                note: try f.optionalString("note", max: maxNoteLength))
        case .queueWatch:
            return .queueWatch
        case .accept:
            return .accept(sessionId: try f.string("sessionId"))
        case .decline:
            return .decline(
                sessionId: try f.string("sessionId"), reason: try f.optionalString("reason", max: maxNoteLength))
        case .transfer:
            return .transfer(
                sessionId: try f.string("sessionId"), toUnit: try f.string("toUnit"),
                reason: try f.optionalString("reason", max: maxNoteLength))
        case .invite:
            return .invite(sessionId: try f.string("sessionId"), unit: try f.string("unit"))
        case .applicantToken:
            return .applicantToken(
                sessionId: try f.string("sessionId"), ttlSeconds: try f.int("ttlSeconds", default: nil))
        case .join:
            let lastSeq = try f.int("lastSeq", default: 0)
            guard lastSeq >= 0 else { throw SessionRequestFields.bad("lastSeq", "must be 0 or more") }
            return .join(sessionId: try f.string("sessionId"), lastSeq: lastSeq)
        case .leave:
            return .leave(sessionId: try f.string("sessionId"))
        case .end:
            let id = try f.string("sessionId")
            let raw = try f.string("outcome")
            guard let outcome = SessionEndOutcome(rawValue: raw) else {
                throw SessionRequestFields.bad("outcome", "must be one of completed, needs_correction, cancelled")
            }
            return .end(sessionId: id, outcome: outcome, note: try f.optionalString("note", max: maxNoteLength))
        case .chat:
            // Its length limit is a rule of the book (too_large), checked there.
            let text = try f.string("text")
            return .chat(sessionId: try f.string("sessionId"), text: text)
        }
    }
}

/// Typed access to a request's members, refusing with `bad_request` that names the field.
struct SessionRequestFields {
    var body: [String: JSONValue]

    static func bad(_ field: String, _ problem: String) -> Refusal {
        Refusal(.badRequest, "field `\(field)` \(problem)", details: ["field": .string(field)])
    }

    /// A required non-empty string.
    func string(_ key: String) throws(Refusal) -> String {
        guard let value = body[key], !value.isNull else { throw Self.bad(key, "is missing") }
        guard let s = value.stringValue else { throw Self.bad(key, "must be a string") }
        guard !s.isEmpty else { throw Self.bad(key, "must not be empty") }
        return s
    }

    /// An optional string (absent or null is nil) of at most `max` Characters.
    func optionalString(
        _ key: String, max: Int, in object: [String: JSONValue]? = nil, path: String? = nil
    )
        throws(Refusal) -> String?
    {
        let name = path ?? key
        guard let value = (object ?? body)[key], !value.isNull else { return nil }
        guard let s = value.stringValue else { throw Self.bad(name, "must be a string") }
        guard s.count <= max else { throw Self.bad(name, "must be at most \(max) characters") }
        return s
    }

    /// An integer; absent or null gives `default`, or is refused when there is none.
    func int(_ key: String, default fallback: Int?) throws(Refusal) -> Int {
        guard let value = body[key], !value.isNull else {
            if let fallback { return fallback }
            throw Self.bad(key, "is missing")
        }
        guard let n = value.intValue else { throw Self.bad(key, "must be an integer") }
        return n
    }

    /// The optional `applicant` `{name ≤ 64 chars, idTail: 4 characters of 0-9, X or x}`.
    func applicant() throws(Refusal) -> ApplicantInfo? {
        guard let value = body["applicant"], !value.isNull else { return nil }
        guard let o = value.objectValue else { throw Self.bad("applicant", "must be an object") }
        let name = try optionalString(
            "name", max: SessionRequest.maxApplicantNameLength, in: o, path: "applicant.name")
        let idTail = try optionalString("idTail", max: 4, in: o, path: "applicant.idTail")
        if let idTail {
            let scalars = idTail.unicodeScalars
            let ok = scalars.count == 4 && scalars.allSatisfy { ("0"..."9").contains($0) || $0 == "X" || $0 == "x" }
            guard ok else { throw Self.bad("applicant.idTail", "must be exactly 4 characters of 0-9, X or x") }
        }
        return ApplicantInfo(name: name, idTail: idTail)
    }
}
