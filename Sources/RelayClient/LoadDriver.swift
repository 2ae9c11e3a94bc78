import Logging
import RelayCore
import RelayTransport

/// The load generator's side of the client loop: sets sessions up, sends audio on a schedule or
/// in a flood, matches each delivery to its send time, and ends the sessions.
///
/// Every method runs on the load loop's service thread, except `init`; the `begin…` methods are
/// posted there by `LoadGenerator` and resume its continuations from there.
final class LoadDriver: TransportHandler, @unchecked Sendable {
    // @unchecked Sendable: created on the caller's thread, then handed to the loop, which is the
    // only thread that touches its state (posted closures included).
    private enum Phase {
        case idle
        case settingUp(deadline: UInt64, done: CheckedContinuation<Result<Int, LoadError>, Never>)
        case ready
        case running(done: CheckedContinuation<LoadTally, Never>)
        case draining(until: UInt64, done: CheckedContinuation<LoadTally, Never>)
        case ending(until: UInt64, done: CheckedContinuation<Int, Never>)
        case closing(until: UInt64, ended: Int, done: CheckedContinuation<Int, Never>)
        case finished
    }

    /// This driver's share of the run: `plan.sessions` sessions, numbered from `firstSession`.
    let plan: LoadPlan
    let firstSession: Int
    let loop: ServiceLoop
    private let tokens: @Sendable (Identity) -> String
    private let latencies: (any LoadLatencySink)?
    private let progress: (@Sendable (LoadTally) -> Void)?
    private var phase = Phase.idle

    private var setups: [LoadSessionSetup]
    private var parties: [LoadParty]
    /// Direct targets (no protocol set-up): connections open per session.
    private var opened: [Int]
    /// Each packet's deliveries (`plan.receiversPerPacket`).
    private let receivers: Int
    /// Mirror target: the base64 of each packet, encoded once.
    private let textPayloads: [[UInt8]]
    private var nextSetup = 0
    private var ready = 0
    private var open = 0

    private var tally = LoadTally()
    private var runStart: UInt64 = 0
    private var lastSend: UInt64 = 0
    private var lastDelivery: UInt64 = 0
    private var sentSlots = 0
    private var lastProgressReport: UInt64 = 0
    private var lastStallCheck: UInt64 = 0
    private var ended = 0
    private var endsAsked = 0

    init(
        plan: LoadPlan,
        firstSession: Int,
        loop: ServiceLoop,
        tokens: @escaping @Sendable (Identity) -> String,
        latencies: (any LoadLatencySink)?,
        progress: (@Sendable (LoadTally) -> Void)?
    ) {
        self.plan = plan
        self.firstSession = firstSession
        self.loop = loop
        self.tokens = tokens
        self.latencies = latencies
        self.progress = progress
        setups = (0..<plan.sessions).map { _ in
            LoadSessionSetup(parties: plan.parties, service: plan.service, toUnit: plan.toUnit)
        }
        parties = (0..<plan.sessions * plan.parties).map { i in
            LoadParty(session: i / plan.parties, role: LoadRole(rawValue: i % plan.parties)!, speaker: i)
        }
        opened = Array(repeating: 0, count: plan.sessions)
        receivers = plan.receiversPerPacket
        textPayloads = plan.target == .lwsMirror ? plan.packets.map(MirrorAudioText.base64) : []
        // Without the relay handing out track numbers, a party's number (unique in this driver,
        // hence in its room) is its track.
        if plan.target != .windowrelay {
            for (i, party) in parties.enumerated() { party.track = UInt16(truncatingIfNeeded: i) }
        }
        tally.receiversPerPacket = receivers
    }

    private var speakers: Int { parties.count }
    private func party(_ session: Int, _ role: LoadRole) -> LoadParty {
        parties[session * plan.parties + role.rawValue]
    }

    // MARK: Set-up

    func beginSetUp(timeoutSeconds: Double, done: CheckedContinuation<Result<Int, LoadError>, Never>) {
        phase = .settingUp(deadline: monotonicNanos() + UInt64(timeoutSeconds * 1e9), done: done)
        while nextSetup < min(plan.sessions, plan.setupConcurrency) { startNextSetup() }
    }

    private func startNextSetup() {
        let session = nextSetup
        nextSetup += 1
        guard plan.target == .windowrelay else {
            let endpoint = plan.target.endpoint(session: firstSession + session, base: plan.endpoint)
            for party in 0..<plan.parties {
                loop.connect(to: endpoint, tag: UInt64(session * plan.parties + party + 1))
            }
            return
        }
        feed(session, .start)
    }

