/// Who may send which session request (PROTOCOL §3): the role × request matrix as data, checked in one place.
///
/// | request                  | clerk, approver                   | applicant                    | ops |
/// |--------------------------|-----------------------------------|------------------------------|-----|
/// | `session.create`         | none (a unit in the token)        | —                            | —   |
/// | `queue.watch`            | none (a unit in the token)        | —                            | —   |
/// | `session.accept`         | staffOfWaitingUnit                | —                            | —   |
/// | `session.decline`        | staffOfWaitingUnit                | —                            | —   |
/// | `session.transfer`       | presentParticipant                | —                            | —   |
/// | `session.invite`         | presentParticipant                | —                            | —   |
/// | `session.applicantToken` | presentParticipant                | —                            | —   |
/// | `session.join`           | participant, staffOfJoinedUnit    | participant, applicantScoped | —   |
/// | `session.leave`          | presentParticipant                | presentParticipant           | —   |
/// | `session.end`            | presentParticipant                | —                            | —   |
/// | `chat.send`              | presentParticipant                | presentParticipant           | —   |
///
/// "—" is `forbidden` whatever the session. Ops act through the ops API (`SessionBook.opsEnd`, `opsKick`).
public enum SessionAuthorization {
    /// How the caller must stand to the session.
    public enum Relation: String, Sendable, Hashable, CaseIterable {
        /// No session involved.
        case none
        /// A participant whose presence is `present`.
        case presentParticipant
        /// A participant in any presence: present, away or left.
        case participant
        /// Staff whose unit has a queue entry in the session.
        case staffOfWaitingUnit
        /// Staff whose unit is in the session's units with nothing waiting (a colleague is, or was, in it).
        case staffOfJoinedUnit
        /// An applicant whose token's `sid` is the session.
        case applicantScoped
    }

    /// request → role → relations, any one of which suffices. A role absent from a row may not send it.
    public static let matrix: [SessionRequest.Kind: [Role: [Relation]]] = {
        let staff: ([Relation]) -> [Role: [Relation]] = { [.clerk: $0, .approver: $0] }
        var m: [SessionRequest.Kind: [Role: [Relation]]] = [
            .create: staff([.none]),
            .queueWatch: staff([.none]),
            .accept: staff([.staffOfWaitingUnit]),
            .decline: staff([.staffOfWaitingUnit]),
            .transfer: staff([.presentParticipant]),
            .invite: staff([.presentParticipant]),
            .applicantToken: staff([.presentParticipant]),
            .join: staff([.participant, .staffOfJoinedUnit]),
            .leave: staff([.presentParticipant]),
            .end: staff([.presentParticipant]),
            .chat: staff([.presentParticipant]),
        ]
        m[.join]?[.applicant] = [.participant, .applicantScoped]
        m[.leave]?[.applicant] = [.presentParticipant]
        m[.chat]?[.applicant] = [.presentParticipant]
        return m
    }()

    /// The relations that let `role` send `kind`; nil when the role may not send it at all.
    public static func relations(_ kind: SessionRequest.Kind, _ role: Role) -> [Relation]? {
        matrix[kind]?[role]
    }

    /// Whether `who` stands in `relation` to `session`.
    public static func holds(_ relation: Relation, _ who: Identity, _ session: SessionState?) -> Bool {
        guard let session else { return relation == .none }
        let p = session.participant(who.sub)
        switch relation {
        case .none: return true
        case .presentParticipant: return p?.presence == .present
        case .participant: return p != nil
        case .staffOfWaitingUnit:
            guard who.role.isStaff, let unit = who.unit else { return false }
            return session.entry(for: unit) != nil
        case .staffOfJoinedUnit:
            guard who.role.isStaff, let unit = who.unit else { return false }
            return session.isJoinedUnit(unit)
        case .applicantScoped:
            return who.role == .applicant && who.sessionScope == session.id
        }
    }

    /// Refuses a role that may not send `kind` (before the session is looked up).
    static func checkRole(_ kind: SessionRequest.Kind, _ who: Identity) throws(Refusal) {
        guard let relations = relations(kind, who.role) else {
            let hint = who.role == .ops ? " (ops use the ops API)" : ""
            throw Refusal(.forbidden, "role \(who.role.rawValue) may not send \(kind.rawValue)\(hint)")
        }
        if relations.contains(.none) || relations.contains(.staffOfWaitingUnit), who.unit == nil {
            throw Refusal(.forbidden, "your token has no unit; a staff token with `unit` may send \(kind.rawValue)")
        }
    }

    /// Refuses a caller that stands in none of the row's relations to `session`.
    ///
    /// `forbidden` for someone with no business in the session; `invalid_state` for someone who would have
    /// it in another state: an away participant (join first), or accept/decline from staff of a unit in the
    /// session's units with no entry (already accepted or declined; also the creating unit) or of an ended one.
    static func checkRelation(_ kind: SessionRequest.Kind, _ who: Identity, _ session: SessionState) throws(Refusal) {
        let relations = relations(kind, who.role) ?? []
        if relations.contains(where: { holds($0, who, session) }) { return }
        let p = session.participant(who.sub)
        let ownUnit = who.role.isStaff && who.unit.map(session.units.contains) == true
        if relations.contains(.presentParticipant), p?.presence.name == "away" {
            throw Refusal(.invalidState, "you are away from session \(session.id); send session.join first")
        }
        if relations.contains(.staffOfWaitingUnit), ownUnit || !session.isLive {
            throw Refusal(
                .invalidState,
                "session \(session.id) is not waiting for your unit (\(session.state.rawValue); already accepted, "
                    + "declined or ended)")
        }
        if relations.contains(.applicantScoped), who.role == .applicant {
            throw Refusal(.forbidden, "your applicant token is for another session; scan the QR code of this one")
        }
        throw Refusal(.forbidden, "you are not in session \(session.id); \(kind.rawValue) needs \(describe(relations))")
    }

    static func describe(_ relations: [Relation]) -> String {
        relations.map { r -> String in
            switch r {
            case .none: "nothing"
            case .presentParticipant: "a present participant"
            case .participant: "a participant"
            case .staffOfWaitingUnit: "staff of a unit it waits for"
            case .staffOfJoinedUnit: "staff of a unit in it"
            case .applicantScoped: "an applicant token for it"
            }
        }.joined(separator: " or ")
    }
}
