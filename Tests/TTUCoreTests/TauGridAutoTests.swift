import XCTest
@testable import TTUCore

final class TauGridAutoTests: XCTestCase {
    /// The top level makes the largest candidate reach M for at least 90% of the prompts.
    func testTopLevelLetsTheLargestCandidateReachTheCap() {
        var rng = SeededRNG(seed: 4)
        let pHat = (0..<2000).map { _ in pow(10, -4 + 2 * rng.uniformOpen()) }  // 1e-4 … 1e-2
        let m = 200.0
        let g = TauGrid.auto(pHat: pHat, boundCap: m, budget: 1e9)
        XCTAssertNoThrow(try g.validate())
        XCTAssertEqual(g.count, 300)
        let reach = pHat.filter { Geometric.quantile(g.taus.last!, p: $0) >= m }.count
        XCTAssertGreaterThanOrEqual(Double(reach) / Double(pHat.count), 0.9)
        // The paper's top limits most of these prompts below M.
        let paper = pHat.filter { Geometric.quantile(TauGrid.default.taus.last!, p: $0) >= m }.count
        XCTAssertLessThan(paper, reach)
        // A budget that cannot pay for every prompt up to the top: the top is where it can.
        let b = 170.0  // the paper's top costs ≈ 140 here, reaching M everywhere ≈ 200
        let g2 = TauGrid.auto(pHat: pHat, boundCap: m, budget: b)
        let cost = pHat.reduce(0) { $0 + min(Geometric.quantile(g2.taus.last!, p: $1), m) } / Double(pHat.count)
        XCTAssertLessThanOrEqual(cost, b)
        XCTAssertGreaterThan(cost, 0.97 * b)
        XCTAssertLessThan(g2.maxLog10, g.maxLog10)
        XCTAssertGreaterThan(g2.maxLog10, TauGrid.default.maxLog10)
    }

    func testFallsBackToThePaperGridAndStaysInRange() {
        XCTAssertEqual(TauGrid.auto(pHat: [0.01, 0.02], boundCap: .infinity, budget: 10), .default)       // no cap: naive, basic
        XCTAssertEqual(TauGrid.auto(pHat: [0, 0], boundCap: 100, budget: 10), .default)             // no positive p̂
        XCTAssertEqual(TauGrid.auto(pHat: [1e-6], boundCap: 10, budget: 10).maxLog10, TauGrid.default.maxLog10)  // never below the paper's top
        let high = TauGrid.auto(pHat: [0.5], boundCap: 1e6, budget: 1e9)
        XCTAssertEqual(high.maxLog10, -0.01, accuracy: 1e-12)                         // never τ ≥ 0.98
        XCTAssertEqual(high.minLog10, -3)
    }
}
