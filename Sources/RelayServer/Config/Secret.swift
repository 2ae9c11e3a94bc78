import Foundation

extension RelayConfiguration {
    /// HS256 needs a key at least as long as its hash (RFC 7518 §3.2).
    public static let minimumSecretBytes = 32

    /// The HMAC key of the tokens (PROTOCOL §1): `WINDOWRELAY_SECRET` when it was set and non-empty at
    /// load, else the bytes of `auth.secretFile`; trailing white space and newlines removed, not decoded.
    public func loadSecret() throws(ConfigError) -> [UInt8] {
        let source: String
        let raw: [UInt8]
        if let secret = auth.secretFromEnvironment, !secret.isEmpty {
            source = Self.secretVariable
            raw = Array(secret.utf8)
        } else {
            source = auth.secretFile
            do {
                raw = Array(try Data(contentsOf: URL(fileURLWithPath: auth.secretFile)))
            } catch {
                throw .secretUnreadable(file: auth.secretFile, key: "auth.secretFile", reason: Self.reason(error))
            }
        }
        let secret = Self.trimmingTrailingWhiteSpace(raw)
        guard secret.count >= Self.minimumSecretBytes else {
            throw .secretTooShort(source: source, length: secret.count, minimum: Self.minimumSecretBytes)
        }
        return secret
    }

    /// Drops trailing spaces, tabs, carriage returns, newlines, vertical tabs and form feeds.
    static func trimmingTrailingWhiteSpace(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.endIndex
        while end > bytes.startIndex, [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(bytes[end - 1]) {
            end -= 1
        }
        return Array(bytes[..<end])
    }
}
