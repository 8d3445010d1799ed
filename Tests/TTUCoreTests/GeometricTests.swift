import XCTest
@testable import TTUCore

final class GeometricTests: XCTestCase {
    func testReferenceQuantiles() {
        // ⌈log(0.9)/log(0.99)⌉ = ⌈10.483…⌉
        XCTAssertEqual(Geometric.quantile(0.1, p: 0.01), 11)
        XCTAssertEqual(Geometric.quantile(0.5, p: 0.5), 1)
        XCTAssertEqual(Geometric.quantile(0.75, p: 0.5), 2)
        XCTAssertEqual(Geometric.quantile(0.9, p: 0.1), 22)  // log(0.1)/log(0.9) = 21.85
        XCTAssertEqual(Geometric.quantile(0.3, p: 1), 1)
        XCTAssertEqual(Geometric.quantile(0.3, p: 0), .infinity)
        // p = 1e-12: −log(0.9)/1e-12 = 105360515657.8…; naive log(1 − p) would lose every digit.
        XCTAssertEqual(Geometric.quantile(0.1, p: 1e-12), 105_360_515_658)
        XCTAssertEqual(Geometric.quantile(1e-3, p: 1e-12), 1_000_500_334)
    }

    /// The quantile is the smallest k with P(T ≤ k) ≥ τ, checked against the CDF.
    func testQuantileIsSmallestKWithCDFAtLeastTau() {
        var rng = SeededRNG(seed: 11)
        for _ in 0..<5000 {
            let p = pow(10, -12 * rng.uniformOpen())
            let tau = pow(10, -3 * rng.uniformOpen()) * 0.999
            let q = Geometric.quantile(tau, p: p)
            XCTAssertGreaterThanOrEqual(q, 1)
            let relTol = 1e-9
            XCTAssertGreaterThanOrEqual(Geometric.cdf(q, p: p), tau * (1 - relTol), "p=\(p) tau=\(tau)")
            if q > 1 { XCTAssertLessThan(Geometric.cdf(q - 1, p: p), tau * (1 + relTol), "p=\(p) tau=\(tau)") }
        }
    }

    func testQuantileMonotoneInTauAndP() {
        let grid = TauGrid.default
        var rng = SeededRNG(seed: 3)
        for _ in 0..<300 {
            let p = pow(10, -8 * rng.uniformOpen())
            let q = grid.taus.map { Geometric.quantile($0, p: p) }
            XCTAssertEqual(q, q.sorted(), "q_j must be non-decreasing in j")
            let q2 = grid.taus.map { Geometric.quantile($0, p: min(1, p * 1.5)) }
            for j in q.indices { XCTAssertLessThanOrEqual(q2[j], q[j]) }
        }
    }

    func testSurvivalAndCDF() {
        XCTAssertEqual(Geometric.survival(atLeast: 1, p: 0.3), 1)
        XCTAssertEqual(Geometric.survival(atLeast: 3, p: 0.5), 0.25, accuracy: 1e-15)
        XCTAssertEqual(Geometric.survival(atLeast: .infinity, p: 0.01), 0)
        XCTAssertEqual(Geometric.survival(atLeast: .infinity, p: 0), 1)
        XCTAssertEqual(Geometric.cdf(2, p: 0.5), 0.75, accuracy: 1e-15)
        // Tiny p: 1 − (1 − 1e-12)^1000 ≈ 1e-9, which naive arithmetic gets badly wrong.
        XCTAssertEqual(Geometric.cdf(1000, p: 1e-12), 1e-9, accuracy: 1e-18)
    }

    func testGridMatchesLogspace() {
        let t = TauGrid.default.taus
        XCTAssertEqual(t.count, 300)
        XCTAssertEqual(t[0], 1e-3, accuracy: 1e-18)
        XCTAssertEqual(t[299], pow(10, -0.75), accuracy: 1e-15)
        XCTAssertEqual(t, t.sorted())
        XCTAssertThrowsError(try TauGrid(minLog10: -1, maxLog10: 0.5, count: 10).validate())
    }
}
