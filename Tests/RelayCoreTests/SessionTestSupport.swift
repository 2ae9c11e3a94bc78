import Foundation
import RelayCore
import Testing

/// Session ids `s_1`, `s_2`, … in order.
final class SessionIdCounter: @unchecked Sendable {
    // Guarded by `lock`; the book calls it from one thread but tests may run in parallel.
    private let lock = NSLock()
    private var next = 1

    func make() -> String {
        lock.lock()
        defer { lock.unlock() }
        let id = "s_\(next)"
        next += 1
        return id
    }
}

/// A fake PROTOCOL §8 hash that shows the linkage: `prev:seq`, or `BAD` if the entry came with a hash.
let sessionFakeChainHash: @Sendable (String, SessionEvent) -> String = { prev, entry in
    entry.hash.isEmpty ? "\(prev):\(entry.seq)" : "BAD"
}

/// Units A, B, C, F handle `svc`; D handles only `other`; E handles nothing.
let sessionTestCatalog = Catalog(
    units: ["A", "B", "C", "D", "E", "F"].map { CatalogUnit(id: $0, name: "Unit \($0)", region: "370200") },
    services: [
        CatalogService(code: "svc", name: "Business licence", handledBy: ["A", "B", "C", "F"]),
        CatalogService(code: "other", name: "Other", handledBy: ["D"]),
    ])

let sessionTestRules = SessionRules(
    queueMaxWaitSeconds: 300, reconnectGraceSeconds: 60, maxChatLength: 10, maxApplicantTokenTTL: 3600,
    maxWaitingPerUnit: 3)

enum SessionPeople {
    static let clerkA = Identity(sub: "clerk-a", role: .clerk, unit: "A", window: "w1", name: "Clerk A")
    static let clerkA2 = Identity(sub: "clerk-a2", role: .clerk, unit: "A")
    static let approverB = Identity(sub: "appr-b", role: .approver, unit: "B", window: "b1")
    static let approverB2 = Identity(sub: "appr-b2", role: .approver, unit: "B")
    static let clerkC = Identity(sub: "clerk-c", role: .clerk, unit: "C")
    static let clerkF = Identity(sub: "clerk-f", role: .clerk, unit: "F")
    static let approverD = Identity(sub: "appr-d", role: .approver, unit: "D")
    static let ops = Identity(sub: "ops-1", role: .ops)
    static let unitless = Identity(sub: "nobody", role: .clerk)
    static func applicant(_ sid: String) -> Identity {
        Identity(sub: SessionBook.applicantSub(of: sid), role: .applicant, name: "Zhang San", sessionScope: sid)
    }
}

/// A book with a clock, collecting every event it emits.
struct SessionFixture {
    var book: SessionBook
    var now: Int64 = 1_790_000_000_000
    var events: [SessionEvent] = []

    init(rules: SessionRules = sessionTestRules) {
        let ids = SessionIdCounter()
        book = SessionBook(
            catalog: sessionTestCatalog, rules: rules, chainHash: sessionFakeChainHash, makeSessionId: ids.make)
    }

    mutating func advance(seconds: Double) { now += Int64(seconds * 1000) }

    @discardableResult
    mutating func run(_ request: SessionRequest, _ who: Identity) throws(Refusal) -> SessionOutcome {
        let out = try book.handle(request, by: who, now: now)
        events += out.events
        return out
    }

    /// The refusal of `request`, or nil when it would be accepted; this fixture does not change.
    func refusal(_ request: SessionRequest, _ who: Identity) -> Refusal? {
        var copy = self
        do {
            try copy.run(request, who)
            return nil
        } catch {
            return error
        }
    }

    mutating func tick() -> SessionOutcome {
        let out = book.tick(now: now)
        events += out.events
        return out
    }

    mutating func lost(_ sub: String) -> SessionOutcome {
        let out = book.connectionLost(sub: sub, now: now)
        events += out.events
        return out
    }

    /// A session from A to B, created by clerk A; returns its id.
    mutating func created(to unit: String = "B", by who: Identity = SessionPeople.clerkA) throws(Refusal) -> String {
        let out = try run(.create(service: "svc", toUnit: unit, applicant: nil, note: nil), who)
        return out.result?["session"]?["id"]?.stringValue ?? ""
    }

    /// A session from A accepted by approver B.
    mutating func active() throws(Refusal) -> String {
        let id = try created()
        try run(.accept(sessionId: id), SessionPeople.approverB)
        return id
    }

    func state(_ id: String) -> SessionState? { book.session(id) }

    func presence(_ sub: String, _ id: String) -> String? { book.session(id)?.participant(sub)?.presence.name }

    func types(_ out: SessionOutcome) -> [String] { out.events.map(\.type) }
}
