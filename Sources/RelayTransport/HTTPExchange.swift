import CLibWebSockets
import Glibc

/// An HTTP request as the transport read it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query, percent-decoding left to the router.
    public var path: String
    public var query: String
    /// Lower-cased names of the headers the relay reads.
    public var headers: [String: String]
    public var body: [UInt8]
    public var peerAddress: String

    public init(
        method: String, path: String, query: String = "", headers: [String: String] = [:], body: [UInt8] = [],
        peerAddress: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peerAddress = peerAddress
    }
}

/// An HTTP response: status, headers and a body from memory or streamed from a file.
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// `length` bytes of the file at `path` from `offset`, read in chunks as the socket takes them.
        case file(path: String, offset: Int64, length: Int64)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// 413 with the relay's JSON error shape.
    static let bodyTooLarge = HTTPResponse(
        status: 413, headers: [("content-type", "application/json")],
        body: .bytes(Array(#"{"error":{"message":"request body too large","status":413}}"#.utf8)))

    public var contentLength: Int64 {
        switch body {
        case .bytes(let b): Int64(b.count)
        case .file(_, _, let length): length
        }
    }
}

/// One HTTP request/response exchange on a connection. Loop-bound.
///
/// The handler answers with `respond` now or later (on the loop); the transport writes the
/// headers and then the body, one write per writable callback, streaming files in chunks.
public final class HTTPExchange {
    public private(set) var request: HTTPRequest
    var wsi: OpaquePointer?
    var response: HTTPResponse?
    var headersSent = false
    var bodySent: Int64 = 0
    var file: Int32 = -1
    let maxBodyBytes: Int
    var bodyTooLarge = false
    /// Handed to the handler already (lws may report a body completion for an empty POST too).
    var dispatched = false

    init(wsi: OpaquePointer, request: HTTPRequest, maxBodyBytes: Int) {
        self.wsi = wsi
        self.request = request
        self.maxBodyBytes = maxBodyBytes
    }

    deinit {
        if file >= 0 { Glibc.close(file) }
    }

    /// True until the connection goes away.
    public var isOpen: Bool { wsi != nil }

    /// Sends `response`. Later calls are ignored.
    public func respond(_ response: HTTPResponse) {
        guard let wsi, self.response == nil else { return }
        var response = response
        if case .file(let path, let offset, _) = response.body {
            file = open(path, O_RDONLY | O_CLOEXEC)
            if file < 0 || lseek(file, off_t(offset), SEEK_SET) < 0 {
                response = HTTPResponse(status: 500, headers: [("content-type", "text/plain")],
                                        body: .bytes(Array("cannot read file\n".utf8)))
            }
        }
        self.response = response
        lws_callback_on_writable(wsi)
    }

    func appendBody(_ piece: UnsafeRawBufferPointer) {
        if request.body.count + piece.count > maxBodyBytes {
            bodyTooLarge = true
            return
        }
        request.body.append(contentsOf: piece)
    }

    /// What the writable callback does after `writeNext`.
    enum Step {
        /// More to write later (writable was requested), or nothing to do yet.
        case more
        /// The response is complete: release the exchange, then complete the HTTP transaction.
        case complete
        /// Close the connection.
        case fail
    }

    /// Writes the next part of the response.
    func writeNext() -> Step {
        guard let wsi, let response else { return .more }
        if !headersSent {
            headersSent = true
            if writeHeaders(wsi, response) != 0 { return .fail }
            if response.contentLength == 0 || request.method == "HEAD" {
                return finish()
            }
            lws_callback_on_writable(wsi)
            return .more
        }
        let remaining = response.contentLength - bodySent
        let chunk = Int(min(remaining, 64 << 10))
        var buffer = [UInt8](repeating: 0, count: OutboundFrame.headroom + chunk)
        let produced: Int = buffer.withUnsafeMutableBytes { raw in
            let dst = raw.baseAddress! + OutboundFrame.headroom
            switch response.body {
            case .bytes(let bytes):
                bytes.withUnsafeBytes { src in
                    dst.copyMemory(from: src.baseAddress! + Int(bodySent), byteCount: chunk)
                }
                return chunk
            case .file:
                var got = 0
                while got < chunk {
                    let n = read(file, dst + got, chunk - got)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    got += n
                }
                return got
            }
        }
        guard produced == chunk else { return .fail }
        bodySent += Int64(chunk)
        let last = bodySent == response.contentLength
        let n = buffer.withUnsafeMutableBufferPointer { p in
            lws_write(wsi, p.baseAddress! + OutboundFrame.headroom, chunk, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP)
        }
        if n < 0 { return .fail }
        if last { return finish() }
        lws_callback_on_writable(wsi)
        return .more
    }

    private func finish() -> Step {
        wsi = nil
        return .complete
    }

    private func writeHeaders(_ wsi: OpaquePointer, _ response: HTTPResponse) -> Int32 {
        var buffer = [UInt8](repeating: 0, count: OutboundFrame.headroom + 4096)
        return buffer.withUnsafeMutableBufferPointer { raw -> Int32 in
            let start = raw.baseAddress! + OutboundFrame.headroom
            let end = raw.baseAddress! + raw.count
            var p: UnsafeMutablePointer<UInt8>? = start
            if lws_add_http_header_status(wsi, UInt32(response.status), &p, end) != 0 { return -1 }
            for (name, value) in response.headers {
                var n = Array(name.lowercased().utf8)
                if n.last != UInt8(ascii: ":") { n.append(UInt8(ascii: ":")) }
                n.append(0)
                let v = Array(value.utf8)
                let rc = v.withUnsafeBufferPointer { vp in
                    lws_add_http_header_by_name(wsi, n, vp.baseAddress, Int32(vp.count), &p, end)
                }
                if rc != 0 { return -1 }
            }
            if lws_add_http_header_content_length(wsi, UInt64(response.contentLength), &p, end) != 0 { return -1 }
            if lws_finalize_http_header(wsi, &p, end) != 0 { return -1 }
            let n = lws_write(wsi, start, start.distance(to: p!), LWS_WRITE_HTTP_HEADERS)
            return n < 0 ? -1 : 0
        }
    }
}

@available(*, unavailable)
extension HTTPExchange: Sendable {}
