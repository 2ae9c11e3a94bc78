import Dispatch
import Foundation
public import Logging
import RelayCore
import RelayMedia
import RelayStore
import RelayTransport
import Synchronization

/// A WindowRelay server: configuration in, a listening relay out.
///
/// `init` does everything that can fail before listening (secret, catalog, store, rebuilding live
/// sessions from the event log); `start` listens; `shutdown` closes every client with 1001,
/// flushes the store and stops. Thread-safe.
public final class RelayServer: Sendable {
    public let configuration: RelayConfiguration
    let loop: ServiceLoop
    let store: RelayStore
    let recorder: TrackRecorder
    let documentStore: DocumentStore
    let logger: Logger
    private let relay: UncheckedRelay
    private let port = Mutex<Int?>(nil)

    /// - Parameter conformanceEcho: opens the test-only echo route on `/v1/echo` (`Relay+Echo.swift`).
    public init(
        configuration: RelayConfiguration, logger: Logger, conformanceEcho: Bool = false
    ) throws(RelayStartupError) {
        self.configuration = configuration
        self.logger = logger
        let secret: [UInt8]
        let catalog: Catalog
        do {
            secret = try configuration.loadSecret()
            catalog = try configuration.loadCatalog()
        } catch {
            throw .configuration(error.description)
        }
        do {
            try catalog.validate()
        } catch {
            throw .configuration(String(describing: error))
        }
        do {
            store = try RelayStore(dataDirectory: configuration.storage.dataDir, logger: logger)
        } catch {
            throw .storage(String(describing: error))
        }
        let limits = ConnectionLimits(
            maxMessageBytes: configuration.limits.maxMessageBytes,
            sendQueueBytes: configuration.limits.sendQueueBytes,
            mediaBudgetBytes: min(64 << 10, configuration.limits.sendQueueBytes / 4))
        let idle = max(2, configuration.sessions.heartbeatMs / 1000)
        loop = ServiceLoop(
            listen: ListenConfiguration(
                host: configuration.listen.host, port: configuration.listen.port,
                tlsCertificatePath: configuration.tls.cert, tlsKeyPath: configuration.tls.key,
                tlsClientCAPath: configuration.tls.clientCA, maxHTTPHeaderBytes: configuration.limits.maxHTTPHeaderBytes,
                idlePingSeconds: idle * 2, idleHangupSeconds: idle * 4,
                additionalWebSocketPaths: conformanceEcho ? [ConformanceEcho.path] : []),
            limits: limits, tickMillis: 100, backend: configuration.listen.eventLoop, logger: logger)
        var book = SessionBook(
            catalog: catalog,
            rules: SessionRules(
                queueMaxWaitSeconds: configuration.queue.maxWaitSeconds,
                reconnectGraceSeconds: configuration.sessions.reconnectGraceSeconds,
                maxChatLength: configuration.limits.maxChatLength,
                maxWaitingPerUnit: configuration.queue.maxWaitingPerUnit),
            chainHash: RecordChain(sha256: { SHA256.hash($0) }).hash,
            makeSessionId: { SessionIdentifiers.make(prefix: "s_") })
        var tracks = TrackTable()
        var forms = FormDesk(
            catalog: catalog, sha256Hex: { SHA256.hex($0) }, makeFormId: { SessionIdentifiers.make(prefix: "f_") })
        var documents = SessionDocuments()
        do {
            try Self.recover(
                &book, forms: &forms, tracks: &tracks, documents: &documents, store: store,
                dataDirectory: configuration.storage.dataDir, logger: logger)
        } catch {
            store.close()
            throw .storage("cannot rebuild live sessions from the record: \(error)")
        }
        let uploads: UploadBook
        (documentStore, uploads) = try Self.openDocuments(configuration, store: store, book: book, logger: logger)
        let settings = RelaySettings(
            helloTimeoutSeconds: configuration.sessions.helloTimeoutSeconds,
            heartbeatMs: configuration.sessions.heartbeatMs,
            maxMessageBytes: configuration.limits.maxMessageBytes,
            messagesPerSecond: configuration.limits.messagesPerSecond,
            bytesPerSecond: configuration.limits.bytesPerSecond,
            maxConnectionsPerAddress: configuration.limits.maxConnectionsPerIP,
            windowCertificates: configuration.tls.clientCA != nil,
            conformanceEcho: conformanceEcho)
        if conformanceEcho {
            logger.warning(
                "test-only echo route is on: \(ConformanceEcho.path) echoes every message (--conformance-echo)")
        }
        recorder = TrackRecorder(dataDirectory: configuration.storage.dataDir, logger: logger)
        relay = UncheckedRelay(
            Relay(
                settings: settings, tokens: TokenAuthority(secret: secret), store: store, book: book, forms: forms, tracks: tracks,
                recorder: recorder, recordingEnabled: configuration.recording.enabled, documentStore: documentStore,
                uploads: uploads, documents: documents, loop: loop,
                metrics: RelayMetrics(units: catalog.units.map(\.id)), logger: logger))
    }

