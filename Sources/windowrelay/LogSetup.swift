import Logging
import RelayServer

/// Bootstraps swift-log once, from `log.level` and `log.format`.
enum LogSetup {
    static func bootstrap(_ settings: RelayConfiguration.Log) {
        let level = settings.level
        switch settings.format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLinesLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
