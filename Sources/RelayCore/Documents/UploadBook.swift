/// The limits of document uploads (from the server configuration).
public struct UploadRules: Sendable, Hashable {
    /// `docs.maxBytes`: the largest document.
    public var maxBytes: Int
    /// `docs.allowedTypes`, normalised.
    public var allowedTypes: Set<String>
    /// `docs.chunkMax`: the largest chunk payload, told in the offer's reply.
    public var chunkMax: Int
    /// `limits.maxOpenUploadsPerParticipant`.
    public var maxOpenPerParticipant: Int
    /// `limits.maxUploadBytesPerSession`: documents and open uploads of one session together.
    public var maxBytesPerSession: Int
    /// `docs.partialTtlHours` in milliseconds: an upload untouched this long expires.
    public var partialTtlMillis: Int64
    /// `doc.progress` goes out at least this often (in bytes written) and at the end.
    public var progressEvery: Int

    public init(
        maxBytes: Int = 50 << 20,
        allowedTypes: [String] = ["application/pdf", "image/jpeg", "image/png", "application/ofd"],
        chunkMax: Int = 262_144,
        maxOpenPerParticipant: Int = 4,
        maxBytesPerSession: Int = 512 << 20,
        partialTtlMillis: Int64 = 24 * 3_600_000,
        progressEvery: Int = 1 << 20
    ) {
        self.maxBytes = maxBytes
        self.allowedTypes = Set(allowedTypes.map(DocumentSignature.normalized))
        self.chunkMax = chunkMax
        self.maxOpenPerParticipant = maxOpenPerParticipant
        self.maxBytesPerSession = maxBytesPerSession
        self.partialTtlMillis = partialTtlMillis
        self.progressEvery = progressEvery
    }
}

/// What an accepted offer fixed for good: all that is persisted (table `upload`) so that the
/// upload resumes after a restart.
public struct UploadTerms: Sendable, Hashable {
    /// The number chunks carry (u32), unique on this node across restarts.
    public var id: UInt32
    public var sessionId: String
    /// The uploader's `sub`: the only one who may send its chunks or resume it.
    public var owner: String
    /// Display text only.
    public var name: String
    public var mime: String
    public var size: Int
    /// 64 lowercase hex digits: the SHA-256 the whole file must have.
    public var sha256: String
    /// Unix millis of the offer.
    public var createdAt: Int64

    public init(
        id: UInt32, sessionId: String, owner: String, name: String, mime: String, size: Int, sha256: String,
        createdAt: Int64
    ) {
        self.id = id
        self.sessionId = sessionId
        self.owner = owner
        self.name = name
        self.mime = mime
        self.size = size
        self.sha256 = sha256
        self.createdAt = createdAt
    }
}

/// One upload in progress: its terms (read through as `upload.sessionId`, `upload.size`, …) and
/// how far it has come.
@dynamicMemberLookup
public struct Upload: Sendable, Hashable {
    /// Where the upload stands.
    public enum Phase: Sendable, Hashable {
        /// Chunks are accepted at `received`.
        case receiving
        /// Every byte was accepted: the file is being synced and its SHA-256 checked.
        case verifying
    }

    public var terms: UploadTerms
    /// Bytes accepted, in order: the offset the next chunk must have.
    public var received: Int
    /// Bytes the writer has written to the partial file (≤ `received`).
    public var written: Int
    /// `received` of the last `doc.progress` sent.
    public var reported: Int
    public var phase: Phase
    /// Unix millis of the latest chunk or offer (expiry counts from it).
    public var touchedAt: Int64

    /// A new upload, or one resumed with `received` bytes already held.
    public init(_ terms: UploadTerms, received: Int = 0, touchedAt: Int64? = nil) {
        self.terms = terms
        self.received = received
        self.written = received
        self.reported = received
        self.phase = .receiving
        self.touchedAt = touchedAt ?? terms.createdAt
    }

    public subscript<T>(dynamicMember field: KeyPath<UploadTerms, T>) -> T { terms[keyPath: field] }

    /// Accepted bytes the writer has not written yet.
    public var queuedBytes: Int { received - written }
}

/// What an accepted offer asks for.
public struct OfferDecision: Sendable, Hashable {
    public var upload: Upload
    /// False for a new upload: persist it before replying.
    public var resumed: Bool
    /// Every byte is already held (a resume after a restart at the very end): verify it now.
    public var finishNow: Bool

    /// The `ok` result: `{upload, offset, chunkMax}`.
    public func reply(chunkMax: Int) -> JSONValue {
        ["upload": .number(Double(upload.id)), "offset": JSONValue(upload.received), "chunkMax": JSONValue(chunkMax)]
    }
}

/// What to do with a document chunk.
public enum ChunkDecision: Sendable, Hashable {
    /// Refused with an `error` (no `id`); the upload goes on, waiting for the right chunk.
    case refused(Refusal)
    /// The upload is over: `doc.failed` to its owner, drop its bytes.
    case failed(Upload, DocumentFailure)
    /// Write the payload at `offset`; when `finishes`, then sync and verify the file.
    case accepted(Upload, offset: Int, finishes: Bool)
}

