import Foundation
import Logging
import RelayCore
import RelayMedia
import RelayStore
import RelayTransport
import Prometheus

/// The relay on its service thread: connections, identities, the session book and the order of
/// what clients see. Loop-bound; the transport calls it, it calls the core and the store.
final class Relay: TransportHandler {
    let settings: RelaySettings
    let tokens: TokenAuthority
    let store: RelayStore
    let logger: Logger
    let metrics: RelayMetrics
    unowned(unsafe) let loop: ServiceLoop
    var book: SessionBook { didSet { routeVersion &+= 1 } }
    /// The open forms of every session, kept in step with `book` (PROTOCOL §5).
    var forms: FormDesk
    let documentStore: DocumentStore
    var uploads: UploadBook
    var documents: SessionDocuments
    /// Connections paused for their upload rate until their window ends.
    var pacedPeers: Set<UInt64> = []
    var lastUploadSweep: Int64 = 0
    var outbox = DurableOutbox<Result<StoreBatchResult, StoreError>>()
    var peers: [UInt64: Peer] = [:]
    var peersBySub: [String: Peer] = [:] { didSet { routeVersion &+= 1 } }
    /// Open WebSocket connections per peer address, for `limits.maxConnectionsPerIP`.
    var connectionsByAddress: [String: Int] = [:]
    /// Connections on the test-only echo route (`Relay+Echo.swift`), which have no `Peer`.
    var echoConnections: [UInt64: WebSocketConnection] = [:]
    var queueWatchers: [String: Set<UInt64>] = [:]
    var lastBookTick: Int64 = 0
    var lastHeartbeat: Int64 = 0
    var accepting = true
    /// Open media tracks (owners and numbers) and their live statistics.
    var tracks = TrackTable() { didSet { routeVersion &+= 1 } }
    var liveTracks: [TrackRecorder.Key: LiveTrack] = [:] { didSet { routeVersion &+= 1 } }
    /// Changes whenever `book`, `peersBySub`, `tracks` or `liveTracks` changes: the audio routes
    /// peers cache (`Peer.audioRoutes`) are good while it stays the same.
    var routeVersion: UInt64 = 0
    let recorder: TrackRecorder
    /// Packets to record, handed to the recorder each tick (100 ms), when many, and before a
    /// track closes: one wake-up of its thread per hand-over instead of one per packet.
    var recorderBatch = TrackRecorder.PacketBatch(capacity: Relay.recorderBatchCapacity)
    let recordingEnabled: Bool
    /// Ends (by a participant or by ops) waiting for their session's recordings to be final,
    /// run in arrival order once no track of the session is open or closing.
    var pendingEnds: [String: [() -> Void]] = [:]
    /// Tracks whose recording is being finished off the loop, per session.
    var closingTracks: [String: Int] = [:]
    /// The grades last announced per session (`health` goes out when they change).
    var lastGrades: [String: [String: Grade]] = [:]
    /// Ended sessions still in memory (for late joins and their replay), with when they ended.
    var endedSessions: [String: Int64] = [:]
    /// Connections that sent `ops.watch`.
    var opsWatchers: Set<UInt64> = []
    /// Called once every connection has gone after `beginShutdown`.
    var shutdownDrained: (() -> Void)?

    init(
        settings: RelaySettings, tokens: TokenAuthority, store: RelayStore, book: SessionBook, forms: FormDesk,
        tracks: TrackTable, recorder: TrackRecorder, recordingEnabled: Bool, documentStore: DocumentStore,
        uploads: UploadBook, documents: SessionDocuments, loop: ServiceLoop, metrics: RelayMetrics, logger: Logger
    ) {
        self.settings = settings
        self.tracks = tracks
        self.recorder = recorder
        self.recordingEnabled = recordingEnabled
        self.tokens = tokens
        self.store = store
        self.book = book
        self.forms = forms
        self.documentStore = documentStore
        self.uploads = uploads
        self.documents = documents
        self.loop = loop
        self.metrics = metrics
        self.logger = logger
    }

    /// Wall-clock unix milliseconds (for events and tokens).
    var wallMillis: Int64 { Timestamp.millis(Date()) }

