import COpenSSL

/// SHA-256 digests (FIPS 180-4) of whole byte collections, computed by libcrypto.
public enum SHA256 {
    /// The length of a digest in bytes.
    public static let digestLength = 32

    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `bytes` as 64 lowercase hex digits (the form of PROTOCOL §4 and §8).
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        Hex.encode(hash(bytes))
    }
}

/// An incremental SHA-256: feed a large file in chunks, then take the digest.
///
/// Not thread-safe; use it from one thread at a time (it is not `Sendable`).
public final class SHA256Hasher {
    /// The libcrypto `EVP_MD_CTX`, owned by this object and freed in `deinit`.
    private let context: OpaquePointer

    /// A hasher with nothing fed yet.
    public init() {
        guard let context = EVP_MD_CTX_new() else {
            fatalError("libcrypto could not allocate a digest context (out of memory)")
        }
        self.context = context
        reset()
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    /// Feeds `bytes`.
    public func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// Feeds the bytes in `buffer`.
    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let ok = EVP_DigestUpdate(context, base, buffer.count)
        precondition(ok == 1, "EVP_DigestUpdate failed on an initialised SHA-256 context")
    }

    /// The digest of everything fed since creation or the last `finalize()`; the hasher then
    /// starts over, ready for a new message.
    public func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: SHA256.digestLength)
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        precondition(ok == 1 && length == 32, "EVP_DigestFinal_ex failed on an initialised SHA-256 context")
        reset()
        return digest
    }

    private func reset() {
        let ok = EVP_DigestInit_ex(context, EVP_sha256(), nil)
        precondition(ok == 1, "EVP_DigestInit_ex(SHA-256) failed")
    }
}

@available(*, unavailable)
extension SHA256Hasher: Sendable {}
