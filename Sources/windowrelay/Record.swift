import ArgumentParser
import Foundation
import Logging
import RelayCore
import RelayMedia
import RelayServer
import RelayStore

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check or export a session's record.",
        subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute a session's hash chain from the store and check its documents' bytes.",
            discussion: """
                Exit 0 when the chain holds and every document announced in it is stored with its SHA-256; 1 with \
                the first bad seq or the documents that are missing or changed otherwise; 2 when the session is \
                unknown.
                """
        )

        @Argument(help: "The session id (s_…).") var session: String
        @OptionGroup var options: ConfigOption

        func run() throws {
            let configuration: RelayConfiguration
            do {
                configuration = try RelayConfiguration.load(
                    path: options.config, environment: ProcessInfo.processInfo.environment)
            } catch {
                throw Failure("windowrelay: \(error)")
            }
            let store: RelayStore
            do {
                store = try RelayStore(dataDirectory: configuration.storage.dataDir, logger: Logger(label: "windowrelay"))
            } catch {
                throw Failure("windowrelay: cannot open the store: \(error)")
            }
            defer { store.close() }
            let events = try store.events(sessionId: session, afterSeq: 0)
            guard !events.isEmpty else {
                FileHandle.standardError.write(Data("windowrelay: no record for session \(session)\n".utf8))
                throw ExitCode(2)
            }
            switch RecordChain(sha256: { SHA256.hash($0) }).verify(events) {
            case .ok(let head):
                let layout = DocumentLayout(dataDirectory: configuration.storage.dataDir)
                let documents = events.compactMap(DocumentRecord.init(event:))
                let problems = documents.compactMap { DocumentCheck.problem(with: $0, layout: layout) }
                for problem in problems {
                    FileHandle.standardError.write(Data("windowrelay: \(session): \(problem)\n".utf8))
                }
                if !problems.isEmpty { throw ExitCode(1) }
                let noun = documents.count == 1 ? "document" : "documents"
                print("ok \(session): \(events.count) events, head \(head); \(documents.count) \(noun) intact")
            case .broken(let seq, let reason):
                FileHandle.standardError.write(Data("windowrelay: \(session): chain broken at seq \(seq): \(reason)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// Checks a document's stored bytes against the SHA-256 its `doc.available` event recorded.
enum DocumentCheck {
    /// What is wrong with `document`'s file, or nil when it is intact. Reads the file in 1 MiB pieces.
    static func problem(with document: DocumentRecord, layout: DocumentLayout) -> String? {
        guard let path = layout.documentPath(sha256: document.sha256) else {
            return "document \(document.id) has an invalid sha256 in the record"
        }
        guard let file = FileHandle(forReadingAtPath: path) else {
            return "document \(document.id) is missing (\(path))"
        }
        defer { try? file.close() }
        let hasher = SHA256Hasher()
        var size = 0
        while let piece = try? file.read(upToCount: 1 << 20), !piece.isEmpty {
            hasher.update(piece)
            size += piece.count
        }
        let actual = Hex.encode(hasher.finalize())
        guard size == document.size, actual == document.sha256 else {
            return "document \(document.id) has changed: \(size) bytes with SHA-256 \(actual), "
                + "the record says \(document.size) bytes with \(document.sha256)"
        }
        return nil
    }
}