    // MARK: TransportHandler

    func webSocketOpened(_ connection: WebSocketConnection, tag: UInt64) {
        if openEcho(connection) { return }
        let peer = Peer(connection: connection, helloDeadline: loop.nowMillis + Int64(settings.helloTimeoutSeconds) * 1000)
        peers[connection.id] = peer
        connection.context = peer
        let overflows = metrics.sendQueueOverflows
        connection.onOverflow = { _ in overflows.increment() }
        metrics.connections.set(Double(peers.count))
        let fromAddress = connectionsByAddress[connection.peerAddress, default: 0] + 1
        connectionsByAddress[connection.peerAddress] = fromAddress
        if !accepting { return connection.close(code: 1001, reason: "server shutting down") }
        if fromAddress > settings.maxConnectionsPerAddress {
            // Counted until it has closed, like any other: a client that keeps retrying gains nothing.
            metrics.requestErrors(.rateLimited)
            peer.sendError(
                Refusal(
                    .rateLimited,
                    "too many connections from \(connection.peerAddress): limits.maxConnectionsPerIP is "
                        + "\(settings.maxConnectionsPerAddress); close one and try again"),
                id: nil)
            connection.close(code: 4429, reason: "too many connections from your address")
        }
    }

    func webSocketClosed(_ connection: WebSocketConnection) {
        if closeEcho(connection) { return }
        guard let peer = peers.removeValue(forKey: connection.id) else { return }
        connection.context = nil
        peer.audioRoutes.removeAll()  // routes hold their receivers: no cycle outlives the connection
        pacedPeers.remove(peer.id)
        if let n = connectionsByAddress[connection.peerAddress] {
            connectionsByAddress[connection.peerAddress] = n > 1 ? n - 1 : nil
        }
        metrics.connections.set(Double(peers.count))
        defer { checkDrained() }
        if let unit = peer.watchingUnit { queueWatchers[unit]?.remove(peer.id) }
        opsWatchers.remove(peer.id)
        guard let identity = peer.identity else { return }
        logger.info(
            "connection closed",
            metadata: [
                "participant": "\(identity.sub)", "connection": "\(peer.id)", "replaced": "\(peer.replaced)",
                "sessions": "\(book.sessions(of: identity.sub).joined(separator: ","))",
            ])
        guard !peer.replaced, peersBySub[identity.sub] === peer else { return }
        peersBySub.removeValue(forKey: identity.sub)
        let outcome = book.connectionLost(sub: identity.sub, now: wallMillis)
        apply(outcome, for: nil, requestId: nil)
    }

    func webSocketMessageTooLarge(_ connection: WebSocketConnection) {
        if echoTooLarge(connection) { return }
        guard let peer = peers[connection.id] else { return }
        peer.sendError(
            Refusal(.tooLarge, "message larger than limits.maxMessageBytes (\(settings.maxMessageBytes) bytes)"), id: nil)
    }

    func webSocket(_ connection: WebSocketConnection, received message: UnsafeRawBufferPointer, binary: Bool) {
        if echo(connection, message: message, binary: binary) { return }
        guard let peer = peers[connection.id], connection.isOpen else { return }
        // The binary path tests `saidHello` rather than binding `peer.identity`, which copies the
        // whole identity for every audio packet that needs none of it.
        if binary, peer.saidHello, message.first == BinaryFrame.Kind.documentChunk.rawValue {
            // Upload chunks are paced by flow control, not refused: a dropped chunk would break the offsets.
            paceUpload(peer, bytes: message.count)
            binaryFrame(peer, bytes: message)
            return
        }
        if let refusal = admit(peer, bytes: message.count) {
            if refusal != .silentlyDropped { peer.sendError(refusal, id: nil) }
            return
        }
        if binary {
            if peer.saidHello {
                binaryFrame(peer, bytes: message)
            } else {
                refuseHello(peer, id: nil, message: "the first message must be hello")
            }
        } else if let identity = peer.identity {
            request(peer, identity: identity, text: message)
        } else {
            hello(peer, text: message)
        }
    }

