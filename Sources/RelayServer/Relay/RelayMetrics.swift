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
    private let documentBytes: Counter
    private let documentsAvailable: Counter
    private let documentsFailed: Counter
    let uploadPauses: Counter

    init() {
        let r = registry
        connections = r.makeGauge(
            descriptor: .relay("connections", help: "Open WebSocket connections (before and after hello)."))
        rtt = r.makeValueHistogram(
            descriptor: .relay("rtt_seconds", help: "Round-trip time from the server's WebSocket pings."),
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.3, 0.6, 1, 2.5])
        events = r.makeCounter(descriptor: .relay("events_total", help: "Session events appended to the record."))
        commit = r.makeValueHistogram(
            descriptor: .relay(
                "store_commit_seconds",
                help: "Time from handing a batch to the store writer to its commit being seen on the loop."),
            buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1])
        let sessions = MetricNameDescriptor.relay("sessions", help: "Live sessions by state.")
        sessionsQueued = r.makeGauge(descriptor: sessions, labels: [("state", "queued")])
        sessionsActive = r.makeGauge(descriptor: sessions, labels: [("state", "active")])
        let refused = MetricNameDescriptor.relay("request_errors_total", help: "Requests refused, by error code.")
        var errors: [ErrorCode: Counter] = [:]
        for code in ErrorCode.allCases {
            errors[code] = r.makeCounter(descriptor: refused, labels: [("code", code.rawValue)])
        }
        errorCounters = errors
        sendQueueOverflows = r.makeCounter(
            descriptor: .relay(
                "send_queue_overflows_total",
                help: "Connections closed with 4408 because they fell behind by more than limits.sendQueueBytes."))
        messagesRateLimited = r.makeCounter(
            descriptor: .relay(
                "messages_rate_limited_total",
                help: "Messages refused because a connection exceeded its message or byte rate."))
        documentBytes = r.makeCounter(
            descriptor: .relay("document_bytes_total", help: "Document bytes accepted from upload chunks."))
        let documents = MetricNameDescriptor.relay(
            "documents_total", help: "Uploads that ended, by result (available, or failed with doc.failed).")
        documentsAvailable = r.makeCounter(descriptor: documents, labels: [("result", "available")])
        documentsFailed = r.makeCounter(descriptor: documents, labels: [("result", "failed")])
        uploadPauses = r.makeCounter(
            descriptor: .relay(
                "upload_pauses_total",
                help: "Times an uploader's connection stopped being read (writer backlog or upload rate)."))
    }

    func eventsAppended(_ n: Int) { events.increment(by: Int64(n)) }
    func commitLatency(millis: Int64) { commit.record(Double(millis) / 1000) }
    func requestErrors(_ code: ErrorCode) { errorCounters[code]?.increment() }
    func documentBytesReceived(_ n: Int) { documentBytes.increment(by: Int64(n)) }
    func documentFinished(available: Bool) { (available ? documentsAvailable : documentsFailed).increment() }

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

extension MetricNameDescriptor {
    /// A `windowrelay_` metric.
    fileprivate static func relay(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "windowrelay", metricName: name, unitName: "", helpText: help)
    }
}
