import RelayCore
import RelayStore
import RelayTransport

extension Relay {
    /// `/v1/ops/…` (PROTOCOL §7), for ops bearer tokens only. Nothing here carries names, values,
    /// chat text or documents: the snapshots are `SessionHealth.opsJSON`.
    func routeOps(_ exchange: HTTPExchange, _ path: ArraySlice<String>) {
        guard let identity = authenticated(exchange) else { return }
        guard identity.role == .ops else { return exchange.respond(.problem(403, "the ops API needs an ops token")) }
        let method = exchange.request.method
        if method == "POST", store.isStalled {
            metrics.requestErrors(.internal)
            return exchange.respond(
                .problem(503, "storage cannot commit right now (disk full?); nothing was changed, try again shortly"))
        }
        switch Array(path) {
        case ["sessions"] where method == "GET":
            let sessions = book.liveSessionIds.compactMap { sessionHealth($0)?.opsJSON }
            exchange.respond(.json(200, ["sessions": .array(sessions)]))
        case let p where p.count == 2 && p[0] == "sessions" && method == "GET":
            guard let health = sessionHealth(p[1]) else { return exchange.respond(.problem(404, "no live session \(p[1])")) }
            exchange.respond(.json(200, health.opsJSON))
        case let p where p.count == 3 && p[0] == "sessions" && p[2] == "end" && method == "POST":
            opsEnd(exchange, sessionId: p[1], by: identity)
        case let p where p.count == 5 && p[0] == "sessions" && p[2] == "participants" && p[4] == "kick" && method == "POST":
            opsKick(exchange, sessionId: p[1], sub: p[3], by: identity)
        default:
            exchange.respond(.problem(404, "no ops route for \(method) \(exchange.request.path)"))
        }
    }

    private func opsEnd(_ exchange: HTTPExchange, sessionId: String, by identity: Identity) {
        let body = exchange.request.body.isEmpty ? JSONValue.object([:]) : ((try? JSONValue.parse(exchange.request.body)) ?? .null)
        guard case .object(let fields) = body else { return exchange.respond(.problem(400, "the body must be a JSON object")) }
        guard let outcome = SessionEndOutcome(rawValue: fields["outcome"]?.stringValue ?? "cancelled") else {
            return exchange.respond(.problem(400, "outcome must be completed, needs_correction or cancelled"))
        }
        let note = fields["note"]?.stringValue
        do {
            try book.admitOpsEnd(sessionId: sessionId, note: note, by: identity)
        } catch {
            return exchange.respond(.problem(Self.status(of: error), error.message))
        }
        // Like `session.end`: the session's recordings are finished and recorded first.
        whenRecordingsFinal(sessionId) { [self] in
            do throws(Refusal) {
                let result = try book.opsEnd(sessionId: sessionId, outcome: outcome, note: note, by: identity, now: wallMillis)
                respondAfter(result, exchange)
            } catch {
                exchange.respond(.problem(Self.status(of: error), error.message))
            }
        }
    }

    private func opsKick(_ exchange: HTTPExchange, sessionId: String, sub: String, by identity: Identity) {
        do {
            let result = try book.opsKick(sessionId: sessionId, sub: sub, by: identity, now: wallMillis)
            respondAfter(result, exchange)
            // The device is closed once the participant.left (kicked) it is owed has been sent.
            let release: (Any?) -> Void = { [self] _ in
                peersBySub[sub]?.connection.close(code: 4403, reason: "removed from the session by ops")
            }
            if outbox.release({ release($0) }) { release(nil) }
        } catch {
            exchange.respond(.problem(Self.status(of: error), error.message))
        }
    }

    /// Applies an ops outcome and answers the HTTP request once it is durable and delivered.
    private func respondAfter(_ outcome: SessionOutcome, _ exchange: HTTPExchange) {
        apply(outcome, for: nil, requestId: nil)
        let answer: (Any?) -> Void = { _ in exchange.respond(.json(200, outcome.result ?? [:])) }
        if outbox.release({ answer($0) }) { answer(nil) }
    }

    static func status(of refusal: Refusal) -> Int {
        switch refusal.code {
        case .notFound: 404
        case .forbidden: 403
        case .unauthorized: 401
        case .invalidState, .conflict: 409
        case .badRequest: 400
        default: 500
        }
    }
}