    func webSocket(_ connection: WebSocketConnection, receivedPong payload: UnsafeRawBufferPointer) {
        guard let peer = peers[connection.id], let bytes = Hex.decode(String(decoding: payload, as: UTF8.self)),
            let sent = try? PingPayload.decode(bytes)
        else { return }
        if peer.rtt.record(sentMillis: Double(sent), receivedMillis: Double(loop.nowMillis)), let sample = peer.rtt.lastMs {
            metrics.rtt.record(sample / 1000)
        }
    }

    func tick(nowMillis: Int64) {
        for peer in peers.values where peer.identity == nil && nowMillis >= peer.helloDeadline {
            refuseHello(peer, id: nil, message: "no hello within \(settings.helloTimeoutSeconds) s")
        }
        if nowMillis - lastHeartbeat >= Int64(settings.heartbeatMs) {
            lastHeartbeat = nowMillis
            // As hex text: libwebsockets 4.1 checks a pong's payload as UTF-8 once a text frame has been
            // received, and closes with 1007 when it is not (a binary payload did so about every other ping).
            let payload = Array(Hex.encode(PingPayload.encode(UInt64(nowMillis))).utf8)
            for peer in peers.values where peer.identity != nil {
                peer.lastPingAt = nowMillis
                peer.connection.ping(payload: payload)
            }
        }
        if nowMillis - lastBookTick >= 1000 {
            lastBookTick = nowMillis
            let outcome = book.tick(now: wallMillis)
            apply(outcome, for: nil, requestId: nil)
            healthTick()
        }
        documentsTick(nowMillis: nowMillis)
        flushRecordings()
    }

    func httpRequest(_ exchange: HTTPExchange) {
        routeHTTP(exchange)
    }

    // MARK: Hello

    private func refuseHello(_ peer: Peer, id: String?, message: String) {
        peer.sendError(Refusal(.unauthorized, message), id: id)
        peer.connection.close(code: 4401, reason: "unauthorized")
    }

    private func hello(_ peer: Peer, text: UnsafeRawBufferPointer) {
        guard let message = try? JSONValue.parse(text), message["type"]?.stringValue == "hello" else {
            let id = (try? JSONValue.parse(text))?["id"]?.stringValue
            refuseHello(peer, id: id, message: "the first message must be hello")
            return
        }
        let id = message["id"]?.stringValue
        guard let token = message["token"]?.stringValue else {
            refuseHello(peer, id: id, message: "hello needs a token")
            return
        }
        var language = MessageLanguage.preferred(acceptLanguage: peer.connection.acceptLanguage) ?? .fallback
        let asked = message["lang"].flatMap { $0.isNull ? nil : $0 }
        if let lang = asked {
            guard let chosen = lang.stringValue.flatMap(MessageLanguage.init(tag:)) else {
                // Not an identity problem: the device may say hello again with a language we have.
                peer.sendError(
                    Refusal(.badRequest, "field `lang` must be \"zh\" or \"en\"", details: ["field": "lang"]), id: id)
                return
            }
            language = chosen
        }
        let claims: TokenClaims
        do {
            claims = try tokens.verify(token, now: wallMillis / 1000)
        } catch {
            refuseHello(peer, id: id, message: "token refused: \(error)")
            return
        }
        let identity = claims.identity
        if identity.role.isStaff && identity.unit == nil {
            refuseHello(peer, id: id, message: "token refused: staff tokens need a unit")
            return
        }
        if settings.windowCertificates, let window = identity.window,
            peer.connection.clientCertificateName != window
        {
            let presented = peer.connection.clientCertificateName.map { "one for \($0)" } ?? "none"
            refuseHello(
                peer, id: id,
                message: "token refused: window \(window) must connect with its client certificate (CN=\(window)); "
                    + "this connection presented \(presented)")
            return
        }
        if let previous = peersBySub[identity.sub], previous !== peer {
            previous.replaced = true
            previous.connection.close(code: 4409, reason: "replaced by a newer connection", discardingQueued: false)
        }
        peer.identity = identity
        peer.language = language
        peersBySub[identity.sub] = peer
        var result: [String: JSONValue] = [
            "participant": .string(identity.sub),
            "role": .string(identity.role.rawValue),
            "heartbeatMs": .number(Double(settings.heartbeatMs)),
            "server": .string("windowrelay/\(RelayVersion.current)"),
        ]
        if let unit = identity.unit { result["unit"] = .string(unit) }
        // Only to a device that asked: the result of a plain hello stays exactly as PROTOCOL §1 shows it.
        if asked != nil { result["lang"] = .string(language.rawValue) }
        logger.info(
            "hello",
            metadata: [
                "participant": "\(identity.sub)", "role": "\(identity.role.rawValue)", "unit": "\(identity.unit ?? "-")",
                "connection": "\(peer.id)", "address": "\(peer.connection.peerAddress)",
            ])
        reply(peer, id: id, result: .object(result))
    }