/// The uploads of one node (PROTOCOL §4) as pure bookkeeping: offers, resume keys, offsets, checks, progress
/// and expiry. Inputs in, decisions out; the caller does the writing, syncing and sending. Not thread-safe.
public struct UploadBook: Sendable {
    public let rules: UploadRules
    private var uploads: [UInt32: Upload] = [:]
    /// (session, owner, sha256) → upload: how an offer resumes.
    private var resumeKeys: [ResumeKey: UInt32] = [:]
    public private(set) var nextId: UInt32

    private struct ResumeKey: Hashable {
        var sessionId: String
        var owner: String
        var sha256: String
    }

    /// - Parameter nextId: the first id to hand out (above every id ever used, also before a restart).
    public init(rules: UploadRules, nextId: UInt32 = 1) {
        self.rules = rules
        self.nextId = max(1, nextId)
    }

    public func upload(_ id: UInt32) -> Upload? { uploads[id] }

    /// Every upload, by id.
    public var all: [Upload] { uploads.values.sorted { $0.id < $1.id } }

    /// Bytes `owner`'s uploads have accepted that the writer has not written yet.
    public func queuedBytes(owner: String) -> Int {
        uploads.values.reduce(0) { $0 + ($1.owner == owner ? $1.queuedBytes : 0) }
    }

    // MARK: Offers

    /// Accepts an offer from `owner` (already known to be present in the active session) or refuses it.
    ///
    /// Checks, in order: `size` against `docs.maxBytes` (`too_large`), `mime` against `docs.allowedTypes`
    /// (`unsupported_type`); an offer of the same session, owner and SHA-256 as an open upload resumes it; a new
    /// one must fit `maxOpenUploadsPerParticipant` (`rate_limited`) and, with `storedBytes` (the session's
    /// documents) and its open uploads, `maxUploadBytesPerSession` (`too_large`).
    public mutating func offer(
        _ offer: DocumentOffer,
        by owner: String,
        storedBytes: Int,
        now: Int64
    ) throws(Refusal) -> OfferDecision {
        guard offer.size <= rules.maxBytes else {
            throw Refusal(
                .tooLarge,
                "the document is \(offer.size) bytes; the most is \(rules.maxBytes) (docs.maxBytes)",
                details: ["field": "size", "max": JSONValue(rules.maxBytes)]
            )
        }
        guard rules.allowedTypes.contains(offer.mime) else {
            throw Refusal(
                .unsupportedType,
                "type \(offer.mime) is not accepted; send one of "
                    + rules.allowedTypes.sorted().joined(separator: ", "),
                details: ["field": "mime"]
            )
        }
        let key = ResumeKey(sessionId: offer.sessionId, owner: owner, sha256: offer.sha256)
        if let id = resumeKeys[key], var upload = uploads[id] {
            guard upload.size == offer.size else {
                throw Refusal(
                    .conflict,
                    "upload \(id) of this file is open with size \(upload.size), not \(offer.size); check the file",
                    details: ["upload": .number(Double(id)), "size": JSONValue(upload.size)]
                )
            }
            upload.touchedAt = now
            let finishNow = upload.phase == .receiving && upload.received == upload.size
            if finishNow { upload.phase = .verifying }
            uploads[id] = upload
            return OfferDecision(upload: upload, resumed: true, finishNow: finishNow)
        }
        let open = uploads.values.filter { $0.owner == owner }.count
        guard open < rules.maxOpenPerParticipant else {
            throw Refusal(
                .rateLimited,
                "you have \(open) uploads open; finish one first (limits.maxOpenUploadsPerParticipant)",
                details: ["max": JSONValue(rules.maxOpenPerParticipant)]
            )
        }
        let pending = uploads.values.reduce(0) { $0 + ($1.sessionId == offer.sessionId ? $1.size : 0) }
        guard storedBytes + pending + offer.size <= rules.maxBytesPerSession else {
            throw Refusal(
                .tooLarge,
                "session \(offer.sessionId) would hold \(storedBytes + pending + offer.size) bytes of documents; "
                    + "the most is \(rules.maxBytesPerSession) (limits.maxUploadBytesPerSession)",
                details: ["field": "size", "max": JSONValue(rules.maxBytesPerSession)]
            )
        }
        let upload = Upload(
            UploadTerms(
                id: nextId, sessionId: offer.sessionId, owner: owner, name: offer.name, mime: offer.mime,
                size: offer.size, sha256: offer.sha256, createdAt: now))
        nextId = nextId == .max ? 1 : nextId + 1
        insert(upload)
        return OfferDecision(upload: upload, resumed: false, finishNow: false)
    }

    /// Puts back an upload held before a restart, with the bytes found on disk.
    public mutating func restore(_ upload: Upload) {
        var upload = upload
        upload.received = min(upload.received, upload.size)
        upload.written = upload.received
        upload.reported = upload.received
        upload.phase = .receiving
        insert(upload)
        if upload.id >= nextId { nextId = upload.id == .max ? 1 : upload.id + 1 }
    }

