import Foundation
import XCTest

/// Lines for people go to stderr, in order; a reader that goes away (`ttu … 2>&1 | head -1`)
/// never makes ttu trap: the work is finished and committed, and the exit code is 0.
final class OutputStreamTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws { t = try TTURunner() }
    override func tearDown() { t.cleanup() }

    func writeInputs() throws {
        var prompts = "", rates = "id,p\n"
        for i in 0..<200 { prompts += "{\"id\": \"p\(i)\", \"prompt\": \"prompt \(i)\"}\n"; rates += "p\(i),0.01\n" }
        try t.write("p.jsonl", prompts)
        try t.write("rates.csv", rates)
    }

    func testClosedPipeEndsQuietlyAfterTheWorkIsDone() throws {
        try writeInputs()
        let p = Process()
        p.executableURL = TTURunner.binary
        p.arguments = ["collect", "--prompts", "p.jsonl", "--per-prompt", "50", "--generator", "simulated", "--simulated-rates", "rates.csv",
                       "--db", "log.sqlite", "--out", "obs.csv"]
        p.currentDirectoryURL = t.dir
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        // Read the first line, then close the reading end, as `head -1` does.
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            first.append(chunk)
        }
        try pipe.fileHandleForReading.close()
        p.waitUntilExit()
        XCTAssertTrue(String(decoding: first, as: UTF8.self).hasPrefix("collect: 200 prompts"), String(decoding: first, as: UTF8.self))
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try t.read("obs.csv").split(separator: "\n").count, 201)
    }

    /// Stage lines and progress lines share stderr and keep their order; stdout is empty.
    func testStageLinesGoToStderrInOrder() throws {
        try writeInputs()
        let r = try t.run(["collect", "--prompts", "p.jsonl", "--per-prompt", "20", "--generator", "simulated", "--simulated-rates", "rates.csv",
                           "--db", "log.sqlite", "--out", "obs.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "")
        let lines = r.err.split(separator: "\n").map(String.init)
        let start = lines.firstIndex { $0.hasPrefix("collect: 200 prompts, at most") }
        let done = lines.firstIndex { $0.hasPrefix("collect: 200/200 prompts complete") }
        let wrote = lines.firstIndex { $0.hasPrefix("wrote obs.csv") }
        XCTAssertNotNil(start); XCTAssertNotNil(done); XCTAssertNotNil(wrote)
        if let s = start, let d = done, let w = wrote { XCTAssertTrue(s < d && d < w, r.err) }
    }
}
