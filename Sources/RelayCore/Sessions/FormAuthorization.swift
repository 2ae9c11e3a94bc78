/// Who may send which form request (PROTOCOL §5), and in which session state: the table, checked in one place.
///
/// | request                | clerk              | approver           | applicant          | ops | session |
/// |------------------------|--------------------|--------------------|--------------------|-----|---------|
/// | `form.open`            | presentParticipant | presentParticipant | —                  | —   | active  |
/// | `form.set`             | presentParticipant | presentParticipant | presentParticipant | —   | live    |
/// | `form.guide`           | presentParticipant | presentParticipant | —                  | —   | live    |
/// | `form.acceptSuggestion`| presentParticipant | —                  | presentParticipant | —   | live    |
/// | `form.submit`          | presentParticipant | presentParticipant | presentParticipant | —   | live    |
///
/// "—" is `forbidden` whatever the session. An applicant is a participant once it has joined with its
/// session-scoped token (`session.join`), so presence covers the token's scope. Ops never touch form values.
/// "live" is queued or active: a form stays fillable while the session is handed to another unit.
public enum FormAuthorization {
    /// The session state a request needs.
    public enum StateNeed: String, Sendable, Hashable {
        /// `active` only.
        case active
        /// Not ended.
        case live
    }

    public typealias Relation = SessionAuthorization.Relation

    /// request → role → relations, any one of which suffices. A role absent from a row may not send it.
    public static let matrix: [FormRequestKind: [Role: [Relation]]] = {
        let present: [Relation] = [.presentParticipant]
        let staff: [Role: [Relation]] = [.clerk: present, .approver: present]
        let everyone: [Role: [Relation]] = [.clerk: present, .approver: present, .applicant: present]
        return [
            .open: staff,
            .set: everyone,
            .guide: staff,
            .acceptSuggestion: [.clerk: present, .applicant: present],
            .submit: everyone,
        ]
    }()

    /// The session state each request needs.
    public static func stateNeed(_ kind: FormRequestKind) -> StateNeed {
        kind == .open ? .active : .live
    }

    /// The relations that let `role` send `kind`; nil when the role may not send it at all.
    public static func relations(_ kind: FormRequestKind, _ role: Role) -> [Relation]? {
        matrix[kind]?[role]
    }

    /// Refuses a role that may not send `kind` (before the session is looked up).
    static func checkRole(_ kind: FormRequestKind, _ who: Identity) throws(Refusal) {
        guard relations(kind, who.role) != nil else {
            let allowed = Role.allCases.filter { relations(kind, $0) != nil }.map(\.rawValue).joined(separator: ", ")
            throw Refusal(.forbidden, "role \(who.role.rawValue) may not send \(kind.rawValue) (only \(allowed))")
        }
    }

    /// Refuses a caller that stands in none of the row's relations to `session`, then a session in the wrong state.
    ///
    /// `forbidden` for someone not in the session (an applicant token for another session included);
    /// `invalid_state` for an away participant (join first) and for a session not in the state the request needs.
    static func check(_ kind: FormRequestKind, _ who: Identity, _ session: SessionState) throws(Refusal) {
        let relations = relations(kind, who.role) ?? []
        if !relations.contains(where: { SessionAuthorization.holds($0, who, session) }) {
            let p = session.participant(who.sub)
            if p?.presence.name == "away" {
                throw Refusal(.invalidState, "you are away from session \(session.id); send session.join first")
            }
            if who.role == .applicant, who.sessionScope != session.id {
                throw Refusal(.forbidden, "your applicant token is for another session; scan the QR code of this one")
            }
            throw Refusal(
                .forbidden,
                "you are not in session \(session.id); \(kind.rawValue) needs "
                    + "\(SessionAuthorization.describe(relations)) (send session.join first)"
            )
        }
        switch stateNeed(kind) {
        case .active where session.state != .active:
            throw Refusal(
                .invalidState,
                "session \(session.id) is \(session.state.rawValue); a form can be opened once it is active"
            )
        case .live where !session.isLive:
            throw Refusal(
                .invalidState,
                "session \(session.id) has ended (\(session.outcome ?? "")); its forms can no longer change"
            )
        default:
            return
        }
    }
}
