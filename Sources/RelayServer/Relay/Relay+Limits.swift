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
            if peer.rateWindowCount > settings.messagesPerSecond || peer.rateWindowBytes > settings.bytesPerSecond {
                peer.rateViolations += 1
            } else {
                peer.rateViolations = 0
            }
            peer.rateWindowStart = now
            peer.rateWindowCount = 0
            peer.rateWindowBytes = 0
        }
        peer.rateWindowCount += 1
        peer.rateWindowBytes += bytes
        guard peer.rateWindowCount > settings.messagesPerSecond || peer.rateWindowBytes > settings.bytesPerSecond
        else { return nil }
        metrics.messagesRateLimited.increment()
        if peer.rateViolations >= 5 {
            peer.connection.close(code: 4429, reason: "rate limit exceeded repeatedly")
            return nil
        }
        // Tell the client once per window, not once per refused message.
        let first = peer.rateWindowCount == settings.messagesPerSecond + 1
            || (peer.rateWindowBytes - bytes <= settings.bytesPerSecond && peer.rateWindowBytes > settings.bytesPerSecond)
        return first ? Refusal(.rateLimited, "over \(settings.messagesPerSecond) messages or \(settings.bytesPerSecond) bytes per second") : Refusal(.rateLimited, "rate limited")
    }

    /// Binary frames: audio (0x01), document chunks (0x02) and video (0x03) come with their issues;
    /// until then every binary frame is refused with a clear error and the connection stays open.
    func binaryFrame(_ peer: Peer, identity: Identity, bytes: UnsafeRawBufferPointer) {
        peer.sendError(Refusal(.badRequest, "binary frame kind \(bytes.first.map { String($0) } ?? "none") is not supported"), id: nil)
    }
}
