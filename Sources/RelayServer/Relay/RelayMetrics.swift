import Prometheus
import RelayCore

/// The relay's Prometheus metrics, on a registry of its own (no global state, so several servers
/// can run in one test process). Names and meanings are documented in docs/operations.md.
final class RelayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let connections: Gauge
    let rtt: ValueHistogram
    private let events: Counter
    private let commit: ValueHistogram
    private let sessionsQueued: Gauge
    private let sessionsActive: Gauge
    private let errorCounters: [ErrorCode: Counter]
    let sendQueueOverflows: Counter
    let messagesRateLimited: Counter

    init() {
        connections = registry.makeGauge(
            name: "windowrelay_connections", help: "Open WebSocket connections (before and after hello).")
        rtt = registry.makeValueHistogram(
            name: "windowrelay_rtt_seconds", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.3, 0.6, 1, 2.5],
            help: "Round-trip time from the server's WebSocket pings.")
        events = registry.makeCounter(
            name: "windowrelay_events_total", help: "Session events appended to the record.")
        commit = registry.makeValueHistogram(
            name: "windowrelay_store_commit_seconds",
            buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
            help: "Time from handing a batch to the store writer to its commit being seen on the loop.")
        sessionsQueued = registry.makeGauge(
            name: "windowrelay_sessions", labels: [("state", "queued")], help: "Live sessions by state.")
        sessionsActive = registry.makeGauge(
            name: "windowrelay_sessions", labels: [("state", "active")], help: "Live sessions by state.")
        var errors: [ErrorCode: Counter] = [:]
        for code in ErrorCode.allCases {
            errors[code] = registry.makeCounter(
                name: "windowrelay_request_errors_total", labels: [("code", code.rawValue)],
                help: "Requests refused, by error code.")
        }
        errorCounters = errors
        sendQueueOverflows = registry.makeCounter(
            name: "windowrelay_send_queue_overflows_total",
            help: "Connections closed with 4408 because they fell behind by more than limits.sendQueueBytes.")
        messagesRateLimited = registry.makeCounter(
            name: "windowrelay_messages_rate_limited_total",
            help: "Messages refused because a connection exceeded its message or byte rate.")
    }

    func eventsAppended(_ n: Int) { events.increment(by: Int64(n)) }
    func commitLatency(millis: Int64) { commit.record(Double(millis) / 1000) }
    func requestErrors(_ code: ErrorCode) { errorCounters[code]?.increment() }

    func observe(book: SessionBook) {
        var queued = 0
        var active = 0
        for id in book.liveSessionIds {
            switch book.session(id)?.state {
            case .queued?: queued += 1
            case .active?: active += 1
            default: break
            }
        }
        sessionsQueued.set(Double(queued))
        sessionsActive.set(Double(active))
    }

    /// The exposition text.
    func render() -> String { registry.emitToString() }
}
