import COpenSSL

/// HMAC-SHA256 (RFC 2104) message authentication codes, computed by libcrypto.
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key`.
    public static func authenticate(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        let key = Array(key)
        let message = Array(message)
        var mac = [UInt8](repeating: 0, count: SHA256.digestLength)
        var length: UInt32 = 0
        // A zero-length array may have no storage; libcrypto wants real pointers.
        let dummy: [UInt8] = [0]
        let result = (key.isEmpty ? dummy : key).withUnsafeBytes { keyBuffer in
            (message.isEmpty ? dummy : message).withUnsafeBufferPointer { messageBuffer in
                mac.withUnsafeMutableBufferPointer { macBuffer in
                    HMAC(
                        EVP_sha256(), keyBuffer.baseAddress, Int32(key.count),
                        messageBuffer.baseAddress, message.count,
                        macBuffer.baseAddress, &length
                    )
                }
            }
        }
        precondition(result != nil && length == 32, "libcrypto HMAC-SHA256 failed")
        return mac
    }
}

/// Comparisons whose running time does not depend on where two secrets differ.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes, compared with `CRYPTO_memcmp`.
    ///
    /// Lengths are not secret: different lengths return `false` at once.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let a = Array(a)
        let b = Array(b)
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }
}
