import XCTest
@testable import TTUCore

/// W chosen from p̂ (`WeightChoice`) and the corrected marginal rule (docs/method.md §3–§4).
final class FiniteSampleTests: XCTestCase {
    /// The paper's population at a user's size: p in two log-uniform bands, p̂ = p·e^{σZ}.
    func userRegime(n: Int, sigma: Double = 0.5, seed: UInt64) -> (pHat: [Double], p: [Double]) {
        var rng = SeededRNG(seed: seed)
        var p: [Double] = [], pHat: [Double] = []
        for _ in 0..<n {
            let x = rng.uniformOpen() < 0.9 ? pow(10, -3 + rng.uniformOpen()) : pow(10, -5 + rng.uniformOpen())
            p.append(x); pHat.append(min(x * exp(sigma * rng.normal()), 0.999))
        }
        return (pHat, p)
    }

    func choose(_ pHat: [Double], budget: Double, guarantee: Guarantee = .corrected(margin: 0.5), seed: UInt64 = 1) throws -> WeightChoice {
        try WeightChoice.choose(pHat: pHat, budget: budget, alpha: 0.1, guarantee: guarantee,
                                grid: { TauGrid.auto(pHat: pHat, boundCap: $0, budget: budget) }, simulations: 12, seed: seed)
    }

    /// The rule as documented: the smallest candidate within the tolerance of the best
    /// predicted mean bound; the same p̂ and seed give the same choice.
    func testChoiceIsTheSmallestWithinToleranceOfTheBest() throws {
        let (pHat, _) = userRegime(n: 600, seed: 3)
        let c = try choose(pHat, budget: 10)
        let best = c.candidates.map(\.predictedMeanLPB).max()!
        XCTAssertGreaterThanOrEqual(c.chosen.predictedMeanLPB, (1 - c.tolerance) * best)
        for other in c.candidates where other.maxWeight < c.maxWeight {
            XCTAssertLessThan(other.predictedMeanLPB, (1 - c.tolerance) * best, "W = \(other.maxWeight) was good enough")
        }
        XCTAssertEqual(c.candidates.map(\.maxWeight), WeightChoice.defaultCandidates)
        XCTAssertEqual(try choose(pHat, budget: 10), c)
        for cand in c.candidates { XCTAssertEqual(cand.boundCap, (10 * cand.maxWeight).rounded(.down)) }
    }

    /// At B = 10 the paper's W = 100 caps the rare prompts' bounds (M = 1,000): the choice
    /// goes higher. At B = 100 the same prompts need a smaller W for the same M.
    func testChoiceGrowsWhereTheCapBinds() throws {
        let (pHat, _) = userRegime(n: 600, seed: 4)
        let at10 = try choose(pHat, budget: 10), at100 = try choose(pHat, budget: 100)
        XCTAssertGreaterThan(at10.maxWeight, 100)
        XCTAssertLessThan(at100.maxWeight, at10.maxWeight)
        XCTAssertGreaterThan(at10.chosen.predictedMeanLPB, at10.candidates.first { $0.maxWeight == 100 }!.predictedMeanLPB)
    }

    /// Nothing but p̂ and the seed enters: no observation exists yet. Different p̂, other choice
    /// figures; the candidates that cannot cap at ≥ 1 are left out; naive and adaptive refused.
    func testChoiceInputsAndRefusals() throws {
        let (pHat, _) = userRegime(n: 300, seed: 5)
        let c = try choose(pHat, budget: 0.3)
        XCTAssertTrue(c.candidates.allSatisfy { $0.boundCap >= 1 })
        XCTAssertEqual(c.candidates.first?.maxWeight, 5)
        for s in [AllocationStrategy.naive, .basic, .adaptive] {
            XCTAssertThrowsError(try WeightChoice.choose(pHat: pHat, budget: 10, alpha: 0.1, guarantee: .marginal, strategy: s,
                                                         grid: { _ in .default }))
        }
    }

