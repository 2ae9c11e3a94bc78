import FuzzDriver
import RelayCore

/// Incoming JSON (strict RFC 8259) and the session requests decoded from it: never a crash, and
/// whatever parses serialises to canonical JSON that parses back to the same value.
@main enum Fuzzer {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let value = try? JSONValue.parse(bytes) else { return 0 }
    let canonical = value.canonicalBytes
    precondition((try? JSONValue.parse(canonical))?.canonicalBytes == canonical, "canonical JSON does not round-trip")
    if case .object(let body) = value, let type = body["type"]?.stringValue {
        _ = try? SessionRequest.parse(type: type, body: body)
    }
    return 0
}
