import FuzzDriver
import RelayServer

/// The YAML configuration loader on any text: a configuration or a `ConfigError` that names what
/// is wrong, never a crash.
@main enum Fuzzer {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try RelayConfiguration.load(yaml: text, path: "fuzz.yaml", environment: [:])
    } catch {
        precondition(!error.description.isEmpty, "an error without a message")
    }
    return 0
}
