import Dispatch
import Foundation
import RelayCore
import RelayMedia
import RelayStore
import RelayTransport
import Logging

extension Relay {
    /// HTTP routes (PROTOCOL §4, §7, §8). Reads from the store run off the loop; the answer comes
    /// back through the mailbox.
    func routeHTTP(_ exchange: HTTPExchange) {
        let request = exchange.request
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let readOnly = request.method == "GET" || request.method == "HEAD"
        switch segments {
        case ["healthz"] where readOnly:
            exchange.respond(.text(200, "ok\n"))
        case ["readyz"] where readOnly:
            let ready = accepting && !store.isStalled
            exchange.respond(.text(ready ? 200 : 503, ready ? "ready\n" : "not ready\n"))
        case ["metrics"] where readOnly:
            exchange.respond(
                HTTPResponse(
                    status: 200, headers: [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                    body: .bytes(Array(metrics.render().utf8))))
        case _ where segments.count == 4 && segments[0] == "v1" && segments[1] == "sessions" && segments[3] == "record":
            guard readOnly else { return exchange.respond(.problem(405, "method not allowed")) }
            record(exchange, sessionId: segments[2])
        case _ where segments.count >= 2 && segments[0] == "v1" && segments[1] == "ops":
            routeOps(exchange, segments.dropFirst(2))
        case _ where segments.count == 5 && segments[0] == "v1" && segments[1] == "sessions" && segments[3] == "documents":
            guard readOnly else { return exchange.respond(.problem(405, "method not allowed")) }
            downloadDocument(exchange, sessionId: segments[2], documentId: segments[4])
        case ["healthz"], ["readyz"], ["metrics"]:
            exchange.respond(.problem(405, "method not allowed"))
        default:
            exchange.respond(.problem(404, "no route for \(request.method) \(request.path)"))
        }
    }

    /// The identity behind the exchange's bearer token; nil once the exchange was answered 401.
    func authenticated(_ exchange: HTTPExchange) -> Identity? {
        switch bearer(exchange.request) {
        case .success(let identity): return identity
        case .failure(let failure):
            exchange.respond(failure.response)
            return nil
        }
    }

    /// The identity behind `Authorization: Bearer <jwt>`, or the response to send instead.
    func bearer(_ request: HTTPRequest) -> Result<Identity, HTTPFailure> {
        guard let header = request.headers["authorization"], header.lowercased().hasPrefix("bearer ") else {
            return .failure(HTTPFailure(.problem(401, "missing Authorization: Bearer token")))
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        do {
            return .success(try tokens.verify(token, now: wallMillis / 1000).identity)
        } catch {
            return .failure(HTTPFailure(.problem(401, "token refused: \(error)")))
        }
    }

    /// Runs `work` on a background thread and answers on the loop with its response.
    func respondOffLoop(_ exchange: HTTPExchange, _ work: @escaping @Sendable () -> HTTPResponse) {
        let bound = LoopBound(exchange, loop: loop.identity)
        let loop = self.loop
        DispatchQueue.global().async {
            let response = work()
            loop.execute { bound.value.respond(response) }
        }
    }

    private func record(_ exchange: HTTPExchange, sessionId: String) {
        guard let identity = authenticated(exchange) else { return }
        let store = self.store
        respondOffLoop(exchange) {
            do {
                guard let manifest = try store.record(sessionId: sessionId) else {
                    return .problem(404, "no session \(sessionId)")
                }
                guard let view = manifest.view(for: identity) else {
                    return .problem(403, "not a participant of \(sessionId)")
                }
                return .json(200, view)
            } catch {
                return .problem(500, "cannot read the record: \(error)")
            }
        }
    }
}

/// A response to send instead of going on.
struct HTTPFailure: Error {
    var response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}

extension HTTPResponse {
    static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("content-type", "text/plain; charset=utf-8")], body: .bytes(Array(text.utf8)))
    }

    static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("content-type", "application/json")], body: .bytes(value.canonicalBytes))
    }

    /// An error body `{"error": {"status", "message"}}`.
    static func problem(_ status: Int, _ message: String) -> HTTPResponse {
        .json(status, ["error": ["status": .number(Double(status)), "message": .string(message)]])
    }
}
