import Foundation
import Glibc

/// Where document bytes live under `storage.dataDir`: finished documents by content
/// (`documents/<sha256>`), partial uploads by upload id (`uploads/<id>.part`).
///
/// A display name never becomes part of a path: paths are made from a checked SHA-256 or a number only.
public struct DocumentLayout: Sendable, Hashable {
    public let dataDirectory: String

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    public var documentsDirectory: String { dataDirectory + "/documents" }
    public var uploadsDirectory: String { dataDirectory + "/uploads" }

    /// The file of a finished document; nil unless `sha256` is 64 lowercase hex digits.
    public func documentPath(sha256: String) -> String? {
        guard Self.isDigest(sha256) else { return nil }
        return documentsDirectory + "/" + sha256
    }

    /// The partial file of upload `id`.
    public func partialPath(upload id: UInt32) -> String {
        uploadsDirectory + "/\(id).part"
    }

    /// The upload id of a partial file's name (`17.part` → 17).
    static func uploadId(ofPartialName name: String) -> UInt32? {
        guard name.hasSuffix(".part") else { return nil }
        let digits = name.dropLast(5)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return UInt32(digits)
    }

    /// True for 64 lowercase hex digits.
    public static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Creates both folders (mode 0700) if they are missing.
    func prepare() throws(DocumentStoreError) {
        for path in [documentsDirectory, uploadsDirectory] {
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw DocumentStoreError.io(operation: "create folder", path: path, errno: errno)
            }
        }
    }
}

/// Why a document operation failed, with what the operator can do about it.
public enum DocumentStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The document store was closed (the server is stopping).
    case closed
    /// A file operation failed with `errno`.
    case io(operation: String, path: String, errno: Int32)
    /// The partial file holds fewer bytes than the upload has accepted (lost after a crash).
    case missingBytes(path: String, onDisk: Int, expected: Int)
    /// The upload table could not be written or read.
    case database(StoreError)

    public var description: String {
        switch self {
        case .closed:
            return "the document store is closed (the server is stopping); resume the upload after the restart"
        case .io(let operation, let path, let code):
            let text = String(cString: strerror(code))
            let hint = code == ENOSPC ? "free space under storage.dataDir" : "check storage.dataDir and its permissions"
            return "cannot \(operation) \(path): \(text); \(hint)"
        case .missingBytes(let path, let onDisk, let expected):
            return "\(path) holds \(onDisk) bytes, fewer than the \(expected) accepted; offer the document again"
        case .database(let error):
            return "upload table: \(error)"
        }
    }

    /// True when the disk is full.
    public var isDiskFull: Bool {
        if case .io(_, _, let code) = self { return code == ENOSPC || code == EDQUOT }
        if case .database(let error) = self { return error.isDiskFull }
        return false
    }
}
