import ArgumentParser

/// The `windowrelay` command.
@main
struct WindowRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "windowrelay",
        abstract: "WindowRelay: the relay between cross-region service windows, approvers and applicants.",
        discussion: """
            Runs the WebSocket relay (sessions, documents, form guidance, Opus audio) and its tools.
            Start with: windowrelay serve --config config/relay.yaml
            """,
        subcommands: [Serve.self, Token.self, Record.self, Bench.self]
    )
}

/// `--config FILE`, shared by every subcommand.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The relay's YAML configuration.", valueName: "file"))
    var config: String = "config/relay.yaml"
}
