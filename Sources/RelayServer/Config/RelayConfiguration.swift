public import Logging
public import RelayTransport

/// The relay's settings (PROTOCOL §9): every key of `config/relay.yaml`, each with its default.
///
/// The YAML key of a property is its path here: `listen.port` is `listen.port`, `docs.maxBytes` is
/// `docs.maxBytes`. Relative paths are used as written, that is relative to the process's working
/// directory. Reading the file and the environment lives in `RelayConfiguration+Loading.swift`.
public struct RelayConfiguration: Sendable, Hashable {
    public var listen = Listen()
    public var tls = TLS()
    public var auth = Auth()
    public var storage = Storage()
    /// The path of the catalog YAML (units, services, forms).
    public var catalog = "config/catalog.yaml"
    public var queue = Queue()
    public var docs = Documents()
    public var sessions = Sessions()
    public var limits = Limits()
    public var log = Log()
    public var recording = Recording()

    /// Every setting at its default.
    public init() {}

    /// `wss` when TLS is configured, else `ws`.
    public var scheme: String { tls.isEnabled ? "wss" : "ws" }
}

extension RelayConfiguration {
    /// Where the relay accepts connections.
    public struct Listen: Sendable, Hashable {
        /// The address to bind; `0.0.0.0` is every IPv4 interface.
        public var host = "0.0.0.0"
        /// The TCP port; 0 asks for any free port (printed on start).
        public var port = 8443
        /// What the service thread waits on for socket events: libev (epoll) or lws's own poll.
        public var eventLoop = EventBackend.libev

        public init() {}
    }

    /// The server certificate; absent means plain `ws://`.
    public struct TLS: Sendable, Hashable {
        /// PEM file: the server certificate, then its intermediates.
        public var cert: String?
        /// PEM file: the private key of `cert`.
        public var key: String?
        /// PEM file: CAs whose client certificates are accepted (mutual TLS, later).
        public var clientCA: String?

        public init() {}

        /// Whether the relay serves `wss://`.
        public var isEnabled: Bool { cert != nil }
    }

    /// Where the HMAC secret of the tokens comes from (see `loadSecret()`).
    public struct Auth: Sendable, Hashable {
        /// The file that holds the secret.
        public var secretFile = "config/dev-secret.txt"
        /// The value of `WINDOWRELAY_SECRET` when it was set and non-empty; it wins over `secretFile`.
        public var secretFromEnvironment: String?

        public init() {}
    }

    /// Where sessions, events, documents and recordings are kept.
    public struct Storage: Sendable, Hashable {
        /// The folder of the database, documents, partial uploads and recordings.
        public var dataDir = "data"

        public init() {}
    }

    /// The waiting lists of the units.
    public struct Queue: Sendable, Hashable {
        /// A queued session nobody accepts in this time ends with outcome `expired`.
        public var maxWaitSeconds = 900
        /// More waiting sessions for one unit are refused (`rate_limited`).
        public var maxWaitingPerUnit = 200

        public init() {}
    }

    /// Document uploads (PROTOCOL §4).
    public struct Documents: Sendable, Hashable {
        /// The largest document, in bytes.
        public var maxBytes = 50 * mebibyte
        /// The MIME types an offer may name; the leading bytes must match.
        public var allowedTypes = ["application/pdf", "image/jpeg", "image/png", "application/ofd"]
        /// The largest chunk a client may send, in bytes (told in the offer's reply).
        public var chunkMax = 262_144
        /// Partial uploads untouched this long are deleted.
        public var partialTtlHours = 24

        public init() {}
    }

    /// Participants' connections.
    public struct Sessions: Sendable, Hashable {
        /// How long a dropped participant is `away` before it has left.
        public var reconnectGraceSeconds = 60
        /// The ping interval, also told to clients in the hello reply.
        public var heartbeatMs = 10_000
        /// A connection that sends no `hello` in this time is closed with 4401.
        public var helloTimeoutSeconds = 10

        public init() {}
    }

    /// Limits that keep one client from hurting the others.
    public struct Limits: Sendable, Hashable {
        /// The largest WebSocket message a client may send, in bytes.
        public var maxMessageBytes = mebibyte
        /// Messages per second per connection before `rate_limited`.
        public var messagesPerSecond = 400
        /// Bytes per second per connection before `rate_limited`.
        public var bytesPerSecond = 8 * mebibyte
        /// A receiver whose outgoing queue grows past this is closed with 4408.
        public var sendQueueBytes = 4 * mebibyte
        /// The longest chat text, in characters.
        public var maxChatLength = 4000
        /// Open connections from one IP address.
        public var maxConnectionsPerIP = 200
        /// Uploads one participant may have open at once.
        public var maxOpenUploadsPerParticipant = 4
        /// The bytes all uploads of one session may add up to.
        public var maxUploadBytesPerSession = 512 * mebibyte
        /// The largest HTTP request head, in bytes.
        public var maxHTTPHeaderBytes = 8192

        public init() {}
    }

    /// Logging.
    public struct Log: Sendable, Hashable {
        /// One line per event as text for people, or one JSON object per line for collectors.
        public enum Format: String, Sendable, Hashable, CaseIterable {
            case text
            case json
        }

        /// The lowest level written.
        public var level = Logger.Level.info
        public var format = Format.text

        public init() {}
    }

    /// Session recording (PROTOCOL §8).
    public struct Recording: Sendable, Hashable {
        /// Whether audio tracks are written as Ogg Opus files.
        public var enabled = true

        public init() {}
    }
}

/// 1 MiB.
let mebibyte = 1 << 20

extension RelayConfiguration.Auth: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself never appears in logs or dumps.
    public var description: String {
        let environment = secretFromEnvironment == nil ? "unset" : "set"
        return "Auth(secretFile: \"\(secretFile)\", WINDOWRELAY_SECRET: \(environment))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "secretFile": secretFile,
                "secretFromEnvironment": secretFromEnvironment == nil ? "unset" : "<redacted>",
            ]
        )
    }
}
