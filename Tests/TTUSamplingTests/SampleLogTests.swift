import Foundation
import GRDB
import XCTest
@testable import TTUSampling

final class SampleLogTests: XCTestCase {
    /// Every column round-trips exactly (text: none, empty, escapes, non-ASCII, embedded NUL),
    /// and a duplicate (prompt, index) fails the whole batch loudly.
    func testInsertRoundTripsAndRefusesDuplicates() throws {
        let dir = TempDir()
        let log = try SampleLog(path: dir.file("log.sqlite"))
        let texts: [String?] = [nil, "", "plain", "quote \" and 'apostrophe' \\ ;", "héllo 😀 中文", "nul\u{0}inside"]
        let rows = texts.enumerated().map { k, t in
            LoggedGeneration(promptID: k % 2 == 0 ? "p-é" : "q", index: k + 1, score: Double(k) / 3, unsafe: k % 3 == 0,
                             endpoint: "http://127.0.0.1:1/v1", latencyMs: 1.25 * Double(k), createdAt: 1_700_000_000.5 + Double(k),
                             text: t)
        }
        try log.insert(rows)
        let q = try DatabaseQueue(path: dir.file("log.sqlite"))
        let back = try q.read { db in
            try Row.fetchAll(db, sql: "SELECT prompt_id, idx, score, unsafe, endpoint, latency_ms, created_at, CAST(text AS BLOB), text IS NULL FROM generations ORDER BY idx")
        }
        XCTAssertEqual(back.count, rows.count)
        for (r, b) in zip(rows, back) {
            XCTAssertEqual(b[0] as String, r.promptID)
            XCTAssertEqual(b[1] as Int, r.index)
            XCTAssertEqual(b[2] as Double, r.score)
            XCTAssertEqual(b[3] as Int, r.unsafe ? 1 : 0)
            XCTAssertEqual(b[4] as String, r.endpoint)
            XCTAssertEqual(b[5] as Double, r.latencyMs)
            XCTAssertEqual(b[6] as Double, r.createdAt)
            // Compared as bytes: all of the text is stored, even past a NUL.
            XCTAssertEqual(b[8] as Bool, r.text == nil)
            if let t = r.text { XCTAssertEqual(b[7] as Data? ?? Data(), Data(t.utf8)) }
        }
        // A batch holding a logged (prompt, index) is refused as a whole.
        var again = rows[0]
        again.score = 9
        let fresh = LoggedGeneration(promptID: "z", index: 1, score: 0, unsafe: false, endpoint: "e", latencyMs: 0, createdAt: 0)
        XCTAssertThrowsError(try log.insert([fresh, again])) { XCTAssertTrue("\($0)".contains("UNIQUE"), "\($0)") }
        XCTAssertEqual(try log.count(), rows.count)
        try log.insert([fresh])
        XCTAssertEqual(try log.count(), rows.count + 1)
    }
}
