internal import GRDB

/// Why the event store could not do what was asked, with what the operator can do about it.
public enum StoreError: Error, Sendable, Hashable {
    /// The store was closed (the server is shutting down); nothing more is written or read.
    case closed
    /// The data directory could not be created or opened.
    case dataDirectory(path: String, reason: String)
    /// The disk (or the database's size limit) is full: SQLite's `SQLITE_FULL`. Nothing of the batch was stored.
    case diskFull(message: String)
    /// An event with this `(sessionId, seq)` is already stored: the caller's sequence is behind the store.
    case duplicateEvent(sessionId: String, seq: Int)
    /// An event's `data` could not be turned into JSON text, or stored text back into `data`.
    case invalidData(sessionId: String, seq: Int, reason: String)
    /// Any other database failure. `code`/`extendedCode` are SQLite result codes for the SQLite backend.
    case database(code: Int32, extendedCode: Int32, message: String)

    /// True when the failure means "out of space": callers stop accepting new events and alert.
    public var isDiskFull: Bool {
        if case .diskFull = self { return true }
        return false
    }
}

extension StoreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .closed:
            return "the event store is closed (the server is shutting down); retry against the restarted server"
        case .dataDirectory(let path, let reason):
            return "cannot use data directory \(path): \(reason); check that it exists or can be created "
                + "and is writable by the server's user (storage.dataDir)"
        case .diskFull(let message):
            return "the disk under storage.dataDir is full (\(message)); free space, then retry: "
                + "nothing of the failed batch was stored"
        case .duplicateEvent(let sessionId, let seq):
            return "event \(seq) of session \(sessionId) is already stored; the in-memory sequence is behind the "
                + "store, restart the server to reload its sessions"
        case .invalidData(let sessionId, let seq, let reason):
            return "event \(seq) of session \(sessionId) has data that cannot be JSON text (\(reason)); "
                + "a server bug (NaN or infinite number) when storing, a damaged database when reading: report it"
        case .database(let code, let extendedCode, let message):
            return "database error \(code) (extended \(extendedCode)): \(message); see the server log, "
                + "and check the disk and storage.dataDir"
        }
    }
}

extension StoreError {
    /// Maps any error thrown by GRDB (or by our own code) to a `StoreError`.
    init(_ error: any Error) {
        switch error {
        case let storeError as StoreError:
            self = storeError
        case let dbError as DatabaseError:
            let message = dbError.message ?? "\(dbError.resultCode)"
            if dbError.resultCode == .SQLITE_FULL {
                self = .diskFull(message: message)
            } else {
                self = .database(
                    code: dbError.resultCode.rawValue,
                    extendedCode: dbError.extendedResultCode.rawValue,
                    message: message
                )
            }
        default:
            self = .database(code: 1, extendedCode: 1, message: "\(error)")
        }
    }
}
