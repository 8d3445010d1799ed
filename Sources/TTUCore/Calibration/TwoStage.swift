import Foundation

/// The two-stage `adaptive` strategy (METHOD §3, beyond the paper).
///
/// The paper fixes the maximum weight W (hence the bound cap M = ⌊B·W⌋) and the cap level
/// (the largest candidate τ_m) by hand, and budgets each sampled prompt by its worst-case
/// cost although sampling stops at the first unsafe generation. Here a **pilot** on a
/// random fraction of the calibration prompts
///   1. estimates, for each candidate W, the miscoverage curve it would face and the
///      standard error a second stage would have, and keeps the W with the largest
///      predicted mean bound whose level survives that noise;
///   2. sets the cap level a safety factor above the level it expects to select, and
///      restricts the grid to it;
///   3. measures how far p̂'s expected costs are from what sampling actually cost.
/// The **final stage** allocates the remaining prompts pointwise,
/// `π(x) = min(1, s/√c(x))` with `c(x) = E_p̂[min(T, w(x))]` the expected cost under p̂, and
/// `s` set so that the spend the pilot predicts (by IPW, from what its sampling actually
/// cost) equals what is left of the budget.
///
/// Validity: every choice above is a function of the pilot data only, and the final stage
/// is calibrated on its own prompts, disjoint from the pilot. Conditional on the pilot, the
/// final stage is an ordinary IPW calibration with fixed W, grid and π(·) on i.i.d.
/// prompts, so its marginal and PAC guarantees hold whatever the pilot saw. (π is a fixed
/// function of x, so its terms are i.i.d. as PAC needs.)
public enum TwoStage {
    public struct Settings: Codable, Equatable, Sendable {
        /// Fraction of calibration prompts spent on the pilot.
        public var pilotFraction: Double = 0.2
        /// Candidate maximum weights W.
        public var weightCandidates: [Double] = [100, 300, 1000]
        /// The cap level is this many times the level the pilot expects to select.
        public var capSafety: Double = 3
        /// How many final-stage standard errors the predicted level must clear.
        public var noiseMargin: Double = 2
        /// Largest final-stage standard error of the miscoverage estimate accepted.
        public var maxStandardError: Double = 0.004
        /// Corrected expected costs are inflated by this factor. The final stage's spend is
        /// dominated by the few prompts whose p̂ is far too low (they cost ~1/p, not the cap),
        /// and the pilot sees few of them, so its cost estimate is noisy; in the synthetic
        /// study (METHOD §6, seeds 1–3) 1.1 overspent B = 1120 by ~20% and 1.6 kept the mean
        /// draw below B at every budget from 1120 up.
        public var costMargin: Double = 1.6
        /// Allocate the final stage by p̂'s expected cost (true) or by worst-case cost, the cap (false).
        public var byExpectedCost = true

        public init() {}

        enum CodingKeys: String, CodingKey {
            case pilotFraction = "pilot_fraction", weightCandidates = "weight_candidates", capSafety = "cap_safety"
            case noiseMargin = "noise_margin", maxStandardError = "max_standard_error", costMargin = "cost_margin"
            case byExpectedCost = "by_expected_cost"
        }
    }

    /// `E[min(T, w)]` for `T ~ Geometric(p)`: `(1 − (1 − p)^w)/p`, the expected number of
    /// generations a prompt capped at w costs (w itself when p = 0).
    public static func expectedCost(pHat p: Double, cap w: Double) -> Double {
        if p <= 0 || !w.isFinite { return w }
        if p >= 1 { return 1 }
        return -expm1(w * log1p(-p)) / p
    }

    /// Which calibration rows form the pilot (a seeded random subset).
    public static func pilotRows(count n: Int, fraction: Double, seed: UInt64) -> [Int] {
        var rng = SeededRNG(seed: seed).derived(0x9170)
        let k = max(1, min(n - 1, Int((Double(n) * fraction).rounded())))
        return Array(rng.permutation(n).prefix(k)).sorted()
    }

