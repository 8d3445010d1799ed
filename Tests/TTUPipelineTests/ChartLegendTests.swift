import XCTest
@testable import TTUReport

/// The report's legends: entries as wide as their names never overlap (a run's survival
/// plot had two long prompt ids drawn over each other in 140 px slots).
final class ChartLegendTests: XCTestCase {
    func testLongNamesDoNotOverlapAndWrapInsideTheChart() {
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y")
        let names = ["miscellaneous-fb9a54ba: p̂ = 0.00988", "cookie-f22ca9c1: p̂ = 0.00333", "linux-d2022571: p̂ = 0.0011",
                     "1 − α", "L = 2 (miscellaneous-fb9a54ba)", "L = 6 (cookie-f22ca9c1)", "L = 19 (linux-d2022571)"]
        let at = chart.legendLayout(names)
        XCTAssertEqual(at.count, names.count)
        for k in 1..<names.count where at[k].row == at[k - 1].row {
            let textEnd = at[k - 1].x + 22 + 6.5 * Double(names[k - 1].count)
            XCTAssertGreaterThan(at[k].x, textEnd, "\(names[k]) starts inside \(names[k - 1])")
        }
        for (k, p) in at.enumerated() where p.x > 0 {
            XCTAssertLessThanOrEqual(p.x + 22 + 6.5 * Double(names[k].count), chart.width - 70 + 14, names[k])
        }
        XCTAssertGreaterThan(at.last!.row, 0, "seven long entries need more than one row")
        // Short names keep the old 140 px slots: two to a row in a 440 px chart.
        XCTAssertEqual(chart.legendLayout(["a", "b", "c"]).map(\.x), [0, 140, 0])
        XCTAssertEqual(chart.legendLayout(["a", "b", "c"]).map(\.row), [0, 0, 1])
    }
}
