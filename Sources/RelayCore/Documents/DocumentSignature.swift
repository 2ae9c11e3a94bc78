/// The leading bytes each document type must start with (PROTOCOL §4): the check of an upload's first chunk.
///
/// A type in `docs.allowedTypes` without an entry here is accepted unchecked (an operator's own choice).
public enum DocumentSignature {
    /// MIME type → magic bytes.
    public static let table: [String: [UInt8]] = [
        "application/pdf": Array("%PDF-".utf8),
        "image/jpeg": [0xFF, 0xD8, 0xFF],
        "image/png": [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
        // OFD (GB/T 33190) is a ZIP container: a local file header comes first.
        "application/ofd": [0x50, 0x4B, 0x03, 0x04],
    ]

    /// What the first bytes of a file say about its declared type.
    public enum Verdict: Sendable, Hashable {
        /// They start with the type's signature (or the type has none).
        case matches
        /// They do not: the file is not of the declared type.
        case mismatch
        /// Too few bytes to tell: at least this many are needed in the first chunk.
        case needsMore(Int)
    }

    /// `mime` lower-cased, without parameters (`Application/PDF; x=y` → `application/pdf`).
    public static func normalized(_ mime: String) -> String {
        let bare = mime.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(bare).trimmingSpaces().lowercased()
    }

    /// Checks the leading bytes of a file of `fileSize` bytes declared as `mime`.
    public static func check(mime: String, leading: some Collection<UInt8>, fileSize: Int) -> Verdict {
        guard let signature = table[normalized(mime)] else { return .matches }
        if fileSize < signature.count { return .mismatch }
        if leading.count < signature.count { return .needsMore(signature.count) }
        return leading.prefix(signature.count).elementsEqual(signature) ? .matches : .mismatch
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
            let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(scalars[first...last])
    }
}