    /// The pilot plan: the optimized allocation by expected cost under p̂ over the pilot
    /// prompts, with the largest candidate W so that its caps cover every bound any
    /// candidate could produce. (Budgeting the pilot by worst-case cost left it drawing a
    /// tenth of its share, with weights so large that its estimates were too noisy to choose.)
    public static func pilotPlan(pHat: [Double], budget: Double, grid: TauGrid, settings: Settings, seed: UInt64) throws -> CalibrationPlan {
        let wMax = settings.weightCandidates.max() ?? 100
        var plan = PlanSettings(strategy: .adaptive, budget: budget, maxWeight: wMax, tauGrid: grid, seed: seed)
        try plan.validate()
        let bounds = CandidateBounds(grid: grid, cap: plan.boundCap)
        let w = pHat.map { bounds.priorQuantile(pHat: $0) }
        let cost = zip(pHat, w).map { expectedCost(pHat: $0, cap: $1) }
        let (pi, _) = Allocation.optimizedProbabilities(weights: cost, totalBudget: budget * Double(pHat.count))
        let caps = Allocation.drawCaps(pi: pi, priorQuantile: w, seed: seed)
        plan.maxLPB = plan.boundCap
        return CalibrationPlan(settings: plan, pHat: pHat, priorQuantile: w, pi: pi, cap: caps)
    }

    /// What the pilot chose for the final stage, and why (written to plan.json).
    public struct Choice: Codable, Equatable, Sendable {
        public var maxWeight: Double
        /// The final stage's grid: the first `capIndex + 1` levels of the pilot's grid.
        public var grid: TauGrid
        /// The final allocation `π(x) = min(1, s/√c(x))` with its corrected cost `c(x)`.
        public var costModel: CostModel
        /// κ: generations actually drawn per generation expected under p̂, on the pilot
        /// (a diagnostic of p̂'s calibration; the scale is fitted on actual pilot costs).
        public var costRatio: Double
        /// Budget per final-stage prompt left after the pilot.
        public var finalBudget: Double
        public var candidates: [Candidate]

        public struct Candidate: Codable, Equatable, Sendable {
            public var maxWeight: Double
            public var pilotTauIndex: Int
            public var predictedMeanLPB: Double
            public var standardError: Double
        }

        enum CodingKeys: String, CodingKey {
            case maxWeight = "max_weight", grid = "tau_grid", costModel = "cost_model", costRatio = "cost_ratio"
            case finalBudget = "final_budget", candidates
        }
    }

