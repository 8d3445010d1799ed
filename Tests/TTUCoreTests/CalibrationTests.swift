import XCTest
@testable import TTUCore

/// A population with known p and an imperfect predictor p̂, for calibration tests.
struct TestPopulation {
    var p: [Double]
    var pHat: [Double]
    init(n: Int, seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        p = (0..<n).map { _ in pow(10, -4 + 2.5 * rng.uniformOpen()) }
        pHat = p.map { min(0.9, $0 * exp(0.6 * rng.normal() + 0.3)) }
    }
}

final class CalibrationTests: XCTestCase {
    /// The dense n×m computation the fast curve avoids, straight from METHOD §2.5 / §3.
    func denseCurve(_ s: CalibrationSample, _ bounds: CandidateBounds) -> [Double] {
        (0..<bounds.count).map { j in
            var sum = 0.0
            for i in 0..<s.count {
                let q = bounds.bound(j, pHat: s.pHat[i])
                let miss = Double(s.observed[i]) < q
                if s.strategy == .naive {
                    if q <= Double(s.cap[i]) && miss { sum += 1 / pow(1 - 1 / s.budget, q - 1) }
                } else if s.cap[i] > 0 && miss {
                    sum += 1 / s.pi![i]
                }
            }
            return sum / Double(s.count)
        }
    }

    func sample(_ strategy: AllocationStrategy, budget: Double, pop: TestPopulation, seed: UInt64, grid: TauGrid = .default) throws -> (CalibrationSample, CandidateBounds) {
        let settings = PlanSettings(strategy: strategy, budget: budget, maxWeight: 20, tauGrid: grid, seed: seed)
        let plan = try Allocation.plan(pHat: pop.pHat, settings: settings)
        var rng = SeededRNG(seed: seed &+ 1000)
        let (o, e) = SimulatedSampling.observe(p: pop.p, cap: plan.cap, rng: &rng)
        return (CalibrationSample(strategy: strategy, budget: budget, pHat: pop.pHat, pi: plan.pi, cap: plan.cap, observed: o, event: e),
                CandidateBounds(grid: grid, cap: settings.boundCap))
    }

    func testFastCurveEqualsDenseCurve() throws {
        let pop = TestPopulation(n: 400, seed: 1)
        for strategy in AllocationStrategy.paper {
            for (k, B) in [20.0, 300.0].enumerated() {
                let (s, bounds) = try sample(strategy, budget: B, pop: pop, seed: UInt64(10 + k), grid: TauGrid(minLog10: -3, maxLog10: -0.75, count: 60))
                let fast = try MiscoverageCurve(sample: s, bounds: bounds).estimate
                let dense = denseCurve(s, bounds)
                for j in fast.indices {
                    XCTAssertEqual(fast[j], dense[j], accuracy: 1e-9 * max(1, dense[j]), "\(strategy) B=\(B) j=\(j)")
                }
                if strategy != .naive {
                    // Adaptive weights do not depend on j, so each term is a suffix: non-decreasing.
                    XCTAssertEqual(fast, fast.sorted(), "\(strategy): adaptive curves are non-decreasing")
                }
            }
        }
    }

    /// E[α̂_j] = α_j = mean_i P(T_i < q_j(x_i)) over repeated plans and draws.
    /// Prompts with p in [0.01, 0.1] keep q_m ≤ 20, so naive's weights (1 − 1/B)^−(q−1)
    /// stay moderate and a sample mean over reps can show the expectation (for q ≫ B
    /// they are unbiased too, but so heavy-tailed that no feasible simulation converges).
    func testIPWEstimatorIsUnbiased() throws {
        var pop = TestPopulation(n: 150, seed: 2)
        var prng = SeededRNG(seed: 21)
        pop.p = pop.p.map { _ in pow(10, -2 + prng.uniformOpen()) }
        pop.pHat = pop.p.map { min(0.9, $0 * exp(0.5 * prng.normal())) }
        let grid = TauGrid(minLog10: -2, maxLog10: -0.75, count: 4)
        for strategy in AllocationStrategy.paper {
            let settings = PlanSettings(strategy: strategy, budget: 8, maxWeight: 20, tauGrid: grid)
            let bounds = CandidateBounds(grid: grid, cap: settings.boundCap)
            let truth = (0..<grid.count).map { j in
                zip(pop.p, pop.pHat).reduce(0.0) { $0 + Geometric.cdf(bounds.bound(j, pHat: $1.1) - 1, p: $1.0) } / Double(pop.p.count)
            }
            let reps = 3000
            var mean = [Double](repeating: 0, count: grid.count), sq = mean
            for r in 0..<reps {
                let (s, _) = try sample(strategy, budget: 8, pop: pop, seed: UInt64(100_000 + r), grid: grid)
                let est = try MiscoverageCurve(sample: s, bounds: bounds).estimate
                for j in est.indices { mean[j] += est[j] / Double(reps); sq[j] += est[j] * est[j] / Double(reps) }
            }
            for j in 0..<grid.count {
                let se = ((sq[j] - mean[j] * mean[j]) / Double(reps)).squareRoot()
                XCTAssertLessThan(abs(mean[j] - truth[j]), 4.5 * se + 1e-12,
                                  "\(strategy) j=\(j): mean α̂ \(mean[j]) vs α \(truth[j]) (se \(se))")
            }
        }
    }

