// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "TimeToUnsafe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ttu", targets: ["ttu"]),
        .library(name: "TTUCore", targets: ["TTUCore"]),
        .library(name: "TTUModel", targets: ["TTUModel"]),
        .library(name: "TTUReport", targets: ["TTUReport"]),
        .library(name: "TTUSampling", targets: ["TTUSampling"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // Pure statistics: no I/O, no clocks, no global randomness.
        .target(name: "TTUCore"),
        // The predictor p̂(x): featurizers, censored-geometric regression, model files.
        .target(name: "TTUModel", dependencies: ["TTUCore"]),
        // Files in and out (CSV/JSONL/JSON), the HTML report with inline SVG, terminal tables.
        .target(name: "TTUReport", dependencies: ["TTUCore"]),
        // Generators, raters, the budgeted sampler and the SQLite sample log.
        .target(name: "TTUSampling", dependencies: [
            "TTUCore", "TTUReport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "ttu", dependencies: [
            "TTUCore", "TTUModel", "TTUReport", "TTUSampling",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ], resources: [.embedInCode("Resources/demo_prompts.jsonl")]),
        .testTarget(name: "TTUCoreTests", dependencies: ["TTUCore"]),
        .testTarget(name: "TTUModelTests", dependencies: ["TTUModel"]),
        .testTarget(name: "TTUReportTests", dependencies: ["TTUReport"]),
        .testTarget(name: "TTUSamplingTests", dependencies: [
            "TTUSampling", "TTUCore", "TTUReport", "ttu",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "TTUCLITests", dependencies: ["TTUReport", "TTUCore", "ttu"]),
    ],
    swiftLanguageModes: [.v5]
)
