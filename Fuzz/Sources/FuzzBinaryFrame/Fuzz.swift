import FuzzDriver
import RelayCore

/// Binary frames (PROTOCOL §4, §6): parsing any bytes either succeeds or throws a typed error, and
/// what parses encodes back to the same bytes.
@main enum Fuzzer {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let frame = try? BinaryFrame.parse(bytes) else { return 0 }
    if case .audio(let header, let payload) = frame {
        let again = try? BinaryFrame.encodeAudio(header, payload: Array(bytes[payload]))
        precondition(again == Array(bytes), "an audio frame does not survive parse and encode")
    }
    return 0
}
