import XCTest
@testable import TTUCore

final class AllocationTests: XCTestCase {
    func randomPHat(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRNG(seed: seed)
        return (0..<n).map { _ in pow(10, -5 + 3 * rng.uniformOpen()) }
    }

    func testOptimizedSpendsBudgetExactlyAndSatisfiesKKT() {
        for (seed, B) in [(1, 10.0), (2, 300.0), (3, 5000.0), (4, 1120.0)] {
            let pHat = randomPHat(3000, seed: UInt64(seed))
            let s = PlanSettings(strategy: .optimized, budget: B, maxWeight: 100)
            let bounds = CandidateBounds(grid: s.tauGrid, cap: s.boundCap)
            let w = pHat.map { bounds.priorQuantile(pHat: $0) }
            let (pi, lambda) = Allocation.optimizedProbabilities(weights: w, totalBudget: B * Double(w.count))
            let spent = zip(pi, w).reduce(0) { $0 + $1.0 * $1.1 }
            if w.reduce(0, +) <= B * Double(w.count) {
                XCTAssertTrue(pi.allSatisfy { $0 == 1 })
            } else {
                XCTAssertEqual(spent, B * Double(w.count), accuracy: 1e-9 * B * Double(w.count), "B = \(B)")
                // KKT: every π < 1 equals 1/√(λ w); every π = 1 has λ·w ≤ 1.
                for i in w.indices {
                    XCTAssertGreaterThan(pi[i], 0); XCTAssertLessThanOrEqual(pi[i], 1)
                    if pi[i] < 1 { XCTAssertEqual(pi[i], 1 / (lambda * w[i]).squareRoot(), accuracy: 1e-12) }
                    else { XCTAssertLessThanOrEqual(lambda * w[i], 1 + 1e-9) }
                }
            }
        }
    }

    /// Any other feasible allocation (same spend) has a larger Σ 1/π.
    func testOptimizedBeatsFeasiblePerturbations() {
        let pHat = randomPHat(400, seed: 9)
        let s = PlanSettings(strategy: .optimized, budget: 50)
        let bounds = CandidateBounds(grid: s.tauGrid, cap: s.boundCap)
        let w = pHat.map { bounds.priorQuantile(pHat: $0) }
        let (pi, _) = Allocation.optimizedProbabilities(weights: w, totalBudget: 50 * 400)
        let best = pi.reduce(0) { $0 + 1 / $1 }
        var rng = SeededRNG(seed: 5)
        for _ in 0..<200 {
            // Move budget between two prompts with π < 1, keeping Σ π w fixed.
            let free = pi.indices.filter { pi[$0] < 0.9 }
            let a = free[Int(rng.next() % UInt64(free.count))], b = free[Int(rng.next() % UInt64(free.count))]
            if a == b { continue }
            var q = pi
            let eps = 0.05 * min(q[a], q[b])
            q[a] += eps / w[a]; q[b] -= eps / w[b]
            XCTAssertGreaterThanOrEqual(q.reduce(0) { $0 + 1 / $1 }, best * (1 - 1e-12))
        }
    }

    func testStrategiesProbabilitiesAndCaps() throws {
        let pHat = randomPHat(2000, seed: 2) + [0, 1]
        for strategy in AllocationStrategy.paper {
            let s = PlanSettings(strategy: strategy, budget: 100, maxWeight: 100, seed: 3)
            let plan = try Allocation.plan(pHat: pHat, settings: s)
            switch strategy {
            case .naive:
                XCTAssertNil(plan.pi)
                XCTAssertEqual(s.boundCap, .infinity)
                let meanCap = Double(plan.cap.reduce(0, +)) / Double(plan.count)
                XCTAssertEqual(meanCap, 100, accuracy: 8)  // Geometric(1/B) has mean B, sd ≈ B/√n·… 
                XCTAssertTrue(plan.cap.allSatisfy { $0 >= 1 })
            case .basic:
                XCTAssertEqual(s.boundCap, .infinity)
                XCTAssertEqual(plan.priorQuantile[2000], .infinity)  // p̂ = 0
                XCTAssertEqual(plan.pi![2000], 0)
                XCTAssertEqual(plan.cap[2000], 0)
                for i in 0..<2000 { XCTAssertEqual(plan.pi![i], min(1, 100 / plan.priorQuantile[i])) }
            case .trimmed:
                XCTAssertEqual(s.boundCap, 10_000)
                XCTAssertTrue(plan.pi!.allSatisfy { $0 >= 0.01 && $0 <= 1 })
                XCTAssertTrue(plan.priorQuantile.allSatisfy { $0 <= 10_000 })
            case .adaptive:
                XCTFail("adaptive plans in two stages (TwoStageTests)")
            case .optimized:
                XCTAssertEqual(s.boundCap, 10_000)
                let spent = zip(plan.pi!, plan.priorQuantile).reduce(0) { $0 + $1.0 * $1.1 }
                XCTAssertEqual(spent, 100 * Double(plan.count), accuracy: 1e-6)
            }
            if let pi = plan.pi {
                for i in pi.indices where plan.cap[i] > 0 { XCTAssertEqual(Double(plan.cap[i]), plan.priorQuantile[i]) }
                // Realised spend is close to the planned expectation Σ π·w.
                let expected = zip(pi, plan.priorQuantile).reduce(0) { $0 + ($1.1.isFinite ? $1.0 * $1.1 : 0) }
                XCTAssertEqual(Double(plan.plannedGenerations), expected, accuracy: 0.2 * expected + 2000)
            }
        }
    }

    func testPlanIsReproducibleFromSeed() throws {
        let pHat = randomPHat(500, seed: 8)
        let s = PlanSettings(strategy: .optimized, budget: 30, seed: 77)
        XCTAssertEqual(try Allocation.plan(pHat: pHat, settings: s).cap, try Allocation.plan(pHat: pHat, settings: s).cap)
        var s2 = s; s2.seed = 78
        XCTAssertNotEqual(try Allocation.plan(pHat: pHat, settings: s).cap, try Allocation.plan(pHat: pHat, settings: s2).cap)
    }

    func testInvalidSettingsRefused() {
        XCTAssertThrowsError(try Allocation.plan(pHat: [0.1], settings: PlanSettings(strategy: .basic, budget: 0)))
        XCTAssertThrowsError(try Allocation.plan(pHat: [0.1], settings: PlanSettings(strategy: .naive, budget: 0.5)))
        XCTAssertThrowsError(try Allocation.plan(pHat: [0.1], settings: PlanSettings(strategy: .basic, budget: 5, maxWeight: 0.5)))
        XCTAssertThrowsError(try Allocation.plan(pHat: [.nan], settings: PlanSettings(strategy: .basic, budget: 5)))
        XCTAssertThrowsError(try Allocation.plan(pHat: [1.2], settings: PlanSettings(strategy: .basic, budget: 5)))
    }
}
