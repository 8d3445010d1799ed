import Foundation
import XCTest

/// The shipped CLI sees the pipeline only: no lower layer, no stub servers, no benchmarks.
final class LayeringTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testCLIImportsOnlyThePipelineAndArgumentParser() throws {
        let dir = root.appendingPathComponent("Sources/ttu")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
        XCTAssertFalse(files.isEmpty)
        for f in files {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                let module = line.dropFirst("import ".count).trimmingCharacters(in: .whitespaces)
                XCTAssertTrue(["TTUPipeline", "ArgumentParser", "Foundation"].contains(module), "Sources/ttu/\(f) imports \(module)")
            }
        }
    }

    func testShippedTargetDoesNotDependOnTestSupportOrBenchmarks() throws {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let start = try XCTUnwrap(manifest.range(of: ".executableTarget(name: \"ttu\","))
        let block = manifest[start.upperBound...].prefix { $0 != "]" }  // its dependency list
        XCTAssertTrue(block.contains("\"TTUPipeline\""), String(block))
        XCTAssertFalse(block.contains("TTUTestSupport"), String(block))
        XCTAssertFalse(block.contains("TTUBench"), String(block))
    }
}