    /// Chooses W, the cap level and the final allocation from the pilot's observations.
    /// `referencePHat` are the predictions whose mean bound is maximised (the final stage's).
    public static func choose(pilot: CalibrationSample, pilotGrid grid: TauGrid, budget: Double, totalPrompts n: Int,
                              alpha: Double, referencePHat: [Double], settings: Settings) throws -> Choice {
        guard let pilotPi = pilot.pi else { throw TTUError.invalidArgument("the pilot needs π") }
        let np = pilot.count
        let nFinal = Double(n - np)
        guard nFinal >= 1 else { throw TTUError.invalidArgument("no prompts left for the final stage") }
        // Budget left for the final stage (per prompt), and the cost correction κ.
        let pilotSpent = Double(pilot.observed.reduce(0, +))
        let finalBudget = max(1, (budget * Double(n) - pilotSpent) / nFinal)
        var drawn = 0.0, expected = 0.0
        for i in 0..<np where pilot.cap[i] > 0 {
            drawn += Double(pilot.observed[i])
            expected += expectedCost(pHat: pilot.pHat[i], cap: Double(pilot.cap[i]))
        }
        let kappa = drawn > 0 && expected > 0 ? drawn / expected : 1

        func finalCosts(_ bounds: CandidateBounds, top: Int, pHat: [Double]) -> [Double] {
            pHat.map { settings.byExpectedCost ? expectedCost(pHat: $0, cap: bounds.bound(top, pHat: $0)) : bounds.bound(top, pHat: $0) }
        }
        /// The cost model and scale of the final allocation `π₂ = min(1, s/√c)`, where c is
        /// p̂'s expected cost corrected per stratum: p̂ is too high for some prompts and too
        /// low for others, so one global correction (dominated by prompts whose p̂ is far too
        /// low) would badly under-price the others. Strata are deciles of the expected cost
        /// on the pilot; each gets κ_b, the inverse-probability-weighted ratio of what its
        /// sampled pilot prompts actually cost up to the final caps w₂ (observable: the
        /// pilot's caps are at least w₂) to what p̂ expected. s is then fitted on the pilot
        /// prompts to spend the budget left per final prompt, divided by the margin.
        func costModel(_ bounds: CandidateBounds, top: Int) -> CostModel {
            let costs = finalCosts(bounds, top: top, pHat: pilot.pHat)
            let sorted = costs.sorted()
            let bins = 10
            let edges = (1..<bins).map { sorted[min(sorted.count - 1, $0 * sorted.count / bins)] }
            var actual = [Double](repeating: 0, count: bins), predicted = actual
            for i in 0..<np where pilot.cap[i] > 0 {
                let w2 = bounds.bound(top, pHat: pilot.pHat[i])
                let b = CostModel.bin(costs[i], edges)
                actual[b] += min(Double(pilot.observed[i]), w2) / pilotPi[i]
                predicted[b] += costs[i] / pilotPi[i]
            }
            let ratios = (0..<bins).map { predicted[$0] > 0 && actual[$0] > 0 ? actual[$0] / predicted[$0] : 1 }
            var model = CostModel(edges: edges, ratios: settings.byExpectedCost ? ratios.map { $0 * settings.costMargin } : [Double](repeating: 1, count: bins),
                                  scale: 0, byExpectedCost: settings.byExpectedCost)
            let corrected = costs.map { model.cost($0) }
            model.scale = Allocation.optimizedScale(weights: corrected, totalBudget: finalBudget * Double(np))
            return model
        }
        var candidates: [Choice.Candidate] = []
        var best: (lpb: Double, w: Double, j: Int)? = nil
        for wc in settings.weightCandidates.sorted() {
            let cap = (budget * wc).rounded(.down)
            let bounds = CandidateBounds(grid: grid, cap: cap)
            let curve = try MiscoverageCurve(sample: pilot, bounds: bounds)
            let m = bounds.count
            // Final-stage π for this W (full grid), fitted on the pilot prompts.
            let model = costModel(bounds, top: m - 1)
            let pi2 = finalCosts(bounds, top: m - 1, pHat: pilot.pHat).map { model.probability(expectedCost: $0) }
            // E[1{miss_j}/π₂] by IPW on the pilot, for every j at once (suffix sums), with the
            // spread of that estimate: where the pilot sampled few prompts the estimate is
            // unreliable, so the standard error used is an upper (≈ 97.5%) estimate, never
            // below what misses spread evenly over the prompts would give.
            var second = [Double](repeating: 0, count: m + 1)
            var secondSq = [Double](repeating: 0, count: m + 1)
            for i in 0..<np where pilot.cap[i] > 0 {
                let j0 = bounds.firstIndex(above: Double(pilot.observed[i]), pHat: pilot.pHat[i])
                let z = 1 / (pilotPi[i] * pi2[i])
                second[j0] += z; secondSq[j0] += z * z
            }
            for j in 1..<m { second[j] += second[j - 1]; secondSq[j] += secondSq[j - 1] }
            let meanInversePi2 = pi2.reduce(0) { $0 + 1 / $1 } / Double(np)
            var jHat = -1
            var se = 0.0
            for j in 0..<m {
                let a = curve.estimate[j]
                let npd = Double(np)
                let moment = max(second[j] / npd, a * meanInversePi2)
                let sej = (max(0, moment - a * a) / nFinal).squareRoot()
                guard a + settings.noiseMargin * sej < alpha, sej <= settings.maxStandardError else { break }
                jHat = j; se = sej
            }
            let lpb = jHat < 0 ? 1 : Evaluation.mean(referencePHat.map { bounds.bound(jHat, pHat: $0) })
            candidates.append(.init(maxWeight: wc, pilotTauIndex: jHat, predictedMeanLPB: lpb, standardError: se))
            if jHat >= 0, best == nil || lpb > best!.lpb { best = (lpb, wc, jHat) }
        }
        let wChosen = best?.w ?? (settings.weightCandidates.min() ?? 100)
        let taus = grid.taus
        let capIndex: Int
        if let b = best {
            let target = min(taus[taus.count - 1], settings.capSafety * taus[b.j])
            capIndex = taus.firstIndex { $0 >= target * (1 - 1e-12) } ?? taus.count - 1
        } else {
            capIndex = taus.count - 1
        }
        let finalGrid = capIndex == 0
            ? TauGrid(minLog10: grid.minLog10, maxLog10: grid.minLog10, count: 1)
            : TauGrid(minLog10: grid.minLog10, maxLog10: log10(taus[capIndex]), count: capIndex + 1)
        let bounds = CandidateBounds(grid: finalGrid, cap: (budget * wChosen).rounded(.down))
        return Choice(maxWeight: wChosen, grid: finalGrid, costModel: costModel(bounds, top: bounds.count - 1),
                      costRatio: kappa, finalBudget: finalBudget,
                      candidates: candidates)
    }