    /// Marginal selection against a direct reading of METHOD §4.
    func testMarginalSelectionMatchesDefinition() throws {
        let pop = TestPopulation(n: 600, seed: 4)
        for strategy in AllocationStrategy.paper {
            for seed in 0..<6 {
                let (s, bounds) = try sample(strategy, budget: 50, pop: pop, seed: UInt64(seed))
                for alpha in [0.02, 0.1, 0.3] {
                    let r = try Calibrator.calibrate(s, bounds: bounds, alpha: alpha, guarantee: .marginal)
                    let dense = denseCurve(s, bounds)
                    var expected = -1
                    for j in dense.indices { if dense[j] < alpha { expected = j } else { break } }
                    XCTAssertEqual(r.tauIndex, expected, "\(strategy) seed \(seed) α \(alpha)")
                    if expected >= 0 { XCTAssertEqual(r.tauHat, bounds.taus[expected]) } else { XCTAssertNil(r.tauHat) }
                }
            }
        }
    }

    func testNoAdmissibleCandidateGivesTrivialBound() throws {
        // Every sampled prompt fails at its first generation, and even the smallest
        // candidate (q_0 = Q(0.001; 1e-4) = 11) is above 1: miscoverage 1 everywhere.
        let n = 50
        let s = CalibrationSample(strategy: .trimmed, budget: 10, pHat: [Double](repeating: 1e-4, count: n),
                                  pi: [Double](repeating: 1, count: n), cap: [Int](repeating: 1000, count: n),
                                  observed: [Int](repeating: 1, count: n), event: [Bool](repeating: true, count: n))
        let r = try Calibrator.calibrate(s, bounds: CandidateBounds(grid: .default, cap: 1000), alpha: 0.1, guarantee: .marginal)
        XCTAssertEqual(r.tauIndex, -1)
        XCTAssertNil(r.tauHat)
        XCTAssertEqual(LowerBound(tauHat: r.tauHat, maxLPB: 1000).bound(pHat: 1e-4), 1)
    }

    func testLowerBoundCapsAndInfinity() {
        XCTAssertEqual(LowerBound(tauHat: 0.1, maxLPB: nil).bound(pHat: 0.01), 11)
        XCTAssertEqual(LowerBound(tauHat: 0.1, maxLPB: 5).bound(pHat: 0.01), 5)
        XCTAssertEqual(LowerBound(tauHat: 0.1, maxLPB: nil).bound(pHat: 0), .infinity)
        XCTAssertEqual(LowerBound(tauHat: nil, maxLPB: nil).bound(pHat: 0.3), 1)
    }

    func testConcentrationBoundReferenceValues() {
        // Hoeffding margin from METHOD §4: w·√(ln(1/δ)/2n) = 0.58 for w = 100, n = 45,000, δ = 0.05.
        XCTAssertEqual(100 * (log(1 / 0.05) / (2 * 45_000)).squareRoot(), 0.577, accuracy: 0.001)
        // Empirical Bernstein by hand: Y ∈ {0, 1} with mean 0.1 over n = 1000, δ = 0.05.
        let ub = BernsteinBound.upper(mean: 0.1, meanSquare: 0.1, range: 1, n: 1000, delta: 0.05)
        let v = (0.1 - 0.01) * 1000 / 999
        let expected = 0.1 + (2 * v * log(40) / 1000).squareRoot() + 7 * log(40) / (3 * 999)
        XCTAssertEqual(ub, expected, accuracy: 1e-15)
    }

