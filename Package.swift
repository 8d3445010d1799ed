// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "TimeToUnsafe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ttu", targets: ["ttu"]),
        .executable(name: "ttu-bench", targets: ["ttu-bench"]),
        .library(name: "TTUCore", targets: ["TTUCore"]),
        .library(name: "TTUModel", targets: ["TTUModel"]),
        .library(name: "TTUFiles", targets: ["TTUFiles"]),
        .library(name: "TTUReport", targets: ["TTUReport"]),
        .library(name: "TTUSampling", targets: ["TTUSampling"]),
        .library(name: "TTUPipeline", targets: ["TTUPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // Pure statistics: no I/O, no clocks, no global randomness.
        .target(name: "TTUCore", exclude: ["README.md"]),
        // The predictor p̂(x): featurizers, censored-geometric regression, model files.
        .target(name: "TTUModel", dependencies: ["TTUCore"], exclude: ["README.md"]),
        // Every file a person can open: strict CSV/JSONL readers and writers, InputError,
        // prompts, predictions, plan, observations, calibration, rates, summaries.
        .target(name: "TTUFiles", dependencies: ["TTUCore"], exclude: ["README.md"]),
        // The HTML report with inline SVG charts, terminal tables.
        .target(name: "TTUReport", dependencies: ["TTUCore", "TTUFiles"], exclude: ["README.md"]),
        // Generators, raters, the budgeted sampler and the SQLite sample log.
        .target(name: "TTUSampling", dependencies: [
            "TTUCore", "TTUFiles",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], exclude: ["README.md"]),
        // The stages as typed functions, one settings type per stage, and `run` with its
        // manifest cache: what the CLI calls, callable from any Swift program.
        .target(name: "TTUPipeline", dependencies: [
            "TTUCore", "TTUModel", "TTUFiles", "TTUReport", "TTUSampling",
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["README.md"], resources: [.embedInCode("Resources/demo_prompts.jsonl")]),
        // Not shipped: the loopback OpenAI-compatible stub for tests and benchmarks.
        .target(name: "TTUTestSupport", dependencies: [
            "TTUCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], exclude: ["README.md"]),
        // Not shipped as a library: the benchmark drivers `ttu-bench` runs.
        .target(name: "TTUBench", dependencies: [
            "TTUCore", "TTUFiles", "TTUReport", "TTUSampling", "TTUPipeline", "TTUTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
        ], exclude: ["README.md"]),
        // The CLI: parse, call a stage, print. Only the pipeline: no stub servers, no benchmarks.
        .executableTarget(name: "ttu", dependencies: [
            "TTUPipeline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The benchmarks as their own executable (`ttu bench` runs it): they bring the stubs.
        .executableTarget(name: "ttu-bench", dependencies: [
            "TTUBench", "TTUPipeline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "TTUCoreTests", dependencies: ["TTUCore"]),
        .testTarget(name: "TTUModelTests", dependencies: ["TTUModel"]),
        .testTarget(name: "TTUFilesTests", dependencies: ["TTUFiles", "TTUCore"]),
        .testTarget(name: "TTUSamplingTests", dependencies: [
            "TTUSampling", "TTUCore", "TTUFiles", "TTUTestSupport", "ttu",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "TTUPipelineTests", dependencies: [
            "TTUPipeline", "TTUFiles", "TTUCore", "TTUSampling", "TTUReport", "TTUTestSupport", "ttu",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
