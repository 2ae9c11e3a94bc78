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
            abstract: "Recompute a session's hash chain from the store.",
            discussion: "Exit 0 when the chain holds; 1 with the first bad seq otherwise; 2 when the session is unknown."
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
                print("ok \(session): \(events.count) events, head \(head)")
            case .broken(let seq, let reason):
                FileHandle.standardError.write(Data("windowrelay: \(session): chain broken at seq \(seq): \(reason)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
