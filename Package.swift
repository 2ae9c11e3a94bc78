// swift-tools-version:6.1
// WindowRelay: a WebSocket relay for cross-region government service windows.
import PackageDescription

/// House style (STYLE.md): explicit imports, explicit existentials.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "windowrelay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "windowrelay", targets: ["windowrelay"]),
        .library(name: "RelayClient", targets: ["RelayClient"]),
        // For the fuzzers in Fuzz/ (a package of its own: `make fuzz`).
        .library(name: "RelayCore", targets: ["RelayCore"]),
        .library(name: "RelayMedia", targets: ["RelayMedia"]),
        .library(name: "RelayServer", targets: ["RelayServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.1.0"),
    ],
    targets: [
        // C libraries from Debian, one system library each; one Swift module imports each.
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]
        ),
        .systemLibrary(
            name: "COpus",
            pkgConfig: "opus",
            providers: [.apt(["libopus-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),

        // Pure Swift: sessions, queues, forms, records, health, wire formats. No C, no I/O.
        .target(
            name: "RelayCore",
            swiftSettings: swiftSettings
        ),
        // Swift over libopus and libcrypto: Opus checks and levels, Ogg Opus, SHA-256, HMAC, JWT.
        .target(
            name: "RelayMedia",
            dependencies: ["COpus", "COpenSSL", "RelayCore"],
            swiftSettings: swiftSettings
        ),
        // Linux glue that the store's and the transport's threads share (thread names). No C library.
        .target(name: "RelayPlatform", swiftSettings: swiftSettings),
        // GRDB (SQLite, WAL) for sessions and events; files for documents and recordings.
        .target(
            name: "RelayStore",
            dependencies: [
                "RelayCore", "RelayMedia", "RelayPlatform",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Swift over libwebsockets: the context, its service thread, connections, HTTP, TLS.
        .target(
            name: "RelayTransport",
            dependencies: [
                "CLibWebSockets", "RelayPlatform",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // Wires the others: requests to the core, actions to transport and store, HTTP routes.
        .target(
            name: "RelayServer",
            dependencies: [
                "RelayCore", "RelayMedia", "RelayStore", "RelayTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // A Swift client of the protocol, used by the load generator and the tests.
        .target(
            name: "RelayClient",
            dependencies: [
                "RelayCore", "RelayTransport",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "windowrelay",
            dependencies: [
                "RelayServer", "RelayClient", "RelayCore", "RelayMedia", "RelayStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "RelayCoreTests", dependencies: ["RelayCore"], swiftSettings: swiftSettings),
        .testTarget(name: "RelayMediaTests", dependencies: ["RelayMedia", "RelayCore"], swiftSettings: swiftSettings),
        .testTarget(name: "RelayStoreTests", dependencies: ["RelayStore", "RelayCore", "RelayMedia"], swiftSettings: swiftSettings),
        .testTarget(name: "RelayTransportTests", dependencies: ["RelayTransport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RelayServerTests",
            dependencies: ["RelayServer", "RelayClient", "RelayCore", "RelayMedia", "RelayStore"],
            swiftSettings: swiftSettings
        ),
    ]
)
