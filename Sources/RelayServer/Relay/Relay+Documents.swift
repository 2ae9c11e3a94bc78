import Logging
import Prometheus
import RelayCore
import RelayStore
import RelayTransport

/// PROTOCOL §4 on the loop: offers, chunks, progress, verification and `doc.available`.
///
/// The bookkeeping is `UploadBook` (pure); bytes go to the `DocumentStore` writer thread and its completions
/// come back through the mailbox. An uploader whose unwritten chunks pass `uploadBacklogHigh` bytes stops being
/// read (transport flow control) until the writer is down to `uploadBacklogLow`, so one fast uploader never
/// holds the loop or memory for everyone else.
extension Relay {
    var uploadBacklogHigh: Int { max(4 * uploads.rules.chunkMax, 2 << 20) }
    var uploadBacklogLow: Int { uploadBacklogHigh / 2 }

    // MARK: Offers

    func offerDocument(_ body: [String: JSONValue], peer: Peer, identity: Identity, id: String?) throws(Refusal) {
        if store.isStalled {
            throw Refusal(.internal, "storage cannot commit right now (disk full?); offer the document again shortly")
        }
        let offer = try DocumentOffer.parse(body)
        try book.checkDocumentSender(identity, sessionId: offer.sessionId)
        dropUnwantedUploads(owner: identity.sub)
        let decision = try uploads.offer(
            offer,
            by: identity.sub,
            storedBytes: documents.bytes(in: offer.sessionId),
            now: wallMillis
        )
        let result = decision.reply(chunkMax: uploads.rules.chunkMax)
        let upload = decision.upload
        if decision.resumed {
            reply(peer, id: id, result: result)
            if decision.finishNow { finishUpload(upload) }
            return
        }
        // The upload is recorded before the client hears of it, so that it resumes also after a restart.
        let failure = RegistrationFailure()
        let ticket = outbox.awaitBatch { [self] _ in
            if let error = failure.error {
                uploads.remove(upload.id)
                logger.error(
                    "upload not recorded",
                    metadata: [
                        "session": "\(upload.sessionId)", "participant": "\(upload.owner)", "upload": "\(upload.id)",
                        "error": "\(error)",
                    ])
                refuse(peer, id: id, Refusal(.internal, "could not record the upload: \(error)"))
            } else {
                peer.sendOK(id: id, result: result)
            }
        }
        let loop = self.loop
        let bound = LoopBound((self, failure), loop: loop.identity)
        documentStore.register(upload.terms) { registered in
            loop.execute {
                let (relay, failure) = bound.value
                if case .failure(let error) = registered { failure.error = error }
                for (release, value) in relay.outbox.complete(ticket: ticket, result: .success(StoreBatchResult())) {
                    release(value)
                }
            }
        }
    }

    // MARK: Chunks

    /// A binary `0x02 | upload u32 | offset u64 | bytes` frame.
    func documentChunk(_ peer: Peer, identity: Identity, frame bytes: UnsafeRawBufferPointer) {
        let header: BinaryFrame.DocumentChunkHeader
        let range: Range<Int>
        do {
            guard case .documentChunk(let h, let r) = try BinaryFrame.parse(bytes) else { return }
            (header, range) = (h, r)
        } catch {
            metrics.requestErrors(.badRequest)
            peer.sendError(Refusal(.badRequest, error.description), id: nil)
            return
        }
        if let upload = uploads.upload(header.upload), upload.owner == identity.sub, !stillWanted(upload) {
            uploads.remove(upload.id)
            uploadFailed(upload, .sessionEnded)
            return
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[range])
        switch uploads.chunk(
            upload: header.upload,
            offset: header.offset,
            payload: payload,
            from: identity.sub,
            now: wallMillis
        )
        {
        case .refused(let refusal):
            metrics.requestErrors(refusal.code)
            peer.sendError(refusal, id: nil)
        case .failed(let upload, let reason):
            uploadFailed(upload, reason)
        case .accepted(let upload, let offset, let finishes):
            metrics.documentBytesReceived(payload.count)
            let loop = self.loop
            let bound = LoopBound(self, loop: loop.identity)
            let id = upload.id
            documentStore.append(upload: id, offset: offset, bytes: Array(payload)) { written in
                loop.execute { bound.value.chunkWritten(upload: id, written) }
            }
            if finishes { finishUpload(upload) }
            updateUploadFlow(owner: upload.owner)
        }
    }

