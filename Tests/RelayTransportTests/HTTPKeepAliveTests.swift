import Dispatch
import Foundation
import Glibc
import Logging
import RelayTransport
import Testing

/// Answers every HTTP request with `ok` and remembers each exchange weakly.
///
/// `@unchecked Sendable`: its state is touched only on the service thread (through `loop.execute`).
private final class CountingHandler: TransportHandler, @unchecked Sendable {
    private struct WeakExchange {
        weak var value: HTTPExchange?
    }

    private var exchanges: [WeakExchange] = []

    var seen: Int { exchanges.count }
    var alive: Int { exchanges.filter { $0.value != nil }.count }

    func webSocketOpened(_ connection: WebSocketConnection, tag: UInt64) {}
    func webSocket(_ connection: WebSocketConnection, received message: UnsafeRawBufferPointer, binary: Bool) {}
    func webSocketClosed(_ connection: WebSocketConnection) {}

    func httpRequest(_ exchange: HTTPExchange) {
        exchanges.append(WeakExchange(value: exchange))
        let body = HTTPResponse.Body.bytes(Array("ok\n".utf8))
        exchange.respond(HTTPResponse(status: 200, headers: [("content-type", "text/plain")], body: body))
    }
}

/// One keep-alive HTTP/1.1 connection on loopback that sends requests one after another.
private struct KeepAliveClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard fd >= 0, rc == 0 else { throw KeepAliveError("cannot connect to port \(port)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends `GET path` on the open connection and returns the whole response (headers and the 3-byte body).
    func get(_ path: String) throws -> String {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw KeepAliveError("send failed")
        }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: data, as: UTF8.self).hasSuffix("\r\n\r\nok\n") {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw KeepAliveError("connection closed after \(data.count) bytes") }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    func close() { _ = Glibc.close(fd) }
}

private struct KeepAliveError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("HTTP exchanges on a keep-alive connection")
struct HTTPKeepAliveTests {
    @Test func everyCompletedExchangeIsReleasedAndTheConnectionServesTheNextRequest() throws {
        let handler = CountingHandler()
        let listen = ListenConfiguration(host: "127.0.0.1", port: 0)
        let logger = Logger(label: "keep-alive-test")
        let loop = ServiceLoop(listen: listen, limits: ConnectionLimits(), logger: logger)
        let port = try loop.start(handler: handler)
        defer { loop.stop() }

        let client = try KeepAliveClient(port: port)
        defer { client.close() }
        for i in 0..<50 {
            let response = try client.get("/r\(i)")
            #expect(response.hasPrefix("HTTP/1.1 200"))
        }

        // Ask the loop, which owns the exchanges, once every response has been read.
        let counted = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var seen = 0
        nonisolated(unsafe) var alive = 0
        loop.execute {
            seen = handler.seen
            alive = handler.alive
            counted.signal()
        }
        counted.wait()
        #expect(seen == 50)
        // lws frees the connection's user area when a keep-alive transaction completes: an exchange
        // still held there after its response would leak (or be released through freed memory).
        #expect(alive == 0)
    }
}
