import Foundation
import XCTest
import TTUCore
@testable import TTUFiles

/// `IDIndex.build` on tables large enough for its grouped insertion: every id found at its
/// row, and the first repetition in row order reported with the row of its first occurrence,
/// whichever hash groups the repeated ids fall in.
final class IDIndexTests: XCTestCase {
    func testLargeBuildFindsEveryRowAndTheFirstRepetition() {
        let n = 200_000
        let ids = (0..<n).map { "prompt-\($0)" } + ["a-much-longer-identifier-than-sixteen-bytes", "Ω", ""]
        guard case .success(let index) = IDIndex.build(ids) else { return XCTFail("false duplicate") }
        XCTAssertEqual(index.count, ids.count)
        for (k, id) in ids.enumerated() where k % 97 == 0 || k >= n { XCTAssertEqual(index.index(of: id), k, id) }
        XCTAssertNil(index.index(of: "prompt-\(n)"))
        XCTAssertNil(index.index(of: "prompt-0 "))

        // Repetitions planted at seeded rows: the smallest repeating row wins, with its first occurrence.
        var rng = SeededRNG(seed: 5)
        for _ in 0..<5 {
            var bad = ids
            var planted: [(row: Int, of: Int)] = []
            for _ in 0..<3 {
                let of = Int(rng.next() % UInt64(n / 2))
                let row = n / 2 + Int(rng.next() % UInt64(n / 2))
                bad[row] = bad[of]
                planted.append((row, of))
            }
            // A later copy of an already repeated id does not change the answer.
            let first = planted.min { $0.row < $1.row }!
            switch IDIndex.build(bad) {
            case .success: XCTFail("repetitions not found")
            case .failure(let d):
                XCTAssertEqual(d.row, first.row)
                XCTAssertEqual(d.firstRow, first.of)
                XCTAssertEqual(bad[d.row], bad[d.firstRow])
            }
        }
    }
}
