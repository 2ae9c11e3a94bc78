/// The limits the session state machine enforces (from the server configuration).
public struct SessionRules: Sendable, Hashable {
    /// `queue.maxWaitSeconds`: a queue entry older than this expires.
    public var queueMaxWaitSeconds: Int
    /// `sessions.reconnectGraceSeconds`: an away participant older than this has left (`timeout`).
    public var reconnectGraceSeconds: Int
    /// Longest `chat.send` text, in Characters.
    public var maxChatLength: Int
    /// Longest applicant token lifetime, in seconds.
    public var maxApplicantTokenTTL: Int
    /// Most sessions one unit may have waiting; more is `rate_limited`.
    public var maxWaitingPerUnit: Int

    public init(
        queueMaxWaitSeconds: Int = 600,
        reconnectGraceSeconds: Int = 60,
        maxChatLength: Int = 4000,
        maxApplicantTokenTTL: Int = 86400,
        maxWaitingPerUnit: Int = 200
    ) {
        self.queueMaxWaitSeconds = queueMaxWaitSeconds
        self.reconnectGraceSeconds = reconnectGraceSeconds
        self.maxChatLength = maxChatLength
        self.maxApplicantTokenTTL = maxApplicantTokenTTL
        self.maxWaitingPerUnit = maxWaitingPerUnit
    }
}

/// One session event the book produced and the subs that must receive it.
public struct Emitted: Sendable, Hashable {
    public var event: SessionEvent
    /// Participants present once the event applied (the actor among them), plus the leaver of a
    /// `participant.left` and the creator of a new session; never the joiner of its own `session.join`
    /// event (it gets that one in its replay).
    public var recipients: [String]

    public init(event: SessionEvent, recipients: [String]) {
        self.event = event
        self.recipients = recipients
    }
}

/// What a `session.join` must replay: every event with `afterSeq < seq <= through`, after the `ok`.
public struct JoinReplay: Sendable, Hashable {
    public var sessionId: String
    /// The `lastSeq` the device asked with.
    public var afterSeq: Int
    /// The session's latest seq, this join's own event included.
    public var through: Int

    public init(sessionId: String, afterSeq: Int, through: Int) {
        self.sessionId = sessionId
        self.afterSeq = afterSeq
        self.through = through
    }
}

/// An authorised `session.applicantToken`: the server mints the JWT and replies `{token, expiresAt}`.
public struct ApplicantTokenRequest: Sendable, Hashable {
    public var sessionId: String
    public var ttlSeconds: Int
    /// The token's `sub` (`applicant-<sessionId>`); its `sid` is `sessionId`.
    public var sub: String
    /// `now + ttlSeconds`, unix millis: the token's `exp` (in seconds) and the reply's `expiresAt`.
    public var expiresAtMillis: Int64

    public init(sessionId: String, ttlSeconds: Int, sub: String, expiresAtMillis: Int64) {
        self.sessionId = sessionId
        self.ttlSeconds = ttlSeconds
        self.sub = sub
        self.expiresAtMillis = expiresAtMillis
    }
}

/// The effects of one call into the book, for the server to perform in order.
public struct SessionOutcome: Sendable, Hashable {
    /// Events in seq order per session: store them, then send each to its recipients.
    public var emitted: [Emitted]
    /// The `result` of the `ok` reply (nil for `session.applicantToken`: the server fills it).
    public var result: JSONValue?
    /// Units whose waiting list changed: send `queue.update` to their watchers.
    public var changedQueues: Set<String>
    /// For `session.join`: what to replay after the `ok`.
    public var join: JoinReplay?
    /// Sessions that ended here: finalise their recordings.
    public var endedSessions: [String]
    public var applicantToken: ApplicantTokenRequest?

    public init(
        emitted: [Emitted] = [], result: JSONValue? = nil, changedQueues: Set<String> = [], join: JoinReplay? = nil,
        endedSessions: [String] = [], applicantToken: ApplicantTokenRequest? = nil
    ) {
        self.emitted = emitted
        self.result = result
        self.changedQueues = changedQueues
        self.join = join
        self.endedSessions = endedSessions
        self.applicantToken = applicantToken
    }

    /// The emitted events alone.
    public var events: [SessionEvent] { emitted.map(\.event) }

    /// Appends `other`'s effects after these (its result wins when set).
    public mutating func merge(_ other: SessionOutcome) {
        emitted += other.emitted
        if let r = other.result { result = r }
        changedQueues.formUnion(other.changedQueues)
        if let j = other.join { join = j }
        endedSessions += other.endedSessions
        if let t = other.applicantToken { applicantToken = t }
    }
}

/// The `outcome` a participant or ops may end a session with (`session.end`).
public enum SessionEndOutcome: String, Sendable, Hashable, CaseIterable {
    case completed
    case needsCorrection = "needs_correction"
    case cancelled
}

/// The session event types this state machine writes, and whose `data` it reads back on restore.
public enum SessionEventType: String, Sendable, Hashable, CaseIterable {
    /// `{session, cause, unit?, reason?}`: the session object changed (created, accepted, transferred, …).
    case sessionState = "session.state"
    /// `{outcome, note, recordHead}`.
    case sessionEnded = "session.ended"
    /// `{participant}`.
    case participantJoined = "participant.joined"
    /// `{participant}`.
    case participantAway = "participant.away"
    /// `{participant}`.
    case participantBack = "participant.back"
    /// `{participant, reason}`.
    case participantLeft = "participant.left"
    /// `{text}`.
    case chat
    /// `{applicant, ttlSeconds, expiresAt}`: a token was issued (never the token itself).
    case applicantTokenIssued = "applicant.tokenIssued"
}
