public import RelayCore
public import RelayTransport

/// What a load run does: how many sessions, who speaks how fast, for how long, with which packets.
public struct LoadPlan: Sendable {
    /// How speakers send.
    public enum Pace: Sendable, Equatable {
        /// Open loop: every speaker sends this many packets a second on schedule, whatever arrives.
        case paced(packetsPerSecond: Double)
        /// Closed loop: every speaker keeps this many packets undelivered, to find the ceiling.
        case flood(inFlight: Int)
    }

    public var endpoint: ClientEndpoint
    /// The server measured; anything but `windowrelay` skips the protocol set-up (see `LoadTarget`).
    public var target: LoadTarget
    /// Concurrent sessions, each with `parties` participants who all speak.
    public var sessions: Int
    /// 2 (a clerk and an approver) or 3 (and an applicant with a session-scoped token).
    public var parties: Int
    public var pace: Pace
    /// Seconds of sending.
    public var seconds: Double
    /// After the last send, the run waits for deliveries still under way until this many seconds
    /// pass with none arriving; what is still missing then is lost.
    public var drainSeconds: Double
    /// A service that `toUnit` handles, and the units of the clerks and approvers.
    public var service: String
    public var fromUnit: String
    public var toUnit: String
    /// Makes this run's participant ids unique (a `sub` that connects again replaces the first).
    public var runTag: String
    /// Sessions being set up at once (bounded so the unit's queue stays short).
    public var setupConcurrency: Int
    /// Opus packets each speaker cycles through.
    public var packets: [[UInt8]]

    public init(
        endpoint: ClientEndpoint,
        sessions: Int,
        parties: Int = 2,
        pace: Pace = .paced(packetsPerSecond: 50),
        seconds: Double = 30,
        drainSeconds: Double = 2,
        service: String = "social-insurance-transfer",
        fromUnit: String = "qd-xihaian",
        toUnit: String = "cd-gaoxin",
        runTag: String,
        setupConcurrency: Int = 50,
        packets: [[UInt8]],
        target: LoadTarget = .windowrelay
    ) {
        self.endpoint = endpoint
        self.target = target
        self.sessions = sessions
        self.parties = parties
        self.pace = pace
        self.seconds = seconds
        self.drainSeconds = drainSeconds
        self.service = service
        self.fromUnit = fromUnit
        self.toUnit = toUnit
        self.runTag = runTag
        self.setupConcurrency = setupConcurrency
        self.packets = packets
    }

    /// Deliveries each packet is owed (see `LoadTarget.receiversPerPacket`).
    public var receiversPerPacket: Int { target.receiversPerPacket(sessions: sessions, parties: parties) }

    /// The identity of party `party` of session `session`.
    public func identity(session: Int, party: LoadRole, sessionId: String?) -> Identity {
        let sub = "bench-\(runTag)-s\(session)-\(party)"
        switch party {
        case .clerk: return Identity(sub: sub, role: .clerk, unit: fromUnit)
        case .approver: return Identity(sub: sub, role: .approver, unit: toUnit)
        case .applicant: return Identity(sub: sub, role: .applicant, sessionScope: sessionId)
        }
    }
}

/// Why a load run could not start or went wrong.
public enum LoadError: Error, CustomStringConvertible, Equatable {
    case badPlan(String)
    case transport(String)
    case setupFailed(session: Int, reason: String)
    case setupTimedOut(ready: Int, of: Int)

    public var description: String {
        switch self {
        case .badPlan(let what): "bad load plan: \(what)"
        case .transport(let what): "cannot start the client loop: \(what)"
        case .setupFailed(let session, let reason):
            "setting up session \(session) failed: \(reason) (check the relay's limits.maxConnectionsPerIP, "
                + "queue.maxWaitingPerUnit and that --config has the relay's secret)"
        case .setupTimedOut(let ready, let total):
            "only \(ready) of \(total) sessions were ready in time; is the relay overloaded?"
        }
    }
}