    /// Direct targets: a session is ready once every party is connected.
    private func directOpened(_ session: Int) {
        opened[session] += 1
        guard opened[session] == plan.parties else { return }
        sessionReady()
    }

    private func sessionReady() {
        ready += 1
        if nextSetup < plan.sessions { startNextSetup() }
        if ready == plan.sessions, case .settingUp(_, let done) = phase {
            phase = .ready
            done.resume(returning: .success(open))
        }
    }

    private func failSetUp(session: Int, reason: String) {
        guard case .settingUp(_, let done) = phase else { return }
        phase = .ready
        done.resume(returning: .failure(.setupFailed(session: firstSession + session, reason: reason)))
    }

    private func feed(_ session: Int, _ input: LoadSessionSetup.Input) {
        guard case .settingUp = phase else { return }
        let actions = setups[session].handle(input)
        for action in actions { perform(action, session: session) }
    }

    private func perform(_ action: LoadSessionSetup.Action, session: Int) {
        switch action {
        case .connect(let role):
            loop.connect(to: plan.endpoint, tag: UInt64(session * plan.parties + role.rawValue + 1))
        case .hello(let role, let sessionId):
            let token = tokens(plan.identity(session: firstSession + session, party: role, sessionId: sessionId))
            send(
                ["type": "hello", "id": "h", "token": .string(token), "client": "windowrelay-bench"],
                to: party(session, role)
            )
        case .send(let role, let message):
            send(message, to: party(session, role))
        case .ready(_, let tracks):
            for (i, track) in tracks.enumerated() { parties[session * plan.parties + i].track = track }
            sessionReady()
        case .fail(let reason):
            failSetUp(session: session, reason: reason)
        }
    }

    private func send(_ message: JSONValue, to party: LoadParty) {
        party.connection?.send(text: message.canonicalBytes)
    }

    // MARK: Running

    func beginRun(done: CheckedContinuation<LoadTally, Never>) {
        guard case .ready = phase, ready == plan.sessions else {
            done.resume(returning: tally)
            return
        }
        // Each run counts afresh (sequence numbers go on where the last run left them).
        tally = LoadTally(receiversPerPacket: receivers)
        sentSlots = 0
        for speaker in parties { speaker.outstanding = 0 }
        runStart = monotonicNanos()
        lastSend = runStart
        lastDelivery = 0
        lastProgressReport = runStart
        phase = .running(done: done)
        switch plan.pace {
        case .paced:
            sendDue(now: runStart)
        case .flood(let inFlight):
            for speaker in parties {
                speaker.lastProgressNanos = runStart
                for _ in 0..<inFlight { sendPacket(speaker) }
            }
        }
    }

    /// Paced runs: one global schedule, a packet every 1 / (rate × speakers) seconds, round-robin
    /// over the speakers, so every speaker sends at `rate` and the sends are spread evenly.
    private func sendDue(now: UInt64) {
        guard case .paced(let rate) = plan.pace else { return }
        let interval = 1e9 / (rate * Double(speakers))
        let total = Int((plan.seconds * rate).rounded()) * speakers
        let due = min(total, Int(Double(elapsed(from: runStart, to: now)) / interval) + 1)
        while sentSlots < due {
            let scheduled = runStart + UInt64(Double(sentSlots) * interval)
            let lag = now > scheduled ? now - scheduled : 0
            if lag >= 5_000_000 { tally.lateSends += 1 }
            tally.maxSendLagNanos = max(tally.maxSendLagNanos, lag)
            sendPacket(parties[sentSlots % speakers])
            sentSlots += 1
        }
        if sentSlots == total { startDraining(now: now) }
    }

    private func sendPacket(_ speaker: LoadParty) {
        guard let connection = speaker.connection else { return }
        let n = speaker.sent
        let seq = UInt16(truncatingIfNeeded: n)
        let packet = plan.packets[(speaker.speaker &* 7 &+ n) % plan.packets.count]
        let timestamp = UInt32(truncatingIfNeeded: n &* 960)
        let track = speaker.track
        let now = monotonicNanos()
        speaker.noteSent(seq: seq, at: now - runStart)
        if plan.target == .lwsMirror {
            let payload = textPayloads[(speaker.speaker &* 7 &+ n) % plan.packets.count]
            let text = MirrorAudioText.encode(track: track, seq: seq, timestamp: timestamp, payload: payload)
            connection.send(OutboundFrame(text, binary: false), as: .message)
        } else {
            connection.send(LoadFrame.binary(track: track, seq: seq, timestamp: timestamp, packet: packet), as: .message)
        }
        speaker.sent += 1
        speaker.outstanding += receivers
        tally.sent += 1
        lastSend = now
    }

