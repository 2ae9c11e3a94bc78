import RelayClient
import RelayCore
import RelayServer
import Testing

@Suite("Send-queue overflow (PROTOCOL §6, decisions D6)")
struct SendQueueOverflowTests {
    @Test func aReceiverBehindByMoreThanTheLimitIsClosedWith4408AndCounted() async throws {
        // A 64-byte limit: the hello reply alone (well over 64 bytes) puts the receiver past it.
        let relay = try TestRelay { $0.limits.sendQueueBytes = 64 }
        let c = try await relay.connect()
        c.send(json: ["type": "hello", "id": "1", "token": .string(relay.token("clerk-1", .clerk, unit: "qd-xihaian"))])
        #expect(try await c.closeCode() == 4408)
        let metrics = String(decoding: try relay.get("/metrics").body, as: UTF8.self)
        #expect(metrics.split(separator: "\n").contains("windowrelay_send_queue_overflows_total 1"))
    }
}
