import XCTest
@testable import TTUCore

final class TwoStageTests: XCTestCase {
    /// A calibration population (`TestPopulation`, seed) and test prompts drawn the same way
    /// (seed + 1), as a study.
    static func study(calibration n: Int, test m: Int, seed: UInt64) -> (TestPopulation, CalibrationStudy) {
        let pop = TestPopulation(n: n, seed: seed)
        var rng = SeededRNG(seed: seed + 1)
        let testP = (0..<m).map { _ in pow(10, -4 + 2.5 * rng.uniformOpen()) }
        let testPHat = testP.map { min(0.9, $0 * exp(0.6 * rng.normal() + 0.3)) }
        return (pop, CalibrationStudy(calibrationPHat: pop.pHat, calibrationP: pop.p, testPHat: testPHat, testP: testP))
    }

    func testExpectedCost() {
        // E[min(T, w)] = (1 − (1 − p)^w)/p; p = 0.5, w = 2: 1 + 0.5
        XCTAssertEqual(TwoStage.expectedCost(pHat: 0.5, cap: 2), 1.5, accuracy: 1e-15)
        XCTAssertEqual(TwoStage.expectedCost(pHat: 0, cap: 7), 7)
        XCTAssertEqual(TwoStage.expectedCost(pHat: 1, cap: 7), 1)
        XCTAssertEqual(TwoStage.expectedCost(pHat: 1e-9, cap: 1000), 1000, accuracy: 1e-3)
    }

    /// The fallback: a pilot that cannot expect `minPilotMisses` miscovered prompts leaves
    /// the calibration to `optimized` on every prompt — the study's rows are then optimized's,
    /// draw for draw (same seeds, same latent times). The decision reads p̂, B and α only.
    func testTooSmallAPilotFallsBackToOptimized() throws {
        let (pop, study) = Self.study(calibration: 3000, test: 1000, seed: 43)
        let pilot = try TwoStage.pilotPlan(pHat: Array(pop.pHat.prefix(600)), budget: 50, grid: .default, settings: .init(), seed: 1)
        let misses = TwoStage.expectedPilotMisses(pilot, alpha: 0.1)
        XCTAssertEqual(misses, 0.1 * pilot.pi!.reduce(0, +), accuracy: 1e-9)
        XCTAssertLessThan(misses, 60)  // at most 0.1 × 600
        XCTAssertTrue(TwoStage.fallsBack(pilot, alpha: 0.1, settings: .init()))
        var lowered = TwoStage.Settings(); lowered.minPilotMisses = misses / 2
        XCTAssertFalse(TwoStage.fallsBack(pilot, alpha: 0.1, settings: lowered))

        let settings = CalibrationStudy.Settings(strategies: [.adaptive, .optimized], budgets: [50], repetitions: 4, alpha: 0.1, seed: 7)
        let rows = try study.run(settings)
        let adaptive = rows.filter { $0.strategy == .adaptive }, optimized = rows.filter { $0.strategy == .optimized }
        XCTAssertEqual(adaptive.count, 4)
        XCTAssertTrue(adaptive.allSatisfy(\.fellBack))
        XCTAssertEqual(CalibrationStudy.fallbackBudgets(rows), [50])
        for (a, o) in zip(adaptive, optimized) {
            XCTAssertEqual(a.coverage, o.coverage); XCTAssertEqual(a.meanLPB, o.meanLPB)
            XCTAssertEqual(a.meanGenerations, o.meanGenerations); XCTAssertEqual(a.tauIndex, o.tauIndex); XCTAssertEqual(a.rep, o.rep)
        }
    }

    func testPilotRowsAreASeededSubset() {
        let a = TwoStage.pilotRows(count: 1000, fraction: 0.2, seed: 1)
        XCTAssertEqual(a.count, 200)
        XCTAssertEqual(Set(a).count, 200)
        XCTAssertEqual(a, TwoStage.pilotRows(count: 1000, fraction: 0.2, seed: 1))
        XCTAssertNotEqual(a, TwoStage.pilotRows(count: 1000, fraction: 0.2, seed: 2))
    }

