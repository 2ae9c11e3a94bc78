/// The Ogg page checksum (RFC 3533 §6): CRC-32, polynomial 0x04C11DB7, initial value 0,
/// no bit reflection, no final XOR, over the page with its checksum field zeroed.
enum OggCRC {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var r = UInt32(i) << 24
        for _ in 0..<8 {
            r = r & 0x8000_0000 != 0 ? (r << 1) ^ 0x04C1_1DB7 : r << 1
        }
        return r
    }

    /// Slicing-by-8 tables, 8 × 256 in one array: entry `k * 256 + i` is the checksum of byte `i`
    /// followed by `k` zero bytes, so eight bytes are folded in with eight lookups and no
    /// dependency between them (a page is up to ~4 KiB, and the recorder checksums every page).
    static let slices: [UInt32] = {
        var t = table + [UInt32](repeating: 0, count: 7 * 256)
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous << 8) ^ table[Int(previous >> 24)]
            }
        }
        return t
    }()

    /// The checksum of `bytes`, continuing from `crc`.
    static func update(_ crc: UInt32, _ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = crc
        table.withUnsafeBufferPointer { table in
            for b in bytes {
                crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 24) ^ b)]
            }
        }
        return crc
    }

    /// `update` over contiguous bytes, eight at a time (every page the recorder writes).
    static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { bytes in
            slices.withUnsafeBufferPointer { t in
                var crc = crc
                var i = 0
                while i + 8 <= bytes.count {
                    let high = crc ^ (UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16
                        | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3]))
                    crc = t[7 * 256 + Int(high >> 24)] ^ t[6 * 256 + Int((high >> 16) & 0xFF)]
                        ^ t[5 * 256 + Int((high >> 8) & 0xFF)] ^ t[4 * 256 + Int(high & 0xFF)]
                        ^ t[3 * 256 + Int(bytes[i + 4])] ^ t[2 * 256 + Int(bytes[i + 5])]
                        ^ t[256 + Int(bytes[i + 6])] ^ t[Int(bytes[i + 7])]
                    i += 8
                }
                while i < bytes.count {
                    crc = (crc << 8) ^ t[Int(UInt8(truncatingIfNeeded: crc >> 24) ^ bytes[i])]
                    i += 1
                }
                return crc
            }
        }
    }
}

/// One Ogg page (RFC 3533 §6) being built: header fields, lacing values and body.
struct OggPage {
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let continued = Flags(rawValue: 0x01)
        static let beginOfStream = Flags(rawValue: 0x02)
        static let endOfStream = Flags(rawValue: 0x04)
    }

    /// Size of the fixed header before the segment table.
    static let headerSize = 27
    /// Offset of the CRC field in the header.
    static let crcOffset = 22
    static let capturePattern: [UInt8] = Array("OggS".utf8)

    var flags: Flags = []
    var granule: Int64
    var serial: UInt32
    var sequence: UInt32
    var segments: [UInt8] = []
    var body: [UInt8] = []

    /// Adds a whole packet to the page: its lacing values (255s, then the rest, possibly 0) and its bytes.
    mutating func append(packet: some Collection<UInt8>) {
        let length = packet.count
        for _ in 0..<length / 255 { segments.append(255) }
        segments.append(UInt8(length % 255))
        body.append(contentsOf: packet)
    }

    /// Empties the page for the next one of the same stream, keeping its buffers' capacity.
    mutating func reset() {
        flags = []
        granule = 0
        sequence = 0
        segments.removeAll(keepingCapacity: true)
        body.removeAll(keepingCapacity: true)
    }

    /// The page as bytes, checksum filled in.
    var bytes: [UInt8] {
        precondition(segments.count <= 255, "an Ogg page holds at most 255 segments")
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerSize + segments.count + body.count)
        out += Self.capturePattern
        out.append(0)  // stream structure version
        out.append(flags.rawValue)
        out.appendLittleEndian(UInt64(bitPattern: granule))
        out.appendLittleEndian(serial)
        out.appendLittleEndian(sequence)
        out.appendLittleEndian(UInt32(0))  // checksum, filled below
        out.append(UInt8(segments.count))
        out += segments
        out += body
        let crc = OggCRC.update(0, out)
        withUnsafeBytes(of: crc.littleEndian) { out.replaceSubrange(Self.crcOffset..<Self.crcOffset + 4, with: $0) }
        return out
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value = T.zero
        for i in (0..<MemoryLayout<T>.size).reversed() {
            value = value << 8 | T(self[offset + i])
        }
        return value
    }
}
