public import RelayCore

extension LoadReport {
    /// The run's figures as one JSON object (one line of `bench audio --json`), for scripts:
    /// counts, rates, latencies in nanoseconds, the server's CPU seconds and RSS bytes.
    /// - Parameter run: what was run (target, sessions, pace…), merged in under `run`.
    public func json(run: [String: JSONValue]) -> JSONValue {
        let t = tally
        var figures: [String: JSONValue] = [
            "run": .object(run),
            "sent": .number(Double(t.sent)),
            "receiversPerPacket": .number(Double(t.receiversPerPacket)),
            "expected": .number(Double(t.expected)),
            "delivered": .number(Double(t.delivered)),
            "lost": .number(Double(t.lost)),
            "unmatched": .number(Double(t.unmatched)),
            "sendingSeconds": .number(t.sendingSeconds),
            "measuredSeconds": .number(t.measuredSeconds),
            "deliveriesPerSecond": .number(t.deliveriesPerSecond.rounded()),
            "lateSends": .number(Double(t.lateSends)),
            "maxSendLagNanos": .number(Double(t.maxSendLagNanos)),
            "stalls": .number(Double(t.stalls)),
            "connectionsClosed": .number(Double(t.connectionsClosed)),
            "serverErrors": .number(Double(t.serverErrors)),
            "latencyNanos": [
                "count": .number(Double(latency.count)), "p50": .number(Double(latency.p50)),
                "p99": .number(Double(latency.p99)), "p999": .number(Double(latency.p999)),
                "max": .number(Double(latency.max)),
            ],
        ]
        if let server {
            figures["server"] = [
                "cpuSeconds": .number(server.cpuSeconds),
                "cpuShare": .number(t.measuredSeconds > 0 ? server.cpuSeconds / t.measuredSeconds : 0),
                "microsPerDelivery": .number(serverMicrosPerDelivery ?? 0),
                "rssBeforeBytes": .number(Double(server.rssBeforeBytes)),
                "rssAfterBytes": .number(Double(server.rssAfterBytes)),
                "connections": .number(Double(server.connections)),
                "threadCPUSeconds": .object(server.threadCPUSeconds.mapValues { .number($0) }),
            ]
        }
        if let generatorCPUSeconds { figures["generatorCPUSeconds"] = .number(generatorCPUSeconds) }
        return .object(figures)
    }
}