    // MARK: Requests

    private func request(_ peer: Peer, identity: Identity, text: UnsafeRawBufferPointer) {
        let message: JSONValue
        do {
            message = try JSONValue.parse(text)
        } catch {
            peer.sendError(Refusal(.badRequest, "malformed JSON: \(error)"), id: nil)
            return
        }
        guard case .object(var body) = message else {
            peer.sendError(Refusal(.badRequest, "a request must be a JSON object"), id: nil)
            return
        }
        var id: String?
        switch body["id"] {
        case .none, .null?: id = nil
        case .string(let s)?: id = s
        default:
            peer.sendError(Refusal(.badRequest, "id must be a string"), id: nil)
            return
        }
        guard let type = body["type"]?.stringValue else {
            peer.sendError(Refusal(.badRequest, "missing type"), id: id)
            return
        }
        body.removeValue(forKey: "type")
        body.removeValue(forKey: "id")
        do {
            try route(type: type, body: body, peer: peer, identity: identity, id: id)
        } catch {
            refuse(peer, id: id, error)
        }
    }

    private func route(type: String, body: [String: JSONValue], peer: Peer, identity: Identity, id: String?)
        throws(Refusal)
    {
        if type == "hello" { throw Refusal(.invalidState, "hello was already accepted on this connection") }
        if type == DocumentOffer.type {
            try offerDocument(body, peer: peer, identity: identity, id: id)
            return
        }
        if let sessionRequest = try SessionRequest.parse(type: type, body: body) {
            try handleSession(sessionRequest, peer: peer, identity: identity, id: id)
            return
        }
        if let formRequest = try FormRequest.parse(type: type, body: body) {
            try handleForm(formRequest, peer: peer, identity: identity, id: id)
            return
        }
        switch type {
        case "audio.open": try audioOpen(body, peer: peer, identity: identity, id: id)
        case "audio.close": try audioClose(body, peer: peer, identity: identity, id: id)
        case "signal": try signal(body, peer: peer, identity: identity, id: id)
        case "ops.watch": try opsWatch(peer: peer, identity: identity, id: id)
        default: throw Refusal(.badRequest, "unknown type \"\(type)\"")
        }
    }

    func refuse(_ peer: Peer, id: String?, _ refusal: Refusal) {
        metrics.requestErrors(refusal.code)
        // Behind whatever is pending, so an error never overtakes an earlier reply.
        if outbox.release({ _ in peer.sendError(refusal, id: id) }) { peer.sendError(refusal, id: id) }
    }

    /// Replies `ok` in order behind pending commits.
    func reply(_ peer: Peer, id: String?, result: JSONValue) {
        if outbox.release({ _ in peer.sendOK(id: id, result: result) }) { peer.sendOK(id: id, result: result) }
    }
}

/// Settings the relay uses on its loop, taken from the configuration.
struct RelaySettings: Sendable {
    var helloTimeoutSeconds: Int
    var heartbeatMs: Int
    var maxMessageBytes: Int
    var messagesPerSecond: Int
    var bytesPerSecond: Int
    /// Open WebSocket connections one peer address may have (`limits.maxConnectionsPerIP`).
    var maxConnectionsPerAddress: Int
    /// `tls.clientCA` is set: a token that names a `window` needs that window's client certificate.
    var windowCertificates = false
    /// Whether the test-only echo route is on (`windowrelay serve --conformance-echo`).
    var conformanceEcho = false
}

/// The version the server reports.
enum RelayVersion {
    static let current = "0.1.0"
}
