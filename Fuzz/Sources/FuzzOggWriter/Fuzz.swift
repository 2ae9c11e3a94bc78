import FuzzDriver
import RelayMedia

/// The Ogg Opus writer on any packets and timestamps: the bytes it returns are always whole
/// pages, and granule positions never decrease.
@main enum Fuzzer {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    var input = UnsafeBufferPointer(start: data, count: size)[...]
    var writer = OggOpusWriter(serial: 1)
    var out: [UInt8] = []
    // Each record: u32 timestamp, u8 length, then that many packet bytes.
    while input.count >= 5 {
        let timestamp = input.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let length = Int(input[input.startIndex + 4])
        input = input.dropFirst(5)
        let packet = Array(input.prefix(length))
        input = input.dropFirst(length)
        out += writer.append(packet: packet, timestamp: timestamp)
    }
    out += writer.finish()
    var offset = 0
    var lastGranule = Int64.min
    while offset < out.count {
        precondition(out.count - offset >= 27 && out[offset] == 0x4F, "not a whole page")
        let segments = Int(out[offset + 26])
        let body = out[(offset + 27)..<(offset + 27 + segments)].reduce(0) { $0 + Int($1) }
        var granule: Int64 = 0
        for i in 0..<8 { granule |= Int64(out[offset + 6 + i]) << (8 * Int64(i)) }
        if granule != -1 {
            precondition(granule >= lastGranule, "granule positions went back")
            lastGranule = granule
        }
        offset += 27 + segments + body
    }
    precondition(offset == out.count, "a page is cut short")
    precondition(OggOpusWriter.pageCount(in: out) >= 3 || out.isEmpty, "headers missing")
    return 0
}