    /// Who sent `track` to `receiver`: a party of its session (its room with the mirror, itself
    /// included), nil when none could have.
    private func sender(of track: UInt16, to receiver: LoadParty) -> LoadParty? {
        if plan.target == .windowrelay {
            let base = receiver.session * plan.parties
            for i in base..<base + plan.parties where parties[i].track == track && parties[i] !== receiver {
                return parties[i]
            }
            return nil
        }
        guard Int(track) < parties.count else { return nil }
        let sender = parties[Int(track)]
        let room = { (party: LoadParty) in self.plan.target.room(ofSession: self.firstSession + party.session) }
        guard room(sender) == room(receiver), sender !== receiver || plan.target.echoesToSender else { return nil }
        return sender
    }

    private func delivered(to receiver: LoadParty, _ bytes: UnsafeRawBufferPointer, binary: Bool) {
        let now = monotonicNanos()
        guard let (track, seq) = LoadFrame.header(bytes, binary: binary, mirror: plan.target == .lwsMirror),
            let sender = sender(of: track, to: receiver),
            let sentAt = sender.sendTime(seq: seq)
        else {
            tally.unmatched += 1
            return
        }
        tally.delivered += 1
        lastDelivery = now
        latencies?.record(nanoseconds: elapsed(from: runStart + sentAt, to: now))
        sender.outstanding -= 1
        sender.lastProgressNanos = now
        if case .running = phase, case .flood(let inFlight) = plan.pace,
            sender.outstanding <= (inFlight - 1) * receivers
        {
            sendPacket(sender)
        }
    }

    private func startDraining(now: UInt64) {
        guard case .running(let done) = phase else { return }
        tally.sendingSeconds = Double(elapsed(from: runStart, to: lastSend)) / 1e9
        phase = .draining(until: now + Self.longestDrainNanos, done: done)
        finishDrainIfComplete(now: now)
    }

    /// However busy the relay, the drain ends this long after the last send.
    static let longestDrainNanos: UInt64 = 120_000_000_000

    /// The drain ends when every delivery arrived, or none arrived for the plan's drain seconds
    /// (a saturated relay still delivers late: that is latency, not loss).
    private func finishDrainIfComplete(now: UInt64) {
        guard case .draining(let until, let done) = phase else { return }
        let quiet = elapsed(from: max(lastDelivery, lastSend), to: now) >= UInt64(plan.drainSeconds * 1e9)
        guard tally.delivered >= tally.expected || quiet || now >= until else { return }
        tally.measuredSeconds = Double(elapsed(from: runStart, to: now)) / 1e9
        tally.deliveringSeconds = lastDelivery > runStart ? Double(lastDelivery - runStart) / 1e9 : 0
        phase = .ready
        done.resume(returning: tally)
    }

    // MARK: Ending

    func beginEnding(timeoutSeconds: Double, done: CheckedContinuation<Int, Never>) {
        let until = monotonicNanos() + UInt64(timeoutSeconds * 1e9)
        phase = .ending(until: until, done: done)
        ended = 0
        endsAsked = 0
        for session in 0..<plan.sessions {
            guard let sessionId = setups[session].sessionId, party(session, .clerk).connection?.isOpen == true else {
                continue
            }
            send(
                ["type": "session.end", "id": "e", "sessionId": .string(sessionId), "outcome": "completed"],
                to: party(session, .clerk)
            )
            endsAsked += 1
        }
        if endsAsked == 0 { closeAll(now: monotonicNanos()) }
    }

    private func sessionEnded() {
        ended += 1
        if ended >= endsAsked { closeAll(now: monotonicNanos()) }
    }

    private func closeAll(now: UInt64) {
        guard case .ending(_, let done) = phase else { return }
        phase = .closing(until: now + 2_000_000_000, ended: ended, done: done)
        for party in parties { party.connection?.close(code: 1000, reason: "bench done") }
        finishClosingIfDone(now: now)
    }

    private func finishClosingIfDone(now: UInt64) {
        guard case .closing(let until, let ended, let done) = phase, open == 0 || now >= until else { return }
        phase = .finished
        done.resume(returning: ended)
    }

    // MARK: TransportHandler

    func webSocketOpened(_ connection: WebSocketConnection, tag: UInt64) {
        guard tag >= 1, Int(tag) <= parties.count else {
            connection.close(code: 1000, reason: "unknown")
            return
        }
        let party = parties[Int(tag) - 1]
        party.connection = connection
        connection.context = party
        open += 1
        if plan.target == .windowrelay {
            feed(party.session, .opened(party.role))
        } else if case .settingUp = phase {
            directOpened(party.session)
        }
    }

