public import RelayCore

/// Why a JWT was refused (PROTOCOL §1); every case maps to `unauthorized` on the wire.
public enum TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not three base64url parts, or a header or claims part that is not a JSON object of the
    /// expected member types.
    case malformed(String)
    /// The header says `alg: none`: unsigned tokens are never accepted.
    case algorithmNone
    /// The header names an algorithm other than HS256.
    case unsupportedAlgorithm(String)
    /// The HMAC-SHA256 signature does not match the server's secret.
    case badSignature
    /// No `exp` claim.
    case missingExpiry
    /// `exp` (plus leeway) is before `now`.
    case expired(exp: Int64, now: Int64)
    /// `nbf` (minus leeway) is after `now`.
    case notYetValid(nbf: Int64, now: Int64)
    /// No `sub` claim, or an empty one.
    case missingSubject
    /// No `role` claim.
    case missingRole
    /// A `role` that is not clerk, approver, applicant or ops.
    case unknownRole(String)

    public var description: String {
        switch self {
        case .malformed(let why):
            "malformed token: \(why); send a JWT of three base64url parts (header.claims.signature)"
        case .algorithmNone:
            "unsigned token (alg none) refused; ask for a token signed with HS256"
        case .unsupportedAlgorithm(let alg):
            "token algorithm \(alg) refused; only HS256 is accepted"
        case .badSignature:
            "token signature does not match; the token was not issued by this server or was altered"
        case .missingExpiry:
            "token has no exp claim; ask for a token with an expiry"
        case .expired(let exp, let now):
            "token expired at \(exp) (now \(now)); ask for a new token"
        case .notYetValid(let nbf, let now):
            "token not valid before \(nbf) (now \(now)); check the clocks of issuer and server"
        case .missingSubject:
            "token has no sub claim (participant id)"
        case .missingRole:
            "token has no role claim"
        case .unknownRole(let role):
            "token role \"\(role)\" is unknown; use clerk, approver, applicant or ops"
        }
    }

    /// The refusal sent to the client (`unauthorized`, then close 4401).
    public var refusal: Refusal { Refusal(.unauthorized, description) }
}
