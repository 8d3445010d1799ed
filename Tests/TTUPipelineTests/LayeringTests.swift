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

    /// Each library target's README says what it may import; its sources import exactly
    /// within that list (and the README names every module they do import).
    func testEachTargetImportsWhatItsReadmeAllows() throws {
        let targets = ["TTUCore", "TTUModel", "TTUFiles", "TTUSampling", "TTUReport", "TTUPipeline", "TTUTestSupport", "TTUBench"]
        for t in targets {
            let dir = root.appendingPathComponent("Sources/\(t)")
            let readme = try String(contentsOf: dir.appendingPathComponent("README.md"), encoding: .utf8)
            let line = try XCTUnwrap(readme.split(separator: "\n").first { $0.hasPrefix("**May import:**") }, "\(t)/README.md")
            let allowed = Set(line.dropFirst("**May import:**".count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            var imported = Set<String>()
            let files = FileManager.default.enumerator(atPath: dir.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
            for f in files {
                let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
                for l in text.split(separator: "\n") where l.hasPrefix("import ") {
                    let m = l.dropFirst("import ".count).trimmingCharacters(in: .whitespaces)
                    imported.insert(m)
                    XCTAssertTrue(allowed.contains(m), "Sources/\(t)/\(f) imports \(m), which \(t)/README.md does not allow")
                }
            }
            XCTAssertEqual(allowed.subtracting(imported), [], "\(t)/README.md allows modules its sources do not import")
        }
    }
}
