public import RelayTransport

/// Which server a load run measures, and how its sessions map onto that server's rooms.
///
/// - `windowrelay`: the relay, with the whole protocol set-up (hello, session, audio tracks).
/// - `cRelay`: bench/c-relay, a plain libwebsockets relay: one room per session at `/room/<n>`,
///   each binary message forwarded to the room's other members. No set-up beyond connecting.
/// - `lwsMirror`: Debian's libwebsockets-test-server, `lws-mirror-protocol` at `/?mirror=NAME`:
///   at most 3 rooms, every message to every member including the sender, always as text.
public enum LoadTarget: String, Sendable, CaseIterable {
    case windowrelay
    case cRelay = "c-relay"
    case lwsMirror = "lws-mirror"

    /// libwebsockets-test-server refuses a 4th mirror room.
    public static let mirrorRooms = 3
    public static let mirrorSubprotocol = "lws-mirror-protocol"

    /// The room of session `session` (its global number). `windowrelay` has no rooms: the session's own.
    public func room(ofSession session: Int) -> Int {
        self == .lwsMirror ? session % Self.mirrorRooms : session
    }

    /// Deliveries each packet is owed: the other parties of its session, or with the mirror every
    /// member of the room (all parties of the sessions mapped onto it) including the sender.
    /// `sessions` must satisfy `check(sessions:)`, so every room holds as many sessions.
    public func receiversPerPacket(sessions: Int, parties: Int) -> Int {
        guard self == .lwsMirror else { return parties - 1 }
        return parties * max(1, sessions / Self.mirrorRooms)
    }

    /// Whether a speaker receives its own packets back.
    public var echoesToSender: Bool { self == .lwsMirror }

    /// Why `sessions` cannot be run against this target, nil when they can.
    public func check(sessions: Int, loops: Int) -> String? {
        guard self == .lwsMirror else { return nil }
        if sessions > Self.mirrorRooms && sessions % Self.mirrorRooms != 0 {
            return "lws-mirror has 3 rooms: sessions must be 1, 2 or a multiple of 3 (equal rooms)"
        }
        if loops != 1 { return "lws-mirror rooms span sessions: use one client loop" }
        return nil
    }

    /// Where party connections of session `session` go, given the relay's endpoint.
    public func endpoint(session: Int, base: ClientEndpoint) -> ClientEndpoint {
        var endpoint = base
        switch self {
        case .windowrelay:
            break
        case .cRelay:
            endpoint.path = "/room/\(room(ofSession: session))"
        case .lwsMirror:
            endpoint.path = "/?mirror=wr\(room(ofSession: session))"
            endpoint.subprotocol = Self.mirrorSubprotocol
        }
        return endpoint
    }
}

/// The audio frame as the mirror carries it: the mirror sends every message as text, and a text
/// message must be UTF-8, so the 9-byte header `0x01|track|seq|timestamp` goes as 18 hex digits and
/// the Opus payload as base64 after it (about 1.4 times the binary frame's size).
public enum MirrorAudioText {
    /// The text frame for one packet; `payload` is the packet's base64, computed once per packet.
    public static func encode(track: UInt16, seq: UInt16, timestamp: UInt32, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(18 + payload.count)
        hex(0x01, digits: 2, into: &out)
        hex(UInt32(track), digits: 4, into: &out)
        hex(UInt32(seq), digits: 4, into: &out)
        hex(timestamp, digits: 8, into: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// Track and sequence number of a frame made by `encode`, nil for anything else.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> (track: UInt16, seq: UInt16)? {
        guard bytes.count >= 18, value(bytes, 0, 2) == 0x01,
            let track = value(bytes, 2, 4), let seq = value(bytes, 6, 4)
        else { return nil }
        return (UInt16(track), UInt16(seq))
    }

    /// Standard base64 (RFC 4648, with padding) of `bytes`.
    public static func base64(_ bytes: [UInt8]) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var chunk = UInt32(bytes[i]) << 16
            if n > 1 { chunk |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { chunk |= UInt32(bytes[i + 2]) }
            for k in 0..<4 {
                out.append(k <= n ? alphabet[Int(chunk >> UInt32(18 - 6 * k) & 0x3F)] : UInt8(ascii: "="))
            }
            i += 3
        }
        return out
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func hex(_ value: UInt32, digits count: Int, into out: inout [UInt8]) {
        for k in stride(from: count - 1, through: 0, by: -1) {
            out.append(digits[Int(value >> UInt32(4 * k) & 0xF)])
        }
    }

    private static func value(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> UInt32? {
        var result: UInt32 = 0
        for byte in bytes[start..<start + count] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            result = result << 4 | UInt32(digit)
        }
        return result
    }
}

/// The audio frame the generator sends, `0x01 | track | seq | timestamp | Opus` (PROTOCOL §6).
public enum LoadFrame {
    /// A binary frame for one packet.
    public static func binary(track: UInt16, seq: UInt16, timestamp: UInt32, packet: [UInt8]) -> OutboundFrame {
        OutboundFrame(count: 9 + packet.count, binary: true) { out in
            out[0] = 0x01
            out.storeBytes(of: track.bigEndian, toByteOffset: 1, as: UInt16.self)
            out.storeBytes(of: seq.bigEndian, toByteOffset: 3, as: UInt16.self)
            out.storeBytes(of: timestamp.bigEndian, toByteOffset: 5, as: UInt32.self)
            packet.withUnsafeBytes {
                out.baseAddress!.advanced(by: 9).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
            }
        }
    }

    /// Track and sequence number of a delivered frame: binary, or with `mirror` the mirror's text
    /// form (`MirrorAudioText`); nil for anything else.
    public static func header(
        _ bytes: UnsafeRawBufferPointer, binary: Bool, mirror: Bool
    ) -> (track: UInt16, seq: UInt16)? {
        guard binary else { return mirror ? MirrorAudioText.decode(bytes) : nil }
        guard bytes.count > 9, bytes[0] == 0x01 else { return nil }
        return (UInt16(bytes[1]) << 8 | UInt16(bytes[2]), UInt16(bytes[3]) << 8 | UInt16(bytes[4]))
    }
}
