import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain loopback TCP socket for tests that misbehave on purpose: half-sent HTTP heads, hand-made WebSocket
/// frames. Non-blocking reads; the test decides how long to wait.
final class RawSocket {
    let fd: Int32
    private(set) var received: [UInt8] = []

    init(port: Int) throws {
        fd = try connectLoopback(port: port)
    }

    deinit { close(fd) }

    /// Sends all of `bytes`; false when the peer has closed or reset the connection.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Reads what is there without waiting; true once the peer has closed (or reset) the connection.
    func drainAndCheckClosed() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 {
                received.append(contentsOf: buffer[0..<n])
                continue
            }
            if n == 0 { return true }
            return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
        }
    }

    /// Waits up to `seconds` for the peer to close, reading what arrives; true when it did.
    func awaitClose(within seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if drainAndCheckClosed() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return drainAndCheckClosed()
    }

    /// Waits up to `seconds` until `received` satisfies `done`; true when it did.
    func awaitReceived(within seconds: Double, until done: ([UInt8]) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let closed = drainAndCheckClosed()
            if done(received) { return true }
            if closed { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return done(received)
    }

    /// The HTTP status of a response head in `received`, once one is there.
    var httpStatus: Int? {
        let text = String(decoding: received.prefix(64), as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let line = text.split(separator: "\r\n").first else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    /// A masked client WebSocket frame (RFC 6455 §5.2), FIN set, payload under 64 KiB.
    static func clientFrame(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    /// The WebSocket upgrade request for `/v1/ws`.
    static let upgradeRequest =
        "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
}