    private func chunkWritten(upload id: UInt32, _ written: Result<Int, DocumentStoreError>) {
        guard let upload = uploads.upload(id) else { return }
        switch written {
        case .success(let through):
            if let progress = uploads.written(upload: id, through: through) { peersBySub[upload.owner]?.send(progress) }
        case .failure(let error):
            logger.error(
                "document chunk not written",
                metadata: [
                    "session": "\(upload.sessionId)", "participant": "\(upload.owner)", "upload": "\(id)",
                    "error": "\(error)",
                ])
            uploads.remove(id)
            uploadFailed(upload, .storageFailed)
        }
        updateUploadFlow(owner: upload.owner)
    }

    // MARK: The end of an upload

    /// Syncs and verifies a complete upload off the loop; `doc.available` follows through the durable path.
    private func finishUpload(_ upload: Upload) {
        let loop = self.loop
        let bound = LoopBound(self, loop: loop.identity)
        documentStore.finish(upload: upload.id, size: upload.size, sha256: upload.sha256) { finished in
            loop.execute { bound.value.uploadFinished(upload, finished) }
        }
    }

    private func uploadFinished(_ upload: Upload, _ finished: Result<FinishedUpload, DocumentStoreError>) {
        guard uploads.remove(upload.id) != nil else { return }
        defer { updateUploadFlow(owner: upload.owner) }
        switch finished {
        case .success(.stored):
            let now = wallMillis
            let record = DocumentRecord(
                id: SessionIdentifiers.make(prefix: "d_"),
                name: upload.name,
                mime: upload.mime,
                size: upload.size,
                sha256: upload.sha256,
                from: upload.owner,
                atMillis: now
            )
            let emitted: Emitted
            do {
                emitted = try book.append(
                    sessionId: upload.sessionId,
                    type: DocumentRecord.eventType,
                    actor: upload.owner,
                    data: record.eventData,
                    now: now
                )
            } catch {
                sendFailed(upload, .sessionEnded, detail: error.message)
                return
            }
            documents.restore(emitted.event)
            metrics.documentFinished(available: true)
            apply(SessionOutcome(emitted: [emitted]), for: nil, requestId: nil)
        case .success(.checksumMismatch(let actual)):
            sendFailed(upload, .checksumMismatch, detail: "the file's SHA-256 is \(actual), not \(upload.sha256)")
        case .failure(let error):
            logger.error(
                "document not stored",
                metadata: [
                    "session": "\(upload.sessionId)", "participant": "\(upload.owner)", "upload": "\(upload.id)",
                    "error": "\(error)",
                ])
            sendFailed(upload, .storageFailed, detail: error.description)
            documentStore.discard(upload: upload.id)
        }
    }

    /// An upload that failed while receiving: its owner hears `doc.failed`, its bytes are dropped.
    private func uploadFailed(_ upload: Upload, _ reason: DocumentFailure) {
        sendFailed(upload, reason, detail: nil)
        documentStore.discard(upload: upload.id)
        updateUploadFlow(owner: upload.owner)
    }

    private func sendFailed(_ upload: Upload, _ reason: DocumentFailure, detail: String?) {
        metrics.documentFinished(available: false)
        let message: String
        switch reason {
        case .checksumMismatch: message = "the bytes do not have the SHA-256 offered; they were dropped"
        case .unsupportedType: message = "the file does not start like a \(upload.mime) file; it was dropped"
        case .sessionEnded: message = "session \(upload.sessionId) no longer takes documents from you"
        case .storageFailed: message = "the server could not store the document; offer it again"
        }
        peersBySub[upload.owner]?.send([
            "type": "doc.failed", "upload": .number(Double(upload.id)), "reason": .string(reason.rawValue),
            "sessionId": .string(upload.sessionId), "message": .string(detail.map { message + ": " + $0 } ?? message),
        ])
    }

    // MARK: Expiry and flow control

    /// Whether the upload's session still takes it: live, and its owner has not left.
    func stillWanted(_ upload: Upload) -> Bool {
        guard let s = book.session(upload.sessionId), s.isLive, let p = s.participant(upload.owner) else {
            return false
        }
        return !p.presence.hasLeft
    }

