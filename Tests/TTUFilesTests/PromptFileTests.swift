import Foundation
import XCTest
@testable import TTUFiles

/// `PromptFile` (JSONL) on files written to a temp dir.
final class PromptFileTests: XCTestCase {
    var dir: TempDir!
    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    func testValidPromptsExactValues() throws {
        let text = """
        {"id": "p1", "prompt": "hello, \\"world\\"", "extra": [1, 2]}

        {"prompt": "ünï\\ncode ✓", "id": 7}\r
        {"id":"p3","prompt":"  spaced  "}
        \t


        """
        let p = dir.write("prompts.jsonl", text)
        let r = try PromptFile.read(p)
        XCTAssertEqual(r, [PromptRecord(id: "p1", prompt: "hello, \"world\""),
                           PromptRecord(id: "7", prompt: "ünï\ncode ✓"),
                           PromptRecord(id: "p3", prompt: "  spaced  ")])
        // The source keeps each record's line verbatim, without its CR/LF.
        let lines = try PromptFile.source(p).lines
        XCTAssertEqual(lines, ["{\"id\": \"p1\", \"prompt\": \"hello, \\\"world\\\"\", \"extra\": [1, 2]}",
                               "{\"prompt\": \"ünï\\ncode ✓\", \"id\": 7}",
                               "{\"id\":\"p3\",\"prompt\":\"  spaced  \"}"])
    }

    func testByteOrderMarkIsSkippedAndNotKept() throws {
        let line = "{\"id\":\"a\",\"prompt\":\"b\"}"
        let p = dir.write("bom.jsonl", bytes: [0xEF, 0xBB, 0xBF] + Array((line + "\n").utf8))
        let r = try PromptFile.source(p)
        XCTAssertEqual(r.records, [PromptRecord(id: "a", prompt: "b")])
        XCTAssertEqual(r.lines, [line])
    }

    func testNonObjectAndInvalidLines() {
        let cases: [(String, [String])] = [
            ("[1, 2]", ["expected a JSON object"]),
            ("\"just a string\"", ["JSON"]),
            ("42", ["JSON"]),
            ("{\"id\": \"a\", \"prompt\": ", ["not valid JSON"]),
            ("id,prompt", ["not valid JSON"]),
        ]
        for (k, (bad, words)) in cases.enumerated() {
            let p = dir.write("bad\(k).jsonl", "{\"id\":\"ok\",\"prompt\":\"fine\"}\n\n\(bad)\n")
            assertInputError(try PromptFile.read(p), file: p, line: 3, field: nil, words)
        }
    }

    func testMissingEmptyAndMistypedFields() {
        let cases: [(String, String, [String])] = [
            ("{\"id\": \"a\"}", "prompt", ["missing"]),
            ("{\"id\": \"a\", \"prompt\": \" \\n\\t \"}", "prompt", ["empty prompt (id 'a')"]),
            ("{\"id\": \"a\", \"prompt\": \"\"}", "prompt", ["empty prompt"]),
            ("{\"id\": \"a\", \"prompt\": 3}", "prompt", ["must be a string"]),
            ("{\"id\": \"a\", \"prompt\": null}", "prompt", ["must be a string"]),
            ("{\"id\": \"\", \"prompt\": \"x\"}", "id", ["empty id"]),
            ("{\"id\": \"  \", \"prompt\": \"x\"}", "id", ["empty id"]),
            ("{\"id\": 1.5, \"prompt\": \"x\"}", "id", ["must be a string or an integer"]),
            ("{\"id\": true, \"prompt\": \"x\"}", "id", ["must be a string or an integer"]),
            ("{\"id\": null, \"prompt\": \"x\"}", "id", ["must be a string or an integer"]),
            ("{\"id\": {\"k\": 1}, \"prompt\": \"x\"}", "id", ["must be a string or an integer"]),
            ("{\"id\": [\"a\"], \"prompt\": \"x\"}", "id", ["must be a string or an integer"]),
        ]
        for (k, (bad, field, words)) in cases.enumerated() {
            let p = dir.write("bad\(k).jsonl", "{\"id\":\"ok\",\"prompt\":\"fine\"}\n\(bad)\n")
            assertInputError(try PromptFile.read(p), file: p, line: 2, field: field, words)
        }
    }

