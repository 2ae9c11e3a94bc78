import FuzzDriver
import RelayMedia

/// JWT verification (PROTOCOL §1) on any text: refused with a typed error or accepted, never a
/// crash; and a token is accepted only if its signature is right, so random input never is.
let authority = TokenAuthority(secret: Array("fuzzing-secret-fuzzing-secret-0123456789".utf8))

@main enum Fuzzer {
    static func main() { runLibFuzzer(fuzz) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let claims = try? authority.verify(text, now: 1_800_000_000) {
        // Only possible for a token signed with the secret, which random bytes cannot forge.
        precondition(authority.sign(claims).isEmpty == false)
    }
    return 0
}
