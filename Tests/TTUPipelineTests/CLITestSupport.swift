import Foundation
import XCTest

/// Runs the built `ttu` binary (it sits next to the test bundle) in a scratch folder.
struct TTURunner {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ttu-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    static var binary: URL {
        var url = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent("ttu")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            url = url.deletingLastPathComponent()
        }
        // Fall back to the package's build folder.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/ttu")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    @discardableResult
    func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = TTURunner.binary
        p.arguments = args
        p.currentDirectoryURL = dir
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile()
        let ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
    }

    /// Runs `args` and asserts they are refused: a non-zero exit (exactly `exitCode` when
    /// given), a one-line error mentioning every string of `mentions`, and no `output` file.
    func assertRefused(_ args: [String], output: String, mentions: [String], exitCode: Int32? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertNotEqual(r.code, 0, "accepted: \(args)", file: file, line: line)
        if let exitCode { XCTAssertEqual(r.code, exitCode, r.err, file: file, line: line) }
        let msg = r.err.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(msg.isEmpty, file: file, line: line)
        XCTAssertFalse(msg.contains("\n"), "error should be one line: \(msg)", file: file, line: line)
        for m in mentions { XCTAssertTrue(msg.contains(m), "'\(msg)' should mention '\(m)'", file: file, line: line) }
        XCTAssertFalse(exists(output), "\(output) must not be written", file: file, line: line)
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }
}
