import Glibc
import RelayCore
import RelayStore
import RelayTransport

extension Relay {
    /// `GET /v1/sessions/{sessionId}/documents/{docId}` (PROTOCOL §4): the bytes of a document to a participant of
    /// its session, streamed from disk. 401 without a valid token, 403 for others (ops included: ops never receive
    /// document bytes), 404 for an unknown session or document; `ETag`, `Range` (206, 416), `If-None-Match` (304).
    func downloadDocument(_ exchange: HTTPExchange, sessionId: String, documentId: String) {
        guard let identity = authenticated(exchange) else { return }
        guard identity.role != .ops else {
            exchange.respond(.problem(403, "operations tokens never receive document bytes"))
            return
        }
        let store = self.store
        let layout = documentStore.layout
        let request = exchange.request
        respondOffLoop(exchange) {
            let events: [SessionEvent]
            do {
                events = try store.events(sessionId: sessionId, afterSeq: 0)
            } catch {
                return .problem(500, "cannot read the record: \(error)")
            }
            guard !events.isEmpty else { return .problem(404, "no session \(sessionId)") }
            let manifest = RecordManifest(session: ["id": .string(sessionId)], events: events)
            guard manifest.mayRead(identity) else { return .problem(403, "not a participant of \(sessionId)") }
            guard
                let document = events.lazy.compactMap(DocumentRecord.init(event:)).first(where: { $0.id == documentId }
                ),
                let path = layout.documentPath(sha256: document.sha256)
            else { return .problem(404, "no document \(documentId) in session \(sessionId)") }
            return Self.documentResponse(document, path: path, request: request)
        }
    }

    /// The response for `document` stored at `path`, honouring `If-None-Match` and `Range`.
    static func documentResponse(_ document: DocumentRecord, path: String, request: HTTPRequest) -> HTTPResponse {
        var info = stat()
        guard stat(path, &info) == 0, Int(info.st_size) == document.size else {
            return .problem(500, "the bytes of document \(document.id) are missing on the server; run record verify")
        }
        let etag = "\"\(document.sha256)\""
        var headers: [(String, String)] = [
            ("etag", etag), ("accept-ranges", "bytes"), ("cache-control", "private, no-cache"),
        ]
        if EntityTag.matches(ifNoneMatch: request.headers["if-none-match"], etag: etag) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers += [
            ("content-type", document.mime), ("x-content-type-options", "nosniff"),
            ("content-disposition", ContentDisposition.attachment(filename: document.name)),
        ]
        switch ByteRange.parse(request.headers["range"], size: document.size) {
        case .whole:
            return HTTPResponse(
                status: 200,
                headers: headers,
                body: .file(path: path, offset: 0, length: Int64(document.size))
            )
        case .partial(let first, let last):
            headers.append(("content-range", "bytes \(first)-\(last)/\(document.size)"))
            return HTTPResponse(
                status: 206,
                headers: headers,
                body: .file(path: path, offset: Int64(first), length: Int64(last - first + 1))
            )
        case .unsatisfiable:
            return HTTPResponse(
                status: 416,
                headers: [("content-range", "bytes */\(document.size)"), ("etag", etag)],
                body: .bytes(Array("range not satisfiable\n".utf8))
            )
        }
    }
}