    private mutating func insert(_ upload: Upload) {
        uploads[upload.id] = upload
        resumeKeys[ResumeKey(sessionId: upload.sessionId, owner: upload.owner, sha256: upload.sha256)] = upload.id
    }

    /// Forgets an upload (finished, failed, discarded); returns it if it was open.
    @discardableResult
    public mutating func remove(_ id: UInt32) -> Upload? {
        guard let upload = uploads.removeValue(forKey: id) else { return nil }
        let key = ResumeKey(sessionId: upload.sessionId, owner: upload.owner, sha256: upload.sha256)
        if resumeKeys[key] == id { resumeKeys[key] = nil }
        return upload
    }

    // MARK: Chunks

    /// Decides a chunk of upload `id` at `offset` from `sender`.
    ///
    /// Unknown uploads and other participants' uploads are `not_found`; a chunk while the file is verified is
    /// `invalid_state`; an offset other than `received` is `conflict` with `expected`; a payload over
    /// `chunkMax` or past the offered size is `too_large`. The first chunk's leading bytes must match the
    /// declared type: a mismatch fails the upload (`unsupported_type`).
    public mutating func chunk(
        upload id: UInt32,
        offset: UInt64,
        payload: some Collection<UInt8>,
        from sender: String,
        now: Int64
    ) -> ChunkDecision {
        let uploadId: JSONValue = .number(Double(id))
        guard var upload = uploads[id], upload.owner == sender else {
            return .refused(
                Refusal(.notFound, "no upload \(id) of yours; offer the document first", details: ["upload": uploadId])
            )
        }
        guard upload.phase == .receiving else {
            return .refused(
                Refusal(
                    .invalidState,
                    "upload \(id) has every byte and is being verified",
                    details: ["upload": uploadId]
                )
            )
        }
        guard offset == UInt64(upload.received) else {
            return .refused(
                Refusal(
                    .conflict,
                    "upload \(id) continues at byte \(upload.received), not \(offset)",
                    details: ["upload": uploadId, "expected": JSONValue(upload.received)]
                )
            )
        }
        let count = payload.count
        guard count <= rules.chunkMax else {
            return .refused(
                Refusal(
                    .tooLarge,
                    "a chunk carries at most \(rules.chunkMax) bytes (chunkMax); this one has \(count)",
                    details: ["upload": uploadId, "max": JSONValue(rules.chunkMax)]
                )
            )
        }
        guard upload.received + count <= upload.size else {
            return .refused(
                Refusal(
                    .tooLarge,
                    "upload \(id) was offered as \(upload.size) bytes; this chunk goes past its end",
                    details: ["upload": uploadId, "expected": JSONValue(upload.received)]
                )
            )
        }
        if upload.received == 0 {
            switch DocumentSignature.check(mime: upload.mime, leading: payload, fileSize: upload.size) {
            case .matches:
                break
            case .mismatch:
                remove(id)
                return .failed(upload, .unsupportedType)
            case .needsMore(let n):
                return .refused(
                    Refusal(
                        .badRequest,
                        "the first chunk of a \(upload.mime) file must carry at least \(n) bytes",
                        details: ["upload": uploadId]
                    )
                )
            }
        }
        upload.received += count
        upload.touchedAt = now
        let finishes = upload.received == upload.size
        if finishes { upload.phase = .verifying }
        uploads[id] = upload
        return .accepted(upload, offset: upload.received - count, finishes: finishes)
    }

    /// The writer has written upload `id` through byte `through`. Returns the `doc.progress` to send, if one is
    /// due: at least every `progressEvery` bytes, and when the last byte is written.
    public mutating func written(upload id: UInt32, through: Int) -> JSONValue? {
        guard var upload = uploads[id] else { return nil }
        upload.written = max(upload.written, min(through, upload.received))
        defer { uploads[id] = upload }
        let due =
            upload.written - upload.reported >= rules.progressEvery
            || (upload.written == upload.size && upload.reported < upload.size)
        guard due else { return nil }
        upload.reported = upload.written
        return [
            "type": "doc.progress", "upload": .number(Double(id)), "received": JSONValue(upload.written),
            "size": JSONValue(upload.size),
        ]
    }

    // MARK: Expiry

    /// Removes and returns the uploads to drop: those untouched for `partialTtlMillis` while receiving, and
    /// those whose session `isOpenFor` says no longer takes documents from their owner.
    public mutating func expire(now: Int64, isOpenFor: (_ sessionId: String, _ owner: String) -> Bool) -> [Upload] {
        var dropped: [Upload] = []
        for upload in all where upload.phase == .receiving {
            let stale = now - upload.touchedAt >= rules.partialTtlMillis
            if stale || !isOpenFor(upload.sessionId, upload.owner) {
                remove(upload.id)
                dropped.append(upload)
            }
        }
        return dropped
    }
}