    func webSocketConnectFailed(tag: UInt64, reason: String) {
        guard tag >= 1, Int(tag) <= parties.count else { return }
        let party = parties[Int(tag) - 1]
        guard plan.target == .windowrelay else {
            failSetUp(session: party.session, reason: "\(party.role) cannot connect: \(reason)")
            return
        }
        feed(party.session, .failed(party.role, reason: "cannot connect: \(reason)"))
    }

    func webSocket(_ connection: WebSocketConnection, received message: UnsafeRawBufferPointer, binary: Bool) {
        guard let party = connection.context as? LoadParty else { return }
        if binary || plan.target != .windowrelay {
            switch phase {
            case .running, .draining: delivered(to: party, message, binary: binary)
            default: break
            }
            return
        }
        guard let reply = try? JSONValue.parse(message.bindMemory(to: UInt8.self)) else { return }
        let type = reply["type"]?.stringValue
        guard type == "ok" || type == "error" else { return }
        guard let id = reply["id"]?.stringValue else {
            tally.serverErrors += 1
            if tally.firstServerError == nil { tally.firstServerError = reply["message"]?.stringValue ?? "\(reply)" }
            return
        }
        switch phase {
        case .settingUp: feed(party.session, .replied(party.role, id: id, reply: reply))
        case .ending where id == "e": sessionEnded()
        default: break
        }
    }

    func webSocketClosed(_ connection: WebSocketConnection) {
        guard let party = connection.context as? LoadParty else { return }
        open -= 1
        party.connection = nil
        switch phase {
        case .settingUp:
            let code = connection.peerCloseCode.map { " with code \($0)" } ?? ""
            guard plan.target == .windowrelay else {
                failSetUp(session: party.session, reason: "\(party.role): connection closed\(code)")
                return
            }
            feed(
                party.session,
                .failed(party.role, reason: "connection closed\(code) \(connection.peerCloseReason ?? "")")
            )
        case .ready, .running, .draining:
            tally.connectionsClosed += 1
            if let code = connection.peerCloseCode, tally.firstCloseCode == nil { tally.firstCloseCode = code }
        case .closing:
            finishClosingIfDone(now: monotonicNanos())
        default:
            break
        }
    }

    func tick(nowMillis: Int64) { pace() }

    /// Sends what is due and checks deadlines; every millisecond (LoadMetronome).
    func pace() {
        let now = monotonicNanos()
        switch phase {
        case .settingUp(let deadline, let done) where now >= deadline:
            phase = .ready
            done.resume(returning: .failure(.setupTimedOut(ready: ready, of: plan.sessions)))
        case .running:
            reportProgress(now: now)
            switch plan.pace {
            case .paced: sendDue(now: now)
            case .flood: floodTick(now: now)
            }
        case .draining:
            finishDrainIfComplete(now: now)
        case .ending(let until, _) where now >= until:
            closeAll(now: now)
        case .closing:
            finishClosingIfDone(now: now)
        default:
            break
        }
    }

    private func floodTick(now: UInt64) {
        guard case .flood(let inFlight) = plan.pace else { return }
        if elapsed(from: runStart, to: now) >= UInt64(plan.seconds * 1e9) {
            startDraining(now: now)
            return
        }
        guard elapsed(from: lastStallCheck, to: now) >= 100_000_000 else { return }
        lastStallCheck = now
        for speaker in parties
        where speaker.outstanding > 0 && elapsed(from: speaker.lastProgressNanos, to: now) > 1_000_000_000 {
            tally.stalls += 1
            speaker.outstanding = 0
            speaker.lastProgressNanos = now
            for _ in 0..<inFlight { sendPacket(speaker) }
        }
    }

    private func reportProgress(now: UInt64) {
        guard let progress, elapsed(from: lastProgressReport, to: now) >= 1_000_000_000 else { return }
        lastProgressReport = now
        var snapshot = tally
        snapshot.sendingSeconds = Double(elapsed(from: runStart, to: now)) / 1e9
        progress(snapshot)
    }

    func httpRequest(_ exchange: HTTPExchange) { exchange.respond(HTTPResponse(status: 404)) }
}

/// Nanoseconds from `start` to `end`, 0 if `end` came first (clock readings taken in a different
/// order than they are compared).
func elapsed(from start: UInt64, to end: UInt64) -> UInt64 {
    end > start ? end - start : 0
}
