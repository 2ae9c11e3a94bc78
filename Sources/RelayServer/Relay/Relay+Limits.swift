import RelayCore
import Prometheus
import RelayTransport

extension Relay {
    /// Per-connection rate limits (`limits.messagesPerSecond`, `limits.bytesPerSecond`) over
    /// one-second windows. A refused message is answered with `rate_limited` and dropped; a
    /// connection that keeps flooding for 5 windows is closed with 4429.
    func admit(_ peer: Peer, bytes: Int) -> Refusal? {
        let now = loop.nowMillis
        if now - peer.rateWindowStart >= 1000 {
            peer.rateViolations = peer.rateWindowRefused ? peer.rateViolations + 1 : 0
            peer.rateWindowStart = now
            peer.rateWindowCount = 0
            peer.rateWindowBytes = 0
            peer.rateWindowRefused = false
        }
        peer.rateWindowCount += 1
        peer.rateWindowBytes += bytes
        guard peer.rateWindowCount > settings.messagesPerSecond || peer.rateWindowBytes > settings.bytesPerSecond
        else { return nil }
        metrics.messagesRateLimited.increment()
        if peer.rateViolations >= 5 {
            peer.connection.close(code: 4429, reason: "rate limit exceeded repeatedly")
            return Refusal.silentlyDropped
        }
        // The message is dropped; the client hears about it once per window, not once per message.
        if peer.rateWindowRefused { return Refusal.silentlyDropped }
        peer.rateWindowRefused = true
        return Refusal(
            .rateLimited,
            "over limits.messagesPerSecond (\(settings.messagesPerSecond)) or limits.bytesPerSecond "
                + "(\(settings.bytesPerSecond)); messages are dropped until the next second")
    }

    /// Binary frames (PROTOCOL §4, §6): audio takes the short path, document chunks go to their
    /// upload; a frame of an unknown or unsupported kind is refused with a clear error and the
    /// connection stays open.
    /// The sender has said hello.
    func binaryFrame(_ peer: Peer, bytes: UnsafeRawBufferPointer) {
        switch bytes.first.flatMap(BinaryFrame.Kind.init(rawValue:)) {
        case .documentChunk?:
            guard let identity = peer.identity else { return }
            documentChunk(peer, identity: identity, frame: bytes)
        case .audio?:
            do {
                guard case .audio(let header, let payload) = try BinaryFrame.parse(bytes) else { return }
                audioFrame(peer, bytes: bytes, header: header, payload: payload)
            } catch {
                invalidMedia(peer, "binary frame refused: \(error)")
            }
        case .video?:
            metrics.requestErrors(.unsupportedType)
            peer.sendError(Refusal(.unsupportedType, "binary video frames are not supported; use signal (WebRTC)"), id: nil)
        case nil:
            let problem = bytes.isEmpty ? BinaryFrameError.empty : .unknownKind(bytes[0])
            invalidMedia(peer, "binary frame refused: \(problem)")
        }
    }
}

extension Refusal {
    /// A refusal that is not told to the client again (rate limiting within one window).
    static let silentlyDropped = Refusal(.rateLimited, "")
}
