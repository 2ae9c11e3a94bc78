/// The role a token grants (PROTOCOL §1).
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    case clerk
    case approver
    case applicant
    case ops

    /// Clerks and approvers: the people at a window.
    public var isStaff: Bool { self == .clerk || self == .approver }
}

/// Who a connection is, as proven by its token.
public struct Identity: Sendable, Hashable {
    /// The participant id (`sub`).
    public var sub: String
    public var role: Role
    /// The organisation unit (staff only).
    public var unit: String?
    /// The window station (staff, optional).
    public var window: String?
    /// Display name (optional).
    public var name: String?
    /// For applicant tokens: the one session the token may join.
    public var sessionScope: String?

    public init(
        sub: String,
        role: Role,
        unit: String? = nil,
        window: String? = nil,
        name: String? = nil,
        sessionScope: String? = nil
    ) {
        self.sub = sub
        self.role = role
        self.unit = unit
        self.window = window
        self.name = name
        self.sessionScope = sessionScope
    }

    /// The participant object of PROTOCOL §3: `{id, role, unit, window, name}`.
    public var participantJSON: JSONValue {
        var o: [String: JSONValue] = ["id": .string(sub), "role": .string(role.rawValue)]
        if let unit { o["unit"] = .string(unit) }
        if let window { o["window"] = .string(window) }
        if let name { o["name"] = .string(name) }
        return .object(o)
    }
}
