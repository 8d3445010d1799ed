import XCTest
@testable import TTUFiles

/// User JSON (prompt files, `--extra-body`) is checked strictly: Foundation's parser
/// accepts a trailing comma and lets a repeated key win.
final class StrictJSONTests: XCTestCase {
    func testValidJSONPasses() throws {
        for ok in ["{}", "{\"top_k\": 0, \"min_p\": 0.05, \"x\": [1, -2.5e3, true, null, \"a\\\"b\\u00e9\"]}", " [ ] ", "0", "\"s\""] {
            XCTAssertNoThrow(try StrictJSON.validate(ok), ok)
        }
    }

    func testInvalidJSONIsRefusedWithItsPosition() {
        let bad: [(String, Int)] = [("{\"a\": 1,}", 9), ("[1,]", 4), ("{'a': 1}", 2), ("{\"a\" 1}", 6), ("01", 2), ("{\"a\": tru}", 10),
                                    ("[1] x", 5), ("{\"a\": \"x", 9), ("", 1), ("1.", 3)]
        for (text, position) in bad {
            XCTAssertThrowsError(try StrictJSON.validate(text), text) { e in
                XCTAssertEqual((e as? StrictJSON.SyntaxError)?.offset.advanced(by: 1), position, "\(text): \(e)")
            }
        }
    }

    func testRepeatedKeyIsRefused() {
        XCTAssertThrowsError(try StrictJSON.validate("{\"a\": 1, \"b\": {\"a\": 2}, \"a\": 3}")) { e in
            XCTAssertEqual((e as? StrictJSON.SyntaxError)?.repeatedKey, "a")
            XCTAssertEqual((e as? StrictJSON.SyntaxError)?.offset, 24)
            XCTAssertTrue("\(e)".contains("key 'a' appears twice"), "\(e)")
        }
        XCTAssertNoThrow(try StrictJSON.validate("[{\"a\": 1}, {\"a\": 2}]"))
    }
}