    /// Drops `owner`'s uploads whose session no longer takes them (so they do not count against its limits).
    private func dropUnwantedUploads(owner: String) {
        let unwanted = uploads.all.filter { $0.owner == owner && $0.phase == .receiving && !stillWanted($0) }
        for upload in unwanted {
            uploads.remove(upload.id)
            documentStore.discard(upload: upload.id)
        }
    }

    /// The hourly sweep: uploads untouched for `docs.partialTtlHours`, or whose session is over, are deleted by
    /// the writer thread.
    func sweepUploads() {
        let dropped = uploads.expire(now: wallMillis) { [self] sessionId, owner in
            guard let s = book.session(sessionId), s.isLive, let p = s.participant(owner) else { return false }
            return !p.presence.hasLeft
        }
        for upload in dropped { documentStore.discard(upload: upload.id) }
        if !dropped.isEmpty { logger.info("partial uploads expired", metadata: ["uploads": "\(dropped.count)"]) }
    }

    /// Pauses or resumes reading `owner`'s connection by its writer backlog.
    func updateUploadFlow(owner: String) {
        guard let peer = peersBySub[owner] else { return }
        let backlog = uploads.queuedBytes(owner: owner)
        if backlog > uploadBacklogHigh {
            peer.uploadPacing.backlogged = true
        } else if backlog <= uploadBacklogLow {
            peer.uploadPacing.backlogged = false
        }
        applyPacing(peer)
    }

    /// Counts a chunk frame against `limits.messagesPerSecond` and `limits.bytesPerSecond`. Chunks over the rate
    /// are not refused (that would break the upload's offsets): the connection stops being read until the
    /// one-second window ends.
    func paceUpload(_ peer: Peer, bytes: Int) {
        let over = peer.uploadPacing.count(
            bytes: bytes,
            now: loop.nowMillis,
            messagesPerSecond: settings.messagesPerSecond,
            bytesPerSecond: settings.bytesPerSecond
        )
        if over {
            pacedPeers.insert(peer.id)
            applyPacing(peer)
        }
    }

    /// From `tick`: resumes connections whose rate window is over; sweeps expired uploads hourly.
    func documentsTick(nowMillis: Int64) {
        for id in pacedPeers {
            guard let peer = peers[id] else {
                pacedPeers.remove(id)
                continue
            }
            if peer.uploadPacing.windowEnded(now: nowMillis) {
                pacedPeers.remove(id)
                applyPacing(peer)
            }
        }
        if nowMillis - lastUploadSweep >= 3_600_000 {
            lastUploadSweep = nowMillis
            sweepUploads()
        }
    }

    private func applyPacing(_ peer: Peer) {
        if peer.uploadPacing.paused {
            if !peer.connection.isReceivingPaused { metrics.uploadPauses.increment() }
            peer.connection.pauseReceiving()
        } else {
            peer.connection.resumeReceiving()
        }
    }
}

/// A connection's upload pacing: the rate window of its chunk frames and why it is paused.
struct UploadPacing {
    var windowStart: Int64 = 0
    var messages = 0
    var bytes = 0
    /// Over the rate in the current window.
    var overRate = false
    /// Its chunks wait for the writer beyond the high-water mark.
    var backlogged = false

    var paused: Bool { overRate || backlogged }

    /// Counts one chunk frame; true when this one took the window over a limit.
    mutating func count(bytes n: Int, now: Int64, messagesPerSecond: Int, bytesPerSecond: Int) -> Bool {
        if now - windowStart >= 1000 {
            windowStart = now
            messages = 0
            bytes = 0
            overRate = false
        }
        messages += 1
        bytes += n
        guard !overRate, messages >= messagesPerSecond || bytes >= bytesPerSecond else { return false }
        overRate = true
        return true
    }

    /// True (and the window closed) when the window of an over-rate connection has ended.
    mutating func windowEnded(now: Int64) -> Bool {
        guard overRate, now - windowStart >= 1000 else { return false }
        overRate = false
        windowStart = now
        messages = 0
        bytes = 0
        return true
    }
}

/// Carries a failed upload registration from the writer's completion to the reply (loop-bound).
private final class RegistrationFailure {
    var error: DocumentStoreError?
}