    /// Under H: E[Y] ≥ μ₀ the betting test rejects with probability ≤ δ; far below μ₀ it rejects.
    func testBettingTestLevelAndPower() {
        let n = 2000, delta = 0.1
        var rejections = 0
        let trials = 300
        for t in 0..<trials {
            var rng = SeededRNG(seed: UInt64(t))
            let z = (0..<n).map { _ in rng.bernoulli(0.05) ? 1.0 : 0.0 }  // mean exactly μ₀ = 0.05
            if BettingTest(n: n, seed: UInt64(t)).rejects(terms: z, range: 1, mu0: 0.05, delta: delta) { rejections += 1 }
        }
        // δ = 0.1 ⇒ at most 30 expected; allow binomial slack.
        XCTAssertLessThanOrEqual(rejections, 42, "betting test rejected a true null \(rejections)/\(trials) times")
        var rng = SeededRNG(seed: 99)
        let z = (0..<n).map { _ in rng.bernoulli(0.02) ? 1.0 : 0.0 }
        XCTAssertTrue(BettingTest(n: n, seed: 1).rejects(terms: z, range: 1, mu0: 0.05, delta: 0.05))
    }

    /// PAC: over many calibration draws, the fraction whose true miscoverage exceeds α is ≤ δ.
    func testPACViolationRateAtMostDelta() throws {
        let pop = TestPopulation(n: 1500, seed: 5)
        var testRNG = SeededRNG(seed: 6)
        let testP = (0..<3000).map { _ in pow(10, -4 + 2.5 * testRNG.uniformOpen()) }
        let testPHat = testP.map { min(0.9, $0 * exp(0.6 * testRNG.normal() + 0.3)) }
        let delta = 0.1, alpha = 0.1, reps = 60
        for bound in ConcentrationBound.allCases {
            var violations = 0, lpbSum = 0.0
            for r in 0..<reps {
                let (s, bounds) = try sample(.optimized, budget: 60, pop: pop, seed: UInt64(5000 + r))
                let res = try Calibrator.calibrate(s, bounds: bounds, alpha: alpha, guarantee: .pac(delta: delta, bound: bound), seed: UInt64(r))
                let l = LowerBound(tauHat: res.tauHat, maxLPB: bounds.cap).bounds(testPHat)
                if Evaluation.exactCoverage(bounds: l, p: testP) < 1 - alpha { violations += 1 }
                lpbSum += Evaluation.mean(l)
            }
            // δ·reps = 6 expected at most; binomial slack.
            XCTAssertLessThanOrEqual(violations, 12, "\(bound): \(violations)/\(reps) violations")
            print("PAC \(bound): violations \(violations)/\(reps), mean LPB \(lpbSum / Double(reps))")
        }
    }

    func testBettingBeatsHoeffding() throws {
        let pop = TestPopulation(n: 3000, seed: 7)
        var h = 0.0, b = 0.0
        for r in 0..<5 {
            let (s, bounds) = try sample(.optimized, budget: 60, pop: pop, seed: UInt64(r))
            h += Double(try Calibrator.calibrate(s, bounds: bounds, alpha: 0.1, guarantee: .pac(delta: 0.05, bound: .hoeffding)).tauIndex)
            b += Double(try Calibrator.calibrate(s, bounds: bounds, alpha: 0.1, guarantee: .pac(delta: 0.05, bound: .betting), seed: UInt64(r)).tauIndex)
        }
        XCTAssertGreaterThan(b, h)
    }

    func testSelectionRejectsBadArguments() throws {
        let pop = TestPopulation(n: 50, seed: 1)
        let (s, bounds) = try sample(.basic, budget: 10, pop: pop, seed: 1)
        XCTAssertThrowsError(try Calibrator.calibrate(s, bounds: bounds, alpha: 0, guarantee: .marginal))
        XCTAssertThrowsError(try Calibrator.calibrate(s, bounds: bounds, alpha: 1, guarantee: .marginal))
        XCTAssertThrowsError(try Calibrator.calibrate(s, bounds: bounds, alpha: 0.1, guarantee: .pac(delta: 1.5, bound: .bernstein)))
    }
}
