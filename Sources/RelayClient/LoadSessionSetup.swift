public import RelayCore

/// Brings one load session from nothing to every party speaking on its own track: a state machine
/// over connection events and replies, returning what to do next.
///
/// Clerk and approver connect and say hello; the clerk creates the session for the approver's
/// unit; the approver accepts it (both have joined now). With a third party, an applicant then
/// connects with a token scoped to the session and joins it. Finally every party opens an audio
/// track; the session is ready when all of them have a track number.
public struct LoadSessionSetup: Sendable {
    /// What happened on one of the session's connections.
    public enum Input: Sendable, Equatable {
        case start
        case opened(LoadRole)
        /// An `ok` or `error` reply to the request with `id`.
        case replied(LoadRole, id: String, reply: JSONValue)
        case failed(LoadRole, reason: String)
    }

    /// What the driver should do.
    public enum Action: Sendable, Equatable {
        case connect(LoadRole)
        /// Say hello with a token for this party (scoped to `sessionId` for the applicant).
        case hello(LoadRole, sessionId: String?)
        case send(LoadRole, JSONValue)
        /// Every party has its track, in party order.
        case ready(sessionId: String, tracks: [UInt16])
        case fail(String)
    }

    public let parties: Int
    public let service: String
    public let toUnit: String
    public private(set) var sessionId: String?
    private var greeted: Set<LoadRole> = []
    private var tracks: [UInt16?]
    private var finished = false

    public init(parties: Int, service: String, toUnit: String) {
        precondition(parties == 2 || parties == 3, "a load session has 2 or 3 parties")
        self.parties = parties
        self.service = service
        self.toUnit = toUnit
        self.tracks = Array(repeating: nil, count: parties)
    }

    public mutating func handle(_ input: Input) -> [Action] {
        guard !finished else { return [] }
        switch input {
        case .start:
            return [.connect(.clerk), .connect(.approver)]
        case .opened(let role):
            return [.hello(role, sessionId: role == .applicant ? sessionId : nil)]
        case .failed(let role, let reason):
            return fail("\(role): \(reason)")
        case .replied(let role, let id, let reply):
            guard reply["type"]?.stringValue == "ok" else {
                let text = reply["message"]?.stringValue ?? reply["code"]?.stringValue ?? "\(reply)"
                return fail("\(role) request \(id) refused: \(text)")
            }
            return replied(role, id: id, result: reply["result"] ?? [:])
        }
    }

    private mutating func replied(_ role: LoadRole, id: String, result: JSONValue) -> [Action] {
        switch id {
        case "h":
            greeted.insert(role)
            switch role {
            case .clerk:
                return [
                    .send(
                        .clerk,
                        [
                            "type": "session.create", "id": "c", "service": .string(service), "toUnit": .string(toUnit),
                        ]
                    )
                ]
            case .approver:
                return acceptIfReady()
            case .applicant:
                return [.send(.applicant, ["type": "session.join", "id": "j", "sessionId": .string(sessionId ?? "")])]
            }
        case "c":
            guard let sid = result["session"]?["id"]?.stringValue else { return fail("session.create gave no id") }
            sessionId = sid
            return acceptIfReady()
        case "a":
            return parties == 3 ? [.connect(.applicant)] : openTracks()
        case "j":
            return openTracks()
        case "o":
            guard let track = result["track"]?.intValue.flatMap(UInt16.init(exactly:)) else {
                return fail("audio.open gave no track")
            }
            tracks[role.rawValue] = track
            let all = tracks.compactMap { $0 }
            guard all.count == parties, let sessionId else { return [] }
            finished = true
            return [.ready(sessionId: sessionId, tracks: all)]
        default:
            return []
        }
    }

    private func acceptIfReady() -> [Action] {
        guard let sessionId, greeted.contains(.approver) else { return [] }
        return [.send(.approver, ["type": "session.accept", "id": "a", "sessionId": .string(sessionId)])]
    }

    private func openTracks() -> [Action] {
        let request: JSONValue = [
            "type": "audio.open", "id": "o", "sessionId": .string(sessionId ?? ""), "codec": "opus",
            "sampleRate": 48000, "channels": 1,
        ]
        return LoadRole.allCases.prefix(parties).map { .send($0, request) }
    }

    private mutating func fail(_ reason: String) -> [Action] {
        finished = true
        return [.fail(reason)]
    }
}