    /// The final-stage plan for the prompts that were not in the pilot.
    public static func finalPlan(pHat: [Double], budget: Double, choice: Choice, seed: UInt64) throws -> CalibrationPlan {
        var settings = PlanSettings(strategy: .adaptive, budget: budget, maxWeight: choice.maxWeight,
                                    tauGrid: choice.grid, seed: seed)
        try settings.validate()
        settings.maxLPB = settings.boundCap
        let bounds = CandidateBounds(grid: choice.grid, cap: settings.boundCap)
        let w = pHat.map { bounds.priorQuantile(pHat: $0) }
        let pi = zip(pHat, w).map { choice.costModel.probability(expectedCost: choice.costModel.byExpectedCost ? expectedCost(pHat: $0, cap: $1) : $1) }
        return CalibrationPlan(settings: settings, pHat: pHat, priorQuantile: w, pi: pi,
                               cap: Allocation.drawCaps(pi: pi, priorQuantile: w, seed: seed))
    }
}

/// The final stage's cost model: p̂'s expected cost times a per-stratum correction, and
/// the allocation `π = min(1, s/√c)` it implies. A fixed function of p̂ once the pilot has
/// fitted it, so final-stage terms are i.i.d.
public struct CostModel: Codable, Equatable, Sendable {
    /// Upper edges of the expected-cost strata (ascending); the last stratum is open.
    public var edges: [Double]
    /// Correction per stratum (actual / expected, times the margin).
    public var ratios: [Double]
    /// `s`.
    public var scale: Double
    /// Whether c is p̂'s expected cost (else the worst case, the cap itself, with ratios 1).
    public var byExpectedCost: Bool

    static func bin(_ c: Double, _ edges: [Double]) -> Int {
        var lo = 0, hi = edges.count
        while lo < hi { let mid = (lo + hi) / 2; if c <= edges[mid] { hi = mid } else { lo = mid + 1 } }
        return lo
    }

    public func cost(_ expected: Double) -> Double { expected * ratios[CostModel.bin(expected, edges)] }

    public func probability(expectedCost c: Double) -> Double { min(1, scale / cost(c).squareRoot()) }
}