    /// An integer id is its decimal text, so 7 and "7" are the same id.
    func testDuplicateIDsNameTheLineOfTheFirst() {
        let p = dir.write("dup.jsonl", "{\"id\":\"7\",\"prompt\":\"a\"}\n\n{\"id\":\"8\",\"prompt\":\"b\"}\n{\"id\":7,\"prompt\":\"c\"}\n")
        assertInputError(try PromptFile.read(p), file: p, line: 4, field: "id", ["duplicate id '7'", "first on line 1"])
    }

    func testOneMegabytePrompt() throws {
        let big = String(repeating: "ab\u{e9}", count: 350_000)  // 1.05 MB of UTF-8
        let line = "{\"id\":\"big\",\"prompt\":\"\(big)\"}"
        let p = dir.write("big.jsonl", "{\"id\":\"small\",\"prompt\":\"s\"}\n" + line + "\n")
        let r = try PromptFile.source(p)
        XCTAssertEqual(r.records.map(\.id), ["small", "big"])
        XCTAssertEqual(r.records[1].prompt, big)
        XCTAssertEqual(r.lines[1], line)
    }

    /// Bytes that are not UTF-8 are refused with their line, even inside a JSON string.
    func testNonUTF8BytesAreRefusedWithTheirLine() {
        let p = dir.write("latin1.jsonl", bytes: Array("{\"id\":\"a\",\"prompt\":\"ok\"}\n{\"id\":\"b\",\"prompt\":\"caf".utf8)
                                                 + [0xE9] + Array("\"}\n".utf8))
        assertInputError(try PromptFile.read(p), file: p, line: 2, field: nil, ["0xE9", "not valid UTF-8"])
        let q = dir.write("ff.jsonl", bytes: [0xFF, 0xFE] + Array("{\"id\":\"a\",\"prompt\":\"b\"}\n".utf8))
        assertInputError(try PromptFile.read(q), file: q, line: 1, field: nil, ["0xFF", "not valid UTF-8"])
    }

    func testEmptyAndBlankFiles() {
        let empty = dir.write("empty.jsonl", "")
        assertInputError(try PromptFile.read(empty), file: empty, line: nil, field: nil, ["no prompts"])
        let blank = dir.write("blank.jsonl", "\n  \n\r\n\t\n")
        assertInputError(try PromptFile.read(blank), file: blank, line: nil, field: nil, ["no prompts"])
        let missing = dir.file("missing.jsonl")
        assertInputError(try PromptFile.read(missing), file: missing, line: nil, field: nil, ["cannot read"])
    }

    func testNumericFields() throws {
        let p = dir.write("f.jsonl", "{\"id\":\"a\",\"prompt\":\"x\",\"score\":0.1,\"len\":3}\n{\"id\":\"b\",\"prompt\":\"y\",\"len\":-2e-300,\"score\":1}\n")
        let r = try PromptFile.read(p, numericFields: ["score", "len"])
        XCTAssertEqual(r.records.map(\.id), ["a", "b"])
        XCTAssertEqual(r.fields.map(bits), [bits([0.1, 3]), bits([1, -2e-300])])
        let cases: [(String, [String])] = [
            ("{\"id\":\"c\",\"prompt\":\"z\",\"len\":1}", ["missing"]),
            ("{\"id\":\"c\",\"prompt\":\"z\",\"score\":\"0.5\",\"len\":1}", ["must be a finite number"]),
            ("{\"id\":\"c\",\"prompt\":\"z\",\"score\":true,\"len\":1}", ["must be a finite number"]),
            ("{\"id\":\"c\",\"prompt\":\"z\",\"score\":null,\"len\":1}", ["must be a finite number"]),
        ]
        for (k, (bad, words)) in cases.enumerated() {
            let q = dir.write("bad\(k).jsonl", "{\"id\":\"a\",\"prompt\":\"x\",\"score\":0.1,\"len\":3}\n\(bad)\n")
            assertInputError(try PromptFile.read(q, numericFields: ["score", "len"]), file: q, line: 2, field: "score", words)
        }
    }
}
