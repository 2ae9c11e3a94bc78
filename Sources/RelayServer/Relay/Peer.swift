import RelayCore
import RelayTransport

/// The relay's state for one WebSocket connection. Loop-bound.
final class Peer {
    let connection: WebSocketConnection
    /// Set by a good `hello`.
    var identity: Identity? { didSet { saidHello = identity != nil } }
    /// `identity != nil`, without copying the identity (six strings) out of the peer: the test the
    /// binary path makes for every packet.
    private(set) var saidHello = false
    /// The language of this device's problem messages: `hello`'s `lang`, else the upgrade's Accept-Language.
    var language = MessageLanguage.fallback
    /// When the connection must have said hello by (loop milliseconds).
    let helloDeadline: Int64
    /// Closed because the same `sub` connected again (4409): its drop is not a disconnect.
    var replaced = false
    /// Sessions this connection receives events of, with the last seq delivered on it.
    var joined: [String: Int] = [:]
    /// The unit whose queue this connection watches (`queue.watch`).
    var watchingUnit: String?
    /// Loop milliseconds of the last ping sent.
    var lastPingAt: Int64 = 0
    /// Round-trip time from the server's pings.
    var rtt = RTTEstimator()
    /// Message-rate limiting: the window's start and count.
    var rateWindowStart: Int64 = 0
    var rateWindowCount = 0
    var rateWindowBytes = 0
    var rateWindowRefused = false
    /// Invalid media frames in the current one-second window.
    var invalidMediaWindowStart: Int64 = 0
    var invalidMediaCount = 0
    /// Consecutive windows in which messages were refused.
    var rateViolations = 0
    /// Document chunks: their own rate window, and why reading is paused.
    var uploadPacing = UploadPacing()
    /// Where this connection's audio tracks go (a sender has one to four tracks open: searched in
    /// order, no hashing); good while `audioRoutesVersion` is the relay's `routeVersion` (`Relay.audioRoute`).
    var audioRoutes: [AudioRoute] = []
    var audioRoutesVersion = UInt64.max

    init(connection: WebSocketConnection, helloDeadline: Int64) {
        self.connection = connection
        self.helloDeadline = helloDeadline
    }

    var id: UInt64 { connection.id }

    /// Sends a JSON message.
    func send(_ message: JSONValue) {
        connection.send(text: message.canonicalBytes)
    }

    func sendError(_ refusal: Refusal, id: String?) {
        send(refusal.message(id: id))
    }

    func sendOK(id: String?, result: JSONValue) {
        guard let id else { return }
        send(["type": "ok", "id": .string(id), "result": result])
    }
}

@available(*, unavailable)
extension Peer: Sendable {}
