import Foundation
import XCTest
@testable import TTUFiles

/// A fresh directory under the system temp dir, removed when the test case ends.
final class TempDir {
    let path: String

    init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("ttu-files-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` as UTF-8 to `name` inside the directory and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        write(name, bytes: Array(text.utf8))
    }

    /// Writes raw bytes (for BOMs and bytes that are not UTF-8).
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let p = file(name)
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(bytes)), "cannot write \(p)")
        return p
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// Runs `body`, requires it to throw an `InputError`, and checks the error's file, line
/// and field exactly and that its message contains each of `words`.
func assertInputError<T>(_ body: @autoclosure () throws -> T, file: String, line: Int?, field: String?,
                         _ words: [String], sourceFile: StaticString = #filePath, sourceLine: UInt = #line) {
    do {
        let value = try body()
        XCTFail("expected an InputError, got \(value)", file: sourceFile, line: sourceLine)
    } catch let e as InputError {
        XCTAssertEqual(e.file, file, "file of: \(e)", file: sourceFile, line: sourceLine)
        XCTAssertEqual(e.line, line, "line of: \(e)", file: sourceFile, line: sourceLine)
        XCTAssertEqual(e.field, field, "field of: \(e)", file: sourceFile, line: sourceLine)
        for w in words {
            XCTAssertTrue(e.message.contains(w), "message '\(e.message)' lacks '\(w)'", file: sourceFile, line: sourceLine)
        }
    } catch {
        XCTFail("expected an InputError, got \(type(of: error)): \(error)", file: sourceFile, line: sourceLine)
    }
}

/// Bit patterns, so that 0.0 and −0.0 or two NaNs are told apart.
func bits(_ xs: [Double]) -> [UInt64] { xs.map(\.bitPattern) }
