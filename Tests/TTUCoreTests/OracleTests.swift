import Foundation
import XCTest
@testable import TTUCore

/// The oracle level (docs/method.md §5) against a brute-force scan written here from the
/// definition, and the log-log interpolation of the comparison at equal generations drawn.
final class OracleTests: XCTestCase {
    /// A small seeded population like the synthetic experiment's (90% of p on [1e-3, 1e-2],
    /// 10% on [1e-5, 1e-4]) with a noisy predictor p̂ = p·exp(σ·N(0, 1)).
    func population(seed: UInt64, n: Int, noise: Double) -> (pHat: [Double], p: [Double]) {
        var rng = SeededRNG(seed: seed)
        var pHat: [Double] = [], p: [Double] = []
        for _ in 0..<n {
            let x = rng.uniformOpen() < 0.9 ? pow(10, -3 + rng.uniformOpen()) : pow(10, -5 + rng.uniformOpen())
            p.append(x)
            pHat.append(min(0.5, x * exp(noise * rng.normal())))
        }
        return (pHat, p)
    }

    /// Brute force from the definition, sharing no code with the library: every level's
    /// τ from the log-spaced grid, every prompt's Q(τ; p̂) = max(1, ⌈log(1−τ)/log(1−p̂)⌉),
    /// its miss probability 1 − (1 − p)^(Q − 1), the mean; then the largest level ≤ α.
    func bruteForce(minLog10: Double, maxLog10: Double, count: Int, pHat: [Double], p: [Double], alpha: Double)
        -> (index: Int, miss: [Double], meanLPB: Double) {
        var miss: [Double] = []
        var best = -1
        var meanQ: [Double] = []
        for j in 0..<count {
            let tau = pow(10, minLog10 + Double(j) * (maxLog10 - minLog10) / Double(count - 1))
            var s = 0.0, sq = 0.0
            for i in p.indices {
                let q = max(1, (log1p(-tau) / log1p(-pHat[i])).rounded(.up))
                s += 1 - pow(1 - p[i], q - 1)
                sq += q
            }
            miss.append(s / Double(p.count))
            meanQ.append(sq / Double(p.count))
            if miss[j] <= alpha { best = j }  // the largest level, whatever the levels below do
        }
        return (best, miss, best >= 0 ? meanQ[best] : 1)
    }

    func testOracleLevelEqualsBruteForceAndIsTheLastLevelThatCovers() {
        let grid = TauGrid.default
        var interior = 0
        for seed: UInt64 in [1, 2, 3] {
            for noise in [0.3, 0.8] {
                let (pHat, p) = population(seed: seed, n: 3000, noise: noise)
                for alpha in [0.05, 0.1, 0.15] {
                    let o = OracleLevel.find(grid: grid, pHat: pHat, p: p, alpha: alpha)
                    let b = bruteForce(minLog10: -3, maxLog10: -0.75, count: 300, pHat: pHat, p: p, alpha: alpha)
                    let what = "seed \(seed), noise \(noise), α \(alpha)"
                    XCTAssertEqual(o.tauIndex, b.index, what)
                    XCTAssertEqual(o.meanLPB, b.meanLPB, accuracy: 1e-9 * b.meanLPB, what)
                    guard o.tauIndex >= 0 else { continue }
                    XCTAssertEqual(o.tauHat!, grid.taus[o.tauIndex], accuracy: 1e-15, what)
                    XCTAssertEqual(o.miscoverage, b.miss[o.tauIndex], accuracy: 1e-7, what)
                    // The oracle level covers 1 − α; the next one (if any) does not.
                    XCTAssertGreaterThanOrEqual(1 - o.miscoverage, 1 - alpha, what)
                    XCTAssertGreaterThanOrEqual(1 - b.miss[o.tauIndex], 1 - alpha, what)
                    if o.tauIndex + 1 < grid.count {
                        interior += 1
                        XCTAssertLessThan(1 - o.nextMiscoverage!, 1 - alpha, what)
                        XCTAssertLessThan(1 - b.miss[o.tauIndex + 1], 1 - alpha, what)
                    }
                    // The brute force's miss curve is non-decreasing: the binary search is allowed.
                    XCTAssertTrue(zip(b.miss, b.miss.dropFirst()).allSatisfy { $0 <= $1 + 1e-12 }, what)
                }
            }
        }
        XCTAssertGreaterThanOrEqual(interior, 12, "most cases must have the oracle strictly inside the grid")
    }

