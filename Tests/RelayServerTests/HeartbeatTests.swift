import Foundation
import RelayClient
import RelayCore
import RelayServer
import Testing

@Suite("Heartbeat pings (PROTOCOL §7)")
struct HeartbeatTests {
    @Test func aConnectionWhoseLastMessageWasTextSurvivesPingsAndRTTIsMeasured() async throws {
        let relay = try TestRelay { $0.sessions.heartbeatMs = 200 }
        let c = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        // Let a few pings go out and their pongs come back.
        var closed: ClientEvent?
        for _ in 0..<8 {
            if let event = try? await c.next(timeout: 0.2), case .closed = event { closed = event }
        }
        #expect(closed == nil)
        let reply = try await c.request(["type": "queue.watch", "id": "q"])
        #expect(reply["type"] == "ok")
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        let count = metrics.split(separator: "\n").first { $0.hasPrefix("windowrelay_rtt_seconds_count") }
        #expect(count.map { !$0.hasSuffix(" 0") } == true, "\(count ?? "no rtt count")")
    }
}
