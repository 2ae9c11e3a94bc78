import ArgumentParser
import Foundation
import Logging
import RelayServer
import ServiceLifecycle
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the relay until SIGTERM or SIGINT.",
        discussion: "Prints one line 'listening on <scheme>://<host>:<port>' on standard output once it accepts connections."
    )

    @OptionGroup var options: ConfigOption

    /// Test-only (docs/protocol.md §9): a WebSocket on /v1/echo echoes every message, for the Autobahn cases.
    @Flag(name: .customLong("conformance-echo"), help: .hidden)
    var conformanceEcho = false

    func run() async throws {
        let configuration: RelayConfiguration
        do {
            configuration = try RelayConfiguration.load(path: options.config, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw Failure("windowrelay: \(error)")
        }
        LogSetup.bootstrap(configuration.log)
        let logger = Logger(label: "windowrelay")
        let server: RelayServer
        do {
            server = try RelayServer(configuration: configuration, logger: logger, conformanceEcho: conformanceEcho)
        } catch {
            throw Failure("windowrelay: \(error)")
        }
        let service = RelayService(server: server) { url in
            FileHandle.standardOutput.write(Data("listening on \(url)\n".utf8))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            throw Failure("windowrelay: \(error)")
        }
    }
}

/// An error that prints its message alone and exits non-zero.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
