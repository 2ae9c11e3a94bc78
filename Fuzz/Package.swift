// swift-tools-version:6.1
// libFuzzer targets for WindowRelay's parsers (`make fuzz`). A package of its own so that the root
// package's `swift build` never builds them: they have no `main` without `-sanitize=fuzzer`.
// Build: swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address
// SwiftPM defines `main` as each executable's own entry point, so each `@main` hands over to
// libFuzzer's driver (FuzzDriver) instead of relying on libFuzzer's `main`.
import PackageDescription

let fuzzers = ["FuzzBinaryFrame", "FuzzJSONRequest", "FuzzToken", "FuzzOggWriter", "FuzzConfig"]

let package = Package(
    name: "windowrelay-fuzz",
    dependencies: [.package(name: "windowrelay", path: "..")],
    targets: [.target(name: "FuzzDriver")] + fuzzers.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                "FuzzDriver",
                .product(name: "RelayCore", package: "windowrelay"),
                .product(name: "RelayMedia", package: "windowrelay"),
                .product(name: "RelayServer", package: "windowrelay"),
            ]
        )
    }
)