    /// Rebuilds the sessions that were live, their forms and tracks, from the event log. Nobody is
    /// connected after a restart: participants who were present are marked away (with the usual
    /// grace to come back). A form event that does not fit its form's state is logged and skipped:
    /// one bad form must not keep the whole server down.
    /// Tracks that were open are closed: their recordings are repaired (cut after the last whole
    /// Ogg page, ended) and recorded as `track.removed` with reason `recovered`. Those events are
    /// committed before the server listens.
    static func recover(
        _ book: inout SessionBook, forms: inout FormDesk, tracks: inout TrackTable, documents: inout SessionDocuments,
        store: RelayStore, dataDirectory: String, logger: Logger
    ) throws {
        let events = try store.liveEvents()
        for event in events where book.restore(event) {
            tracks.restore(event)
            documents.restore(event)
            do {
                try forms.restore(event)
            } catch {
                logger.error(
                    "form event skipped at recovery",
                    metadata: ["session": "\(event.sessionId)", "seq": "\(event.seq)", "error": "\(error)"])
            }
        }
        let now = Timestamp.millis(Date())
        var interrupted: [SessionEvent] = []
        for sessionId in book.liveSessionIds {
            for track in tracks.tracks(sessionId: sessionId) {
                let key = TrackRecorder.Key(sessionId: sessionId, track: track.number)
                var data: [String: JSONValue] = [
                    "track": .number(Double(track.number)), "participant": ["id": .string(track.owner)],
                    "kind": .string(track.kind), "reason": "recovered",
                ]
                if let summary = TrackRecorder.repair(dataDirectory: dataDirectory, key: key) {
                    data["file"] = .string(summary.file)
                    data["durationMs"] = .number(Double(summary.durationMs))
                    data["sha256"] = .string(summary.sha256)
                }
                if let emitted = try? book.append(sessionId: sessionId, type: "track.removed", actor: "server", data: data, now: now) {
                    interrupted.append(emitted.event)
                    tracks.restore(emitted.event)
                }
            }
        }
        interrupted += book.allConnectionsLost(now: now).emitted.map(\.event)
        if !interrupted.isEmpty {
            let summaries = Set(interrupted.map(\.sessionId)).compactMap { book.session($0).map(SessionSummary.init) }
            try store.commitNow(StoreBatch(events: interrupted, summaries: summaries, replay: nil))
        }
        if !book.liveSessionIds.isEmpty {
            logger.info(
                "recovered live sessions", metadata: ["sessions": "\(book.liveSessionIds.count)", "events": "\(events.count)"])
        }
    }

    /// Listens; returns the port (the one picked when `listen.port` is 0).
    @discardableResult
    public func start() throws(RelayStartupError) -> Int {
        do {
            let bound = try loop.start(handler: relay.value)
            port.withLock { $0 = bound }
            return bound
        } catch {
            throw .transport(error.description)
        }
    }

    /// The port listened on, once started.
    public var boundPort: Int? { port.withLock { $0 } }

    /// The URL clients connect to.
    public var webSocketURL: String {
        let host = configuration.listen.host == "0.0.0.0" ? "127.0.0.1" : configuration.listen.host
        return "\(configuration.scheme)://\(host):\(boundPort ?? configuration.listen.port)/v1/ws"
    }

    /// Reads `tls.cert` and `tls.key` again (SIGHUP): new connections get the new certificate,
    /// open sessions are not touched. A bad pair is logged and changes nothing.
    public func reloadCertificate() {
        let logger = self.logger
        let path = configuration.tls.cert ?? ""
        loop.reloadCertificate { failure in
            if let failure {
                logger.error("certificate not reloaded; the previous one stays", metadata: ["cert": "\(path)", "error": "\(failure)"])
            } else {
                logger.notice("certificate reloaded", metadata: ["cert": "\(path)"])
            }
        }
    }

    /// Graceful stop: refuse new connections, close every client with 1001 ("going away"), wait up
    /// to `grace` for them to go, stop the loop, then flush and close the store.
    public func shutdown(grace: Duration = .seconds(2)) {
        let drained = DispatchSemaphore(value: 0)
        let relay = self.relay
        loop.execute {
            relay.value.beginShutdown { drained.signal() }
        }
        let millis = Int(grace.components.seconds * 1000)
        _ = drained.wait(timeout: .now() + .milliseconds(millis))
        // Whatever audio arrived during the grace goes to the recorder before it finishes the files.
        loop.execute { relay.value.flushRecordings() }
        loop.stop()
        recorder.shutdown()
        documentStore.close()
        store.close()
    }
}

/// The relay object, handed to the service thread at start and used only there.
private struct UncheckedRelay: @unchecked Sendable {
    let value: Relay
    init(_ value: Relay) { self.value = value }
}

/// Why the server could not start; each says what to fix.
public enum RelayStartupError: Error, CustomStringConvertible {
    case configuration(String)
    case storage(String)
    case transport(String)

    public var description: String {
        switch self {
        case .configuration(let m): m
        case .storage(let m): "storage: \(m)"
        case .transport(let m): m
        }
    }
}

/// Opaque random ids (`s_…`, `d_…`, `f_…`).
enum SessionIdentifiers {
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)

    static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var s = prefix
        for _ in 0..<14 { s.append(Character(UnicodeScalar(alphabet[Int(generator.next() % 32)]))) }
        return s
    }
}
