import Foundation

/// What a load run counted: packets sent, deliveries seen, and whether the generator kept time.
public struct LoadTally: Sendable, Equatable {
    /// Audio packets the generator sent while the run lasted.
    public var sent = 0
    /// How many participants should receive each packet (parties − 1).
    public var receiversPerPacket = 1
    /// Packets received whose send time was found (counted up to the end of the drain).
    public var delivered = 0
    /// Binary messages received for which no send time was found (unknown track, stale sequence).
    public var unmatched = 0
    /// Seconds from the first send to the last.
    public var sendingSeconds = 0.0
    /// Seconds from the first send to the last delivery.
    public var deliveringSeconds = 0.0
    /// Seconds from the first send to the end of the drain.
    public var measuredSeconds = 0.0
    /// Paced runs: packets sent 5 ms or more after their scheduled time (the generator fell behind).
    public var lateSends = 0
    /// Paced runs: the worst delay between a packet's scheduled and actual send time.
    public var maxSendLagNanos: UInt64 = 0
    /// Flood runs: speakers that saw nothing delivered for a second and were restarted.
    public var stalls = 0
    /// Connections the server closed during the run, and the first close code it gave.
    public var connectionsClosed = 0
    public var firstCloseCode: UInt16?
    /// `error` messages without an id (a refused audio frame, rate limiting), and the first one's text.
    public var serverErrors = 0
    public var firstServerError: String?

    public init(sent: Int = 0, receiversPerPacket: Int = 1, delivered: Int = 0) {
        self.sent = sent
        self.receiversPerPacket = receiversPerPacket
        self.delivered = delivered
    }

    /// Adds the counts of another share of the same run (another client loop).
    public mutating func merge(_ other: LoadTally) {
        sent += other.sent
        delivered += other.delivered
        unmatched += other.unmatched
        sendingSeconds = max(sendingSeconds, other.sendingSeconds)
        deliveringSeconds = max(deliveringSeconds, other.deliveringSeconds)
        measuredSeconds = max(measuredSeconds, other.measuredSeconds)
        lateSends += other.lateSends
        maxSendLagNanos = max(maxSendLagNanos, other.maxSendLagNanos)
        stalls += other.stalls
        connectionsClosed += other.connectionsClosed
        firstCloseCode = firstCloseCode ?? other.firstCloseCode
        serverErrors += other.serverErrors
        firstServerError = firstServerError ?? other.firstServerError
    }

    /// Deliveries the server owed: every packet to every other participant.
    public var expected: Int { sent * receiversPerPacket }
    /// Deliveries that never arrived, though the run waited for them (lost inside the server).
    public var lost: Int { max(0, expected - delivered) }
    /// Deliveries beyond what was owed (duplicates); 0 in a correct run.
    public var surplus: Int { max(0, delivered - expected) }

    /// Deliveries a second, from the first send to the last send or the last delivery, whichever
    /// is later (a saturated relay delivers after the sending stopped).
    public var deliveriesPerSecond: Double {
        let seconds = max(sendingSeconds, deliveringSeconds)
        return seconds > 0 ? Double(delivered) / seconds : 0
    }
}

/// Percentiles of the added latency of every delivery, in nanoseconds.
public struct LatencySummary: Sendable, Equatable {
    public var count: UInt64
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    public init(count: UInt64, p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64) {
        self.count = count
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }

    /// One line: `p50 412 µs, p99 1.83 ms, p99.9 2.10 ms, max 12.4 ms`.
    public var formatted: String {
        guard count > 0 else { return "no deliveries" }
        return "p50 \(Self.format(p50)), p99 \(Self.format(p99)), p99.9 \(Self.format(p999)), max \(Self.format(max))"
    }

    /// A duration for people: whole µs below 1 ms, then ms with three significant digits, then s.
    public static func format(_ nanoseconds: UInt64) -> String {
        let micros = Double(nanoseconds) / 1_000
        switch micros {
        case ..<1_000: return String(format: "%.0f µs", micros)
        case ..<10_000: return String(format: "%.2f ms", micros / 1_000)
        case ..<100_000: return String(format: "%.1f ms", micros / 1_000)
        case ..<1_000_000: return String(format: "%.0f ms", micros / 1_000)
        default: return String(format: "%.2f s", micros / 1_000_000)
        }
    }
}

