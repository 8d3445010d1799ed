import XCTest
@testable import TTUCore

/// A level whose estimated miscoverage equals α exactly is not admissible (α̂ < α is
/// strict), whatever side of α the floating-point sum lands on.
final class SelectionTieTests: XCTestCase {
    func testIsBelowTreatsRoundingAtAlphaAsEqual() {
        XCTAssertFalse(Calibrator.isBelow(0.049999999999999996, 0.05))
        XCTAssertFalse(Calibrator.isBelow(0.05, 0.05))
        XCTAssertTrue(Calibrator.isBelow(0.0499999, 0.05))
        XCTAssertFalse(Calibrator.isBelow(0.05000000000000001, 0.05))
    }

    /// 300 prompts sampled with π = 0.6, 9 of them miscovered at every level: in exact
    /// arithmetic α̂ = 9 · (1/0.6) / 300 = 0.05; the float sum gives 0.049999999999999996.
    func testExactTieAtAlphaIsNotAdmissible() throws {
        let n = 300
        let event = (0..<n).map { $0 < 9 }
        let sample = CalibrationSample(strategy: .basic, budget: 1, pHat: [Double](repeating: 0.01, count: n),
                                       pi: [Double](repeating: 0.6, count: n), cap: [Int](repeating: 1000, count: n),
                                       observed: [Int](repeating: 1, count: n).enumerated().map { $0.offset < 9 ? 1 : 1000 },
                                       event: event)
        let bounds = CandidateBounds(grid: TauGrid(minLog10: -1, maxLog10: -0.5, count: 5))
        let curve = try MiscoverageCurve(sample: sample, bounds: bounds)
        XCTAssertEqual(curve.estimate[0], 0.05, accuracy: 1e-15)
        let r = try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.05, guarantee: .marginal)
        XCTAssertEqual(r.tauIndex, -1, "α̂ = α in exact arithmetic must not pass α̂ < α")
        XCTAssertEqual(try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.0501, guarantee: .marginal).tauIndex, 4)
    }
}