    /// The corrected rule with margin 0 is the paper's rule, and a larger margin never
    /// selects a higher level.
    func testCorrectedRuleIsMarginalAtZeroAndMonotone() throws {
        for seed in UInt64(1)...6 {
            let (pHat, p) = userRegime(n: 800, seed: seed)
            let settings = PlanSettings(strategy: .optimized, budget: 10, maxWeight: 1000, seed: seed)
            let plan = try Allocation.plan(pHat: pHat, settings: settings)
            var rng = SeededRNG(seed: seed).derived(9)
            let times = p.map { rng.geometric($0) }
            let obs = zip(times, plan.cap).map { (min($0, $1), $0 <= $1) }
            let sample = CalibrationSample(strategy: .optimized, budget: 10, pHat: pHat, pi: plan.pi, cap: plan.cap,
                                           observed: obs.map(\.0), event: obs.map(\.1))
            let bounds = CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap)
            let plain = try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.1, guarantee: .marginal)
            XCTAssertEqual(try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.1, guarantee: .corrected(margin: 0)).tauIndex, plain.tauIndex)
            var last = plain.tauIndex
            for k in [0.25, 0.5, 1, 2] {
                let r = try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.1, guarantee: .corrected(margin: k))
                XCTAssertLessThanOrEqual(r.tauIndex, last, "margin \(k), seed \(seed)")
                if r.tauIndex >= 0 {
                    let j = r.tauIndex
                    XCTAssertLessThan(r.curve.estimate[j] + k * r.curve.standardError(j), 0.1)
                }
                last = r.tauIndex
            }
        }
        XCTAssertThrowsError(try Calibrator.calibrate(CalibrationSample(strategy: .optimized, budget: 1, pHat: [0.1], pi: [1], cap: [1], observed: [1], event: [false]),
                                                      bounds: CandidateBounds(grid: .default), alpha: 0.1, guarantee: .corrected(margin: -1)))
    }

    /// The standard error against its definition on a small sample worked by hand:
    /// weights 2 and 4 on two of four prompts → Z = (2, 4, 0, 0) at every level.
    func testStandardErrorReferenceValue() throws {
        let sample = CalibrationSample(strategy: .optimized, budget: 1, pHat: [0.5, 0.5, 0.5, 0.5], pi: [0.5, 0.25, 1, 1],
                                       cap: [10, 10, 10, 10], observed: [1, 1, 10, 10], event: [true, true, false, false])
        let curve = try MiscoverageCurve(sample: sample, bounds: CandidateBounds(grid: TauGrid(minLog10: -0.2, maxLog10: -0.1, count: 2)))
        // mean 1.5, mean square 5, variance 5 − 2.25 = 2.75, se = √(2.75/4)
        XCTAssertEqual(curve.estimate[0], 1.5, accuracy: 1e-12)
        XCTAssertEqual(curve.standardError(0), (2.75 / 4).squareRoot(), accuracy: 1e-12)
    }

    /// In simulation at a user's size (n = 300, B = 10, W = 1,000, 150 calibrations), the
    /// corrected rule covers at least 1 − α on average, more than the plain rule does.
    func testCorrectedRuleCoversOnAverageAtSmallN() throws {
        let test = userRegime(n: 4000, seed: 99)
        var plain = 0.0, corrected = 0.0
        let reps = 150
        for r in 0..<reps {
            let (pHat, p) = userRegime(n: 300, seed: 1000 + UInt64(r))
            let settings = PlanSettings(strategy: .optimized, budget: 10, maxWeight: 1000, seed: UInt64(r))
            let plan = try Allocation.plan(pHat: pHat, settings: settings)
            var rng = SeededRNG(seed: UInt64(r)).derived(9)
            let obs = zip(p.map { rng.geometric($0) }, plan.cap).map { (min($0, $1), $0 <= $1) }
            let sample = CalibrationSample(strategy: .optimized, budget: 10, pHat: pHat, pi: plan.pi, cap: plan.cap,
                                           observed: obs.map(\.0), event: obs.map(\.1))
            let bounds = CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap)
            for (g, acc) in [(Guarantee.marginal, 0), (.corrected(margin: 0.5), 1)] {
                let res = try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.1, guarantee: g)
                let l = LowerBound(tauHat: res.tauHat, boundCap: settings.boundCap).bounds(test.pHat)
                let cov = Evaluation.exactCoverage(bounds: l, p: test.p)
                if acc == 0 { plain += cov } else { corrected += cov }
            }
        }
        plain /= Double(reps); corrected /= Double(reps)
        XCTAssertGreaterThan(corrected, plain)
        XCTAssertGreaterThanOrEqual(corrected, 0.9, "plain \(plain)")
    }
}
