import RelayClient
import RelayCore
import RelayServer
import Testing

@Suite("Heartbeat pings (PROTOCOL §7)")
struct HeartbeatTests {
    @Test func aClientThatAnswersPingsStaysConnectedAndItsRoundTripsAreMeasured() async throws {
        // Pings every 100 ms: the 12-byte payloads are binary, and the client's pongs echo them.
        let relay = try TestRelay { $0.sessions.heartbeatMs = 100 }
        let c = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        try await Task.sleep(for: .milliseconds(800))
        let reply = try await c.request(["type": "queue.watch", "id": "after-pings"])
        #expect(reply["type"] == "ok")
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        let count = metrics.split(separator: "\n").first { $0.hasPrefix("windowrelay_rtt_seconds_count ") }
        #expect((count?.split(separator: " ").last).flatMap { Int($0) }.map { $0 > 0 } == true)
    }
}