    /// The final stage's validity does not depend on the pilot: for *arbitrary* choices —
    /// W, cap level and cost model picked at random, as a broken or adversarial pilot
    /// might — the final-stage IPW estimate stays unbiased, so the selected bound covers.
    func testFinalStageIsValidWhateverThePilotChose() throws {
        let pop = TestPopulation(n: 1200, seed: 31)
        var testRNG = SeededRNG(seed: 32)
        let testP = (0..<4000).map { _ in pow(10, -4 + 2.5 * testRNG.uniformOpen()) }
        let testPHat = testP.map { min(0.9, $0 * exp(0.6 * testRNG.normal() + 0.3)) }
        var choiceRNG = SeededRNG(seed: 33)
        let alpha = 0.1
        var coverages: [Double] = []
        var unbiasedGaps: [Double] = []
        for r in 0..<80 {
            // An arbitrary "pilot decision".
            let w = [2.0, 10, 100, 1000, 10_000, 100_000][Int(choiceRNG.next() % 6)]
            let capIndex = 20 + Int(choiceRNG.next() % 280)
            let base = TauGrid.default
            let grid = TauGrid(minLog10: base.minLog10, maxLog10: log10(base.taus[capIndex]), count: capIndex + 1)
            let model = CostModel(edges: [10, 100], ratios: [choiceRNG.uniformOpen() * 3, 1, choiceRNG.uniformOpen()],
                                  scale: 0.5 + 20 * choiceRNG.uniformOpen(), byExpectedCost: choiceRNG.bernoulli(0.5))
            let choice = TwoStage.Choice(maxWeight: w, grid: grid, costModel: model, costRatio: 1, finalBudget: 30, candidates: [])
            let plan = try TwoStage.finalPlan(pHat: pop.pHat, budget: 30, choice: choice, seed: UInt64(1000 + r))
            var rng = SeededRNG(seed: UInt64(2000 + r))
            let (o, e) = SimulatedSampling.observe(p: pop.p, cap: plan.cap, rng: &rng)
            let sample = CalibrationSample(strategy: .adaptive, budget: 30, pHat: pop.pHat, pi: plan.pi, cap: plan.cap, observed: o, event: e)
            let bounds = CandidateBounds(grid: grid, cap: plan.settings.boundCap)
            let curve = try MiscoverageCurve(sample: sample, bounds: bounds)
            // Unbiasedness at one level: the true miscoverage of q_j on these prompts.
            let j = grid.count / 2
            let truth = zip(pop.p, pop.pHat).reduce(0.0) { $0 + Geometric.cdf(bounds.bound(j, pHat: $1.1) - 1, p: $1.0) } / Double(pop.p.count)
            unbiasedGaps.append(curve.estimate[j] - truth)
            let result = try Calibrator.calibrate(sample, bounds: bounds, alpha: alpha, guarantee: .marginal)
            let l = LowerBound(tauHat: result.tauHat, boundCap: plan.settings.boundCap).bounds(testPHat)
            coverages.append(Evaluation.exactCoverage(bounds: l, p: testP))
        }
        let gap = Evaluation.mean(unbiasedGaps)
        let se = Evaluation.sd(unbiasedGaps) / Double(unbiasedGaps.count).squareRoot()
        XCTAssertLessThan(abs(gap), 4 * se + 1e-9, "IPW estimate biased under an arbitrary pilot choice: \(gap) ± \(se)")
        XCTAssertGreaterThanOrEqual(Evaluation.mean(coverages), 1 - alpha - 0.01, "mean coverage \(Evaluation.mean(coverages))")
    }

    /// End to end on a synthetic population: the pilot's choice and the final stage together
    /// cover at 1 − α, never reuse pilot prompts, and spend within the budget on average.
    func testAdaptiveStudyCoversAndStaysWithinBudget() throws {
        let (_, study) = Self.study(calibration: 6000, test: 3000, seed: 41)
        var settings = CalibrationStudy.Settings(strategies: [.adaptive, .optimized], budgets: [200], repetitions: 8, alpha: 0.1, seed: 5)
        settings.twoStage.minPilotMisses = 20  // 1,200 pilot prompts: below the default's 400 expected misses
        let all = try study.run(settings)
        let rows = all.filter { $0.strategy == .adaptive }
        // Two stages ran (no fallback): the draws are not optimized's.
        XCTAssertFalse(all.contains(where: \.fellBack))
        XCTAssertNotEqual(rows.map(\.meanGenerations), all.filter { $0.strategy == .optimized }.map(\.meanGenerations))
        let coverage = Evaluation.mean(rows.map(\.coverage))
        XCTAssertGreaterThan(coverage, 0.88)
        XCTAssertLessThanOrEqual(Evaluation.mean(rows.map(\.meanGenerations)), 200)
        XCTAssertTrue(rows.allSatisfy { $0.tauHat != nil })
    }
}
