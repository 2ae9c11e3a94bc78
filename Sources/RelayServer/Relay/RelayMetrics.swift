import Prometheus
import Foundation
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
    private let queues: [String: (waiting: Gauge, oldest: Gauge)]
    private let sessionGrades: [Grade: Gauge]
    private let jitter: ValueHistogram
    let recordingBytes: Counter
    let signals: Counter
    /// In `AudioResult.allCases` order: an array, not a dictionary, because it is counted per packet.
    private let audio: [Counter]

    /// What happened to an audio packet.
    enum AudioResult: String, CaseIterable {
        /// Accepted from a sender (its track, a valid Opus packet): the packets in.
        case received
        /// Delivered into a receiver's queue (one per receiver).
        case forwarded
        /// Refused: not the sender's track, or libopus rejects it.
        case invalid
        /// Dropped from a slow receiver's queue, oldest first.
        case dropped

        /// The position in `allCases`.
        var index: Int {
            switch self {
            case .received: 0
            case .forwarded: 1
            case .invalid: 2
            case .dropped: 3
            }
        }
    }
    let messagesRateLimited: Counter
    private let documentBytes: Counter
    private let documentsAvailable: Counter
    private let documentsFailed: Counter
    let uploadPauses: Counter

    init(units: [String]) {
        let r = registry
        let waitingName = MetricNameDescriptor.relay("queue_waiting", help: "Sessions waiting in a unit's queue.")
        let oldestName = MetricNameDescriptor.relay(
            "queue_oldest_wait_seconds", help: "How long the oldest waiting session of a unit has waited.")
        var queues: [String: (waiting: Gauge, oldest: Gauge)] = [:]
        for unit in units {
            queues[unit] = (
                r.makeGauge(descriptor: waitingName, labels: [("unit", unit)]),
                r.makeGauge(descriptor: oldestName, labels: [("unit", unit)])
            )
        }
        self.queues = queues
        let gradeName = MetricNameDescriptor.relay("session_grade", help: "Live sessions by health grade (PROTOCOL §7).")
        var grades: [Grade: Gauge] = [:]
        for grade in Grade.allCases { grades[grade] = r.makeGauge(descriptor: gradeName, labels: [("grade", grade.rawValue)]) }
        sessionGrades = grades
        jitter = r.makeValueHistogram(
            descriptor: .relay("track_jitter_seconds", help: "Interarrival jitter of live audio tracks, sampled each second."),
            buckets: [0.002, 0.005, 0.01, 0.02, 0.03, 0.06, 0.1, 0.2])
        recordingBytes = r.makeCounter(descriptor: .relay("recording_bytes_total", help: "Bytes of finished recordings."))
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
        signals = r.makeCounter(
            descriptor: .relay("signals_total", help: "WebRTC signalling messages relayed (signal)."))
        let audioPackets = MetricNameDescriptor.relay(
            "audio_packets_total", help: "Audio packets: received (accepted in), forwarded (out, per receiver), invalid (refused), dropped (slow receiver).")
        audio = AudioResult.allCases.map { r.makeCounter(descriptor: audioPackets, labels: [("result", $0.rawValue)]) }
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

    func audioPackets(_ result: AudioResult, _ n: Int) {
        if n > 0 { audio[result.index].increment(by: Int64(n)) }
    }

    func eventsAppended(_ n: Int) { events.increment(by: Int64(n)) }
    func commitLatency(millis: Int64) { commit.record(Double(millis) / 1000) }
    func requestErrors(_ code: ErrorCode) { errorCounters[code]?.increment() }
    func documentBytesReceived(_ n: Int) { documentBytes.increment(by: Int64(n)) }
    func documentFinished(available: Bool) { (available ? documentsAvailable : documentsFailed).increment() }

    func observe(book: SessionBook, health: [SessionHealth], tracks: [TrackStats]) {
        for (unit, gauges) in queues {
            let waiting = book.liveSessionIds.compactMap { book.session($0) }.flatMap(\.waiting).filter { $0.unit == unit }
            gauges.waiting.set(Double(waiting.count))
            let oldest = waiting.map(\.since).min()
            gauges.oldest.set(oldest.map { Double(Timestamp.millis(Date()) - $0) / 1000 } ?? 0)
        }
        var byGrade: [Grade: Int] = [:]
        for h in health { byGrade[h.grade, default: 0] += 1 }
        for (grade, gauge) in sessionGrades { gauge.set(Double(byGrade[grade] ?? 0)) }
        for stats in tracks where stats.packets > 0 { jitter.record(stats.jitterMs / 1000) }
        observeStates(book: book)
    }

    private func observeStates(book: SessionBook) {
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