/// What the server process spent over a run: CPU time and resident memory.
public struct ServerUsage: Sendable, Equatable {
    public var cpuSeconds: Double
    /// Resident memory before the generator connected, and at the end of the run.
    public var rssBeforeBytes: UInt64
    public var rssAfterBytes: UInt64
    /// WebSocket connections the generator held open.
    public var connections: Int
    /// `cpuSeconds` by thread name (`ProcessSample.threadCPUSeconds`); empty when not sampled.
    public var threadCPUSeconds: [String: Double]

    public init(
        cpuSeconds: Double, rssBeforeBytes: UInt64, rssAfterBytes: UInt64, connections: Int,
        threadCPUSeconds: [String: Double] = [:]
    ) {
        self.cpuSeconds = cpuSeconds
        self.rssBeforeBytes = rssBeforeBytes
        self.rssAfterBytes = rssAfterBytes
        self.connections = connections
        self.threadCPUSeconds = threadCPUSeconds
    }

    /// Memory the run added, shared out over its connections.
    public var rssPerConnectionBytes: Double {
        connections > 0 ? Double(Int64(rssAfterBytes) - Int64(rssBeforeBytes)) / Double(connections) : 0
    }
}

/// A load run's figures, as the lines `windowrelay bench audio` prints.
public struct LoadReport: Sendable {
    public var title: String
    public var tally: LoadTally
    public var latency: LatencySummary
    public var server: ServerUsage?
    /// CPU seconds the generator itself used over the run.
    public var generatorCPUSeconds: Double?

    public init(
        title: String,
        tally: LoadTally,
        latency: LatencySummary,
        server: ServerUsage? = nil,
        generatorCPUSeconds: Double? = nil
    ) {
        self.title = title
        self.tally = tally
        self.latency = latency
        self.server = server
        self.generatorCPUSeconds = generatorCPUSeconds
    }

    /// Server CPU time per delivered packet, in microseconds.
    public var serverMicrosPerDelivery: Double? {
        guard let server, tally.delivered > 0 else { return nil }
        return server.cpuSeconds * 1e6 / Double(tally.delivered)
    }

    public var lines: [String] {
        let t = tally
        var lines = [
            title,
            String(
                format: "sent %d packets in %.1f s, delivered %d of %d (%.0f deliveries/s)",
                t.sent,
                t.sendingSeconds,
                t.delivered,
                t.expected,
                t.deliveriesPerSecond
            ),
            "lost inside the server: \(t.lost)" + (t.surplus > 0 ? ", duplicated: \(t.surplus)" : "")
                + (t.unmatched > 0 ? ", unmatched: \(t.unmatched)" : ""),
            "added latency: \(latency.formatted)",
        ]
        if let server {
            let mib = { (bytes: UInt64) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
            lines.append(
                String(
                    format: "server CPU: %.2f s over %.1f s (%.0f %% of a core), ",
                    server.cpuSeconds,
                    t.measuredSeconds,
                    t.measuredSeconds > 0 ? 100 * server.cpuSeconds / t.measuredSeconds : 0
                )
                    + String(format: "%.2f µs per delivery", serverMicrosPerDelivery ?? 0)
            )
            if !server.threadCPUSeconds.isEmpty, t.delivered > 0 {
                // Busiest first; threads under 0.01 s (one clock tick) left out.
                let busy = server.threadCPUSeconds.filter { $0.value >= 0.01 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
                lines.append(
                    "server threads: "
                        + busy.map { name, seconds in
                            name + String(format: " %.2f s (%.2f µs per delivery)", seconds, seconds * 1e6 / Double(t.delivered))
                        }.joined(separator: ", "))
            }
            lines.append(
                "server RSS: \(mib(server.rssBeforeBytes)) before, \(mib(server.rssAfterBytes)) after; "
                    + String(
                        format: "%.1f KiB per connection (%d)",
                        server.rssPerConnectionBytes / 1024,
                        server.connections
                    )
            )
        }
        var generator = "generator: "
        if let generatorCPUSeconds {
            generator += String(format: "CPU %.2f s, ", generatorCPUSeconds)
        }
        if t.stalls > 0 {
            generator += "\(t.stalls) stalled speakers restarted"
        } else {
            generator += "\(t.lateSends) sends ≥ 5 ms late, worst lag \(LatencySummary.format(t.maxSendLagNanos))"
        }
        lines.append(generator)
        if t.connectionsClosed > 0 {
            lines.append(
                "connections closed by the server during the run: \(t.connectionsClosed)"
                    + (t.firstCloseCode.map { " (first with code \($0))" } ?? "")
            )
        }
        if t.serverErrors > 0 {
            lines.append("errors from the server: \(t.serverErrors), the first: \(t.firstServerError ?? "")")
        }
        return lines
    }
}
