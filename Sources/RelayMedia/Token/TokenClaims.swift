public import RelayCore

/// The claims of a WindowRelay JWT (PROTOCOL §1): who the bearer is and until when.
public struct TokenClaims: Sendable, Hashable {
    /// Participant id.
    public var sub: String
    public var role: Role
    /// Organisation unit id (staff only).
    public var unit: String?
    /// Window id (staff, optional).
    public var window: String?
    /// Display name (optional).
    public var name: String?
    /// Applicant tokens only: the one session the bearer may join.
    public var sid: String?
    /// Expiry, unix seconds.
    public var exp: Int64
    /// Issue time, unix seconds.
    public var iat: Int64?

    public init(
        sub: String,
        role: Role,
        unit: String? = nil,
        window: String? = nil,
        name: String? = nil,
        sid: String? = nil,
        exp: Int64,
        iat: Int64? = nil
    ) {
        self.sub = sub
        self.role = role
        self.unit = unit
        self.window = window
        self.name = name
        self.sid = sid
        self.exp = exp
        self.iat = iat
    }

    /// Claims for `identity`, issued at `now` and valid for `ttlSeconds`.
    public init(identity: Identity, issuedAt now: Int64, ttlSeconds: Int) {
        self.init(
            sub: identity.sub,
            role: identity.role,
            unit: identity.unit,
            window: identity.window,
            name: identity.name,
            sid: identity.sessionScope,
            exp: now + Int64(ttlSeconds),
            iat: now
        )
    }

    /// The identity these claims prove; `sid` becomes the session scope.
    public var identity: Identity {
        Identity(sub: sub, role: role, unit: unit, window: window, name: name, sessionScope: sid)
    }

    /// The claims as compact JSON with keys in a fixed order (so equal claims sign equally).
    var json: String {
        var members: [String] = []
        func add(_ key: String, _ value: String?) {
            if let value { members.append("\"\(key)\":\(Self.quote(value))") }
        }
        members.append("\"exp\":\(exp)")
        if let iat { members.append("\"iat\":\(iat)") }
        add("name", name)
        add("role", role.rawValue)
        add("sid", sid)
        add("sub", sub)
        add("unit", unit)
        add("window", window)
        return "{" + members.joined(separator: ",") + "}"
    }

    /// `s` as a JSON string literal (RFC 8259 §7).
    private static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