    /// Reference values on a population small enough to check by hand: two prompts with
    /// p = p̂ = 0.01 and a three-level grid τ = 0.01, 0.1, 0.5.
    func testReferenceValues() {
        let grid = TauGrid(minLog10: -2, maxLog10: log10(0.5), count: 3)
        // Q(0.01; 0.01) = 1, Q(τ_2; 0.01) = ⌈log(1 − τ_2)/log(0.99)⌉, Q(0.5; 0.01) = ⌈68.97⌉ = 69.
        let tau2 = grid.taus[1]
        let q2 = (log1p(-tau2) / log1p(-0.01)).rounded(.up)
        let miss2 = 1 - pow(0.99, q2 - 1), miss3 = 1 - pow(0.99, 68.0)
        XCTAssertEqual(Geometric.quantile(0.5, p: 0.01), 69)
        let o = OracleLevel.find(grid: grid, pHat: [0.01, 0.01], p: [0.01, 0.01], alpha: (miss2 + miss3) / 2)
        XCTAssertEqual(o.tauIndex, 1)
        XCTAssertEqual(o.meanLPB, q2)
        XCTAssertEqual(o.miscoverage, miss2, accuracy: 1e-12)
        XCTAssertEqual(o.nextMiscoverage!, miss3, accuracy: 1e-12)
        // Level 1 has Q = 1, which never misses: miscoverage 0 ≤ any α.
        let first = OracleLevel.find(grid: grid, pHat: [0.01], p: [0.01], alpha: 1e-9)
        XCTAssertEqual(first.tauIndex, 0)
        XCTAssertEqual(first.meanLPB, 1)
        XCTAssertEqual(first.miscoverage, 0)
    }

    func testNoLevelAndTopLevel() {
        let grid = TauGrid.default
        // p̂ a thousand times too small: Q is so large that even τ_1 misses most prompts.
        let none = OracleLevel.find(grid: grid, pHat: [1e-6, 2e-6], p: [1e-3, 2e-3], alpha: 0.1)
        XCTAssertEqual(none.tauIndex, -1)
        XCTAssertNil(none.tauHat)
        XCTAssertEqual(none.meanLPB, 1)
        XCTAssertEqual(none.miscoverage, 0)
        XCTAssertGreaterThan(none.nextMiscoverage!, 0.1)
        // p̂ far too large: every level covers, so the top level is the oracle.
        let top = OracleLevel.find(grid: grid, pHat: [0.5, 0.4], p: [1e-4, 1e-4], alpha: 0.1)
        XCTAssertEqual(top.tauIndex, grid.count - 1)
        XCTAssertNil(top.nextMiscoverage)
    }

    func testStudyOracleIsTheTestPromptsOracle() {
        let (pHat, p) = population(seed: 9, n: 400, noise: 0.5)
        let study = CalibrationStudy(calibrationPHat: pHat, calibrationP: p, testPHat: Array(pHat.prefix(200)), testP: Array(p.prefix(200)))
        XCTAssertEqual(study.oracle(alpha: 0.1), OracleLevel.find(grid: .default, pHat: Array(pHat.prefix(200)), p: Array(p.prefix(200)), alpha: 0.1))
    }

    func testEqualSpendInterpolationIsLogLogLinear() {
        // y = x/10 on a log-log line through (100, 10) and (1000, 100); then slope 2 to (10000, 10000).
        let curve: [(generations: Double, meanLPB: Double)] = [(1000, 100), (100, 10), (10000, 10000)]
        XCTAssertEqual(EqualSpend.interpolate(at: 100, curve: curve), 10)
        XCTAssertEqual(EqualSpend.interpolate(at: 1000, curve: curve), 100)
        XCTAssertEqual(EqualSpend.interpolate(at: 10000, curve: curve), 10000)
        XCTAssertEqual(EqualSpend.interpolate(at: 316.227766016838, curve: curve)!, 31.6227766016838, accuracy: 1e-9)
        XCTAssertEqual(EqualSpend.interpolate(at: 3162.27766016838, curve: curve)!, 1000, accuracy: 1e-7)
        // No extrapolation.
        XCTAssertNil(EqualSpend.interpolate(at: 99.9, curve: curve))
        XCTAssertNil(EqualSpend.interpolate(at: 10001, curve: curve))
        XCTAssertNil(EqualSpend.interpolate(at: 500, curve: []))
        // Points that cannot sit on a log scale are ignored.
        XCTAssertEqual(EqualSpend.interpolate(at: 100, curve: [(0, 5), (100, 10), (1000, .infinity)]), 10)
    }
}
