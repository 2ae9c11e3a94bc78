/// The error codes of PROTOCOL §2.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable {
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case conflict
    case invalidState = "invalid_state"
    case tooLarge = "too_large"
    case unsupportedType = "unsupported_type"
    case rateLimited = "rate_limited"
    case `internal`
}

/// A refused request: what the client gets as `{"type":"error",…}`.
///
/// `details` are extra members of the error object (for example `expected` on an upload
/// conflict, `current` on a form conflict, `problems` on a refused submit).
public struct Refusal: Error, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String
    public var details: [String: JSONValue]

    public init(_ code: ErrorCode, _ message: String, details: [String: JSONValue] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }

    /// The error message for request `id` (absent when the id could not be read).
    public func message(id: String?) -> JSONValue {
        var o = details
        o["type"] = "error"
        if let id { o["id"] = .string(id) }
        o["code"] = .string(code.rawValue)
        o["message"] = .string(message)
        return .object(o)
    }
}
