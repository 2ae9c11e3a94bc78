import RelayClient
import RelayCore
import RelayServer
import Testing

@Suite("Per-connection limits")
struct LimitsTests {
    @Test func floodingPastTheMessageRateIsRefusedOncePerWindowAndTheRestStillAnswered() async throws {
        let relay = try TestRelay { $0.limits.messagesPerSecond = 5 }
        let c = try await relay.join("clerk-1", .clerk, unit: "qd-xihaian")
        // The hello counted as one message of this window.
        for i in 0..<12 { c.send(json: ["type": "queue.watch", "id": .string("q\(i)")]) }
        var oks = 0
        var limited = 0
        while oks + limited < 13 {
            guard let message = try? await c.nextJSON(timeout: 1.5) else { break }
            if message["type"] == "ok" { oks += 1 }
            if message["code"] == "rate_limited" { limited += 1 }
        }
        // 5 a second: the burst fits in one window (4 after the hello) or, on a slow machine, straddles two.
        // Either way most of the 12 are refused, and the client hears it once per window, not per message.
        #expect(oks >= 4 && oks <= 10)
        #expect(limited >= 1 && limited <= 2)
        // The next window admits messages again.
        try await Task.sleep(for: .milliseconds(1100))
        let reply = try await c.request(["type": "queue.watch", "id": "after"])
        #expect(reply["type"] == "ok")
    }
}

@Suite("Connections per address")
struct ConnectionsPerAddressTests {
    @Test func oneConnectionOverTheLimitIsRefusedAndAClosedOneFreesItsPlace() async throws {
        let relay = try TestRelay { $0.limits.maxConnectionsPerIP = 3 }
        var open: [ClientConnection] = []
        for i in 0..<3 { open.append(try await relay.join("clerk-\(i)", .clerk, unit: "qd-xihaian")) }
        let fourth = try await relay.connect()
        let refusal = try await fourth.nextJSON()
        #expect(refusal["type"] == "error")
        #expect(refusal["code"] == "rate_limited")
        #expect(refusal["message"]?.stringValue?.contains("maxConnectionsPerIP") == true)
        let code = try await fourth.closeCode()
        #expect(code == 4429, "\(String(describing: code))")
        // The three that fit are untouched.
        let reply = try await open[0].request(["type": "queue.watch", "id": "still"])
        #expect(reply["type"] == "ok")
        // Closing one makes room for the next.
        open[2].close()
        _ = try? await open[2].closeCode()
        var admitted: ClientConnection?
        for _ in 0..<50 where admitted == nil {
            admitted = try? await relay.join("clerk-late", .clerk, unit: "qd-xihaian")
            if admitted == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(admitted != nil)
    }
}
