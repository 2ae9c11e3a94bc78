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
        subcommands: [Verify.self, Export.self]
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
            let (configuration, store) = try options.openStore()
            defer { store.close() }
            let events = try store.events(sessionId: session, afterSeq: 0)
            guard !events.isEmpty else {
                FileHandle.standardError.write(Data("windowrelay: no record for session \(session)\n".utf8))
                throw ExitCode(2)
            }
            var problems: [String] = []
            for track in RecordManifest(session: .null, events: events).recordedTracks {
                guard let file = track["file"]?.stringValue, let sha = track["sha256"]?.stringValue else { continue }
                let path = configuration.storage.dataDir + "/" + file
                guard let data = FileManager.default.contents(atPath: path) else {
                    problems.append("recording \(file) is missing")
                    continue
                }
                if SHA256.hex(Array(data)) != sha { problems.append("recording \(file) does not match its sha256") }
            }
            if !problems.isEmpty {
                FileHandle.standardError.write(Data("windowrelay: \(session): \(problems.joined(separator: "; "))\n".utf8))
                throw ExitCode(1)
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

extension Record {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a session's record to a folder: manifest.json, its audio recordings and its documents.",
            discussion: "The manifest is the full (unredacted) record; files keep their names under the folder."
        )

        @Argument(help: "The session id (s_…).") var session: String
        @Option(help: "The folder to write (created if missing).") var out: String
        @OptionGroup var options: ConfigOption

        func run() throws {
            let (configuration, store) = try options.openStore()
            defer { store.close() }
            guard let manifest = try store.record(sessionId: session) else {
                FileHandle.standardError.write(Data("windowrelay: no record for session \(session)\n".utf8))
                throw ExitCode(2)
            }
            let participant = Identity(sub: "export", role: .ops)
            guard var view = manifest.view(for: participant), case .object(var o) = view else { return }
            // The export is the full record: events and documents unredacted.
            o["events"] = .array(manifest.events.map(\.recordEntry))
            o["documents"] = .array(manifest.documents)
            view = .object(o)
            let fm = FileManager.default
            try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
            try Data(view.canonicalBytes).write(to: URL(fileURLWithPath: out + "/manifest.json"))
            // Files keep their paths relative to the data folder: recordings/<session>/track-<n>.opus
            // and documents/<sha256> (content-addressed: the manifest maps each to its name).
            let layout = DocumentLayout(dataDirectory: configuration.storage.dataDir)
            var files: [(relative: String, source: String)] = manifest.recordedTracks.compactMap {
                $0["file"]?.stringValue.map { ($0, configuration.storage.dataDir + "/" + $0) }
            }
            for document in manifest.documents {
                guard let sha256 = document["sha256"]?.stringValue, let source = layout.documentPath(sha256: sha256) else {
                    continue
                }
                files.append(("documents/" + sha256, source))
            }
            for (relative, source) in files {
                let target = out + "/" + relative
                try fm.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                if fm.fileExists(atPath: target) { try fm.removeItem(atPath: target) }
                try fm.copyItem(atPath: source, toPath: target)
            }
            func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
            print(
                "exported \(session): \(counted(manifest.events.count, "event")), "
                    + "\(counted(manifest.recordedTracks.count, "recording")), "
                    + "\(counted(manifest.documents.count, "document")) to \(out)")
        }
    }
}

extension ConfigOption {
    /// The configuration and its store, for the offline record tools.
    func openStore() throws -> (RelayConfiguration, RelayStore) {
        let configuration: RelayConfiguration
        do {
            configuration = try RelayConfiguration.load(path: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw Failure("windowrelay: \(error)")
        }
        do {
            return (configuration, try RelayStore(dataDirectory: configuration.storage.dataDir, logger: Logger(label: "windowrelay")))
        } catch {
            throw Failure("windowrelay: cannot open the store: \(error)")
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
