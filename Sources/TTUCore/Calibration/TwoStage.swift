import Foundation

/// The two-stage `adaptive` strategy (docs/method.md §3, beyond the paper).
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
    public struct Settings: Equatable, Sendable {
        /// Fraction of calibration prompts spent on the pilot.
        public var pilotFraction: Double = 0.2
        /// Candidate maximum weights W, about half a decade apart from the paper's 100 up:
        /// the largest ones let M = ⌊B·W⌋ reach the few very large bounds that make up most
        /// of the oracle's mean (docs/method.md §6); the pilot keeps one only if its
        /// predicted noise allows it.
        public var weightCandidates: [Double] = [100, 300, 1000, 3000, 10_000, 30_000, 100_000]
        /// The cap level is this many times the level the pilot expects to select.
        public var capSafety: Double = 5
        /// How many final-stage standard errors the predicted level must clear.
        public var noiseMargin: Double = 2
        /// Largest final-stage standard error of the miscoverage estimate accepted.
        public var maxStandardError: Double = 0.004
        /// Corrected expected costs are inflated by this factor. The final stage's spend is
        /// dominated by the few prompts whose p̂ is far too low (they cost ~1/p, not the cap),
        /// and the pilot sees few of them, so its cost estimate is noisy; in the synthetic
        /// study (docs/method.md §6) 1.1 overspent B = 1120 by ~20% with W up to 1000, and 1.6
        /// overspent it by 10% with W up to 10⁵ (whose few huge caps cost most); 2.5 keeps
        /// the mean draw below B at every budget of the study.
        public var costMargin: Double = 2.5
        /// Allocate the final stage by p̂'s expected cost (true) or by worst-case cost, the cap (false).
        public var byExpectedCost = true
        /// The pilot must expect to see at least this many miscovered prompts among those it
        /// samples (`α·Σπ₁`), else it is too small to choose from and the whole calibration
        /// set is planned as `optimized` instead (`fallsBack`). At 400 the pilot's own
        /// estimate near α has a relative standard error of about 1/√400 = 5%; in the
        /// synthetic study pilots below that (B ≤ 300) spread the final coverage by 0.015–0.03.
        public var minPilotMisses: Double = 400

        public init() {}
    }

    /// α·Σπ₁: how many miscovered prompts the pilot expects among those it samples, if
    /// p̂ ranks prompts well (a fraction α of any prompts is miscovered at the level sought).
    public static func expectedPilotMisses(_ pilotPlan: CalibrationPlan, alpha: Double) -> Double {
        alpha * (pilotPlan.pi ?? []).reduce(0, +)
    }

    /// Whether the pilot is too small to choose from (docs/method.md §3, "Fallback"): then
    /// every calibration prompt is planned by `optimized` instead. The decision reads only
    /// p̂, B, α and the settings — no observation — so either branch keeps its own guarantee.
    public static func fallsBack(_ pilotPlan: CalibrationPlan, alpha: Double, settings: Settings) -> Bool {
        expectedPilotMisses(pilotPlan, alpha: alpha) < settings.minPilotMisses
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
                return CalibrationPlan(settings: plan, pHat: pHat, priorQuantile: w, pi: pi, cap: caps)
    }

    /// What the pilot chose for the final stage, and why (written to plan.json).
    public struct Choice: Equatable, Sendable {
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

        public struct Candidate: Equatable, Sendable {
            public var maxWeight: Double
            public var pilotTauIndex: Int
            public var predictedMeanLPB: Double
            public var standardError: Double

            public init(maxWeight: Double, pilotTauIndex: Int, predictedMeanLPB: Double, standardError: Double) {
                self.maxWeight = maxWeight
                self.pilotTauIndex = pilotTauIndex
                self.predictedMeanLPB = predictedMeanLPB
                self.standardError = standardError
            }
        }

        public init(maxWeight: Double, grid: TauGrid, costModel: CostModel, costRatio: Double, finalBudget: Double, candidates: [Candidate]) {
            self.maxWeight = maxWeight
            self.grid = grid
            self.costModel = costModel
            self.costRatio = costRatio
            self.finalBudget = finalBudget
            self.candidates = candidates
        }
    }

    /// Chooses W, the cap level and the final allocation from the pilot's observations.
    /// `referencePHat` are the predictions whose mean bound is maximised (the final stage's).
    ///
    /// Steps: assess every candidate W on the pilot (`Pilot.assess`), keep the best
    /// (`bestCandidate`), set the cap level above the level it expects (`capIndex`), cut
    /// the grid there (`finalGrid`) and fit the final allocation's cost model on the
    /// pilot for that W and grid (`Pilot.fitCostModel`).
    public static func choose(pilot sample: CalibrationSample, pilotGrid grid: TauGrid, budget: Double, totalPrompts n: Int,
                              alpha: Double, referencePHat: [Double], settings: Settings) throws -> Choice {
        let pilot = try Pilot(sample, budget: budget, totalPrompts: n, settings: settings)
        var candidates: [Choice.Candidate] = []
        for maxWeight in settings.weightCandidates.sorted() {
            candidates.append(try pilot.assess(maxWeight: maxWeight, grid: grid, alpha: alpha, referencePHat: referencePHat))
        }
        let best = bestCandidate(candidates)
        let maxWeight = best?.maxWeight ?? (settings.weightCandidates.min() ?? 100)
        let capLevel = capIndex(grid.taus, expectedLevel: best?.pilotTauIndex, capSafety: settings.capSafety)
        let finalStageGrid = finalGrid(grid, capIndex: capLevel)
        let finalBounds = CandidateBounds(grid: finalStageGrid, cap: boundCap(budget: budget, maxWeight: maxWeight))
        return Choice(maxWeight: maxWeight, grid: finalStageGrid, costModel: pilot.fitCostModel(finalBounds, top: finalBounds.count - 1),
                      costRatio: pilot.costRatio(), finalBudget: pilot.finalBudget,
                      candidates: candidates)
    }

    /// The bound cap `M = ⌊B·W⌋` for budget B per prompt and maximum weight W.
    static func boundCap(budget: Double, maxWeight: Double) -> Double { (budget * maxWeight).rounded(.down) }

    /// Choosing W: among the candidates with an admissible level, the one with the largest
    /// predicted mean bound (the first, i.e. the smallest W, on ties); nil if none has one.
    static func bestCandidate(_ candidates: [Choice.Candidate]) -> Choice.Candidate? {
        var best: Choice.Candidate? = nil
        for c in candidates where c.pilotTauIndex >= 0 {
            if best == nil || c.predictedMeanLPB > best!.predictedMeanLPB { best = c }
        }
        return best
    }

    /// The cap level: the first candidate τ at least `capSafety` times the level the pilot
    /// expects the final stage to select (τ of `expectedLevel`), the grid's last level if
    /// the safety factor goes past it or nothing was admissible (`expectedLevel` nil).
    /// The 1e-12 slack keeps a τ equal to the target up to rounding.
    static func capIndex(_ taus: [Double], expectedLevel: Int?, capSafety: Double) -> Int {
        guard let j = expectedLevel else { return taus.count - 1 }
        let target = min(taus[taus.count - 1], capSafety * taus[j])
        return taus.firstIndex { $0 >= target * (1 - 1e-12) } ?? taus.count - 1
    }

    /// The final stage's grid: the pilot grid's first `capIndex + 1` levels (rebuilt from
    /// its end points, so the same τ_j up to rounding); a single level when `capIndex` is 0.
    static func finalGrid(_ grid: TauGrid, capIndex: Int) -> TauGrid {
        capIndex == 0
            ? TauGrid(minLog10: grid.minLog10, maxLog10: grid.minLog10, count: 1)
            : TauGrid(minLog10: grid.minLog10, maxLog10: log10(grid.taus[capIndex]), count: capIndex + 1)
    }

    /// The pilot sample with what every step of `choose` reads from it: the pilot's
    /// inclusion probabilities π₁, the number of final-stage prompts and the budget left
    /// for each of them.
    struct Pilot {
        let sample: CalibrationSample
        /// π₁: the pilot's sampling probabilities.
        let pi: [Double]
        let budget: Double
        let settings: Settings
        /// Prompts left for the final stage.
        let finalCount: Double
        /// Budget per final-stage prompt: what the pilot left of B·n, spread over the final
        /// prompts (at least 1).
        let finalBudget: Double

        var count: Int { sample.count }

        init(_ sample: CalibrationSample, budget: Double, totalPrompts n: Int, settings: Settings) throws {
            guard let pi = sample.pi else { throw TTUError.invalidArgument("the pilot needs π") }
            let finalCount = Double(n - sample.count)
            guard finalCount >= 1 else { throw TTUError.invalidArgument("no prompts left for the final stage") }
            let pilotSpent = Double(sample.observed.reduce(0, +))
            self.sample = sample; self.pi = pi; self.budget = budget; self.settings = settings
            self.finalCount = finalCount
            self.finalBudget = max(1, (budget * Double(n) - pilotSpent) / finalCount)
        }

        /// κ, the cost ratio: generations the sampled pilot prompts actually drew per
        /// generation p̂ expected up to their caps c_i. A diagnostic of p̂'s calibration only.
        func costRatio() -> Double {
            var drawn = 0.0, expected = 0.0
            for i in 0..<count where sample.cap[i] > 0 {
                drawn += Double(sample.observed[i])
                expected += TwoStage.expectedCost(pHat: sample.pHat[i], cap: Double(sample.cap[i]))
            }
            return drawn > 0 && expected > 0 ? drawn / expected : 1
        }

        /// Pilot calibration at one candidate W (bound cap M = ⌊B·W⌋, full grid): the pilot's
        /// miscoverage curve α̂_j, the final allocation π₂ this W would use, and from them the
        /// level the final stage is predicted to select, its predicted standard error, and the
        /// mean bound q_j over `referencePHat` at that level (1 if no level is admissible).
        func assess(maxWeight: Double, grid: TauGrid, alpha: Double, referencePHat: [Double]) throws -> Choice.Candidate {
            let bounds = CandidateBounds(grid: grid, cap: TwoStage.boundCap(budget: budget, maxWeight: maxWeight))
            let curve = try MiscoverageCurve(sample: sample, bounds: bounds)
            let noise = finalStageNoise(bounds, finalPi: finalPi(bounds, top: bounds.count - 1))
            let (j, standardError) = predictedLevel(curve.estimate, levels: bounds.count, noise: noise, alpha: alpha)
            let meanLPB = j < 0 ? 1 : Evaluation.mean(referencePHat.map { bounds.bound(j, pHat: $0) })
            return .init(maxWeight: maxWeight, pilotTauIndex: j, predictedMeanLPB: meanLPB, standardError: standardError)
        }

        /// The level the final stage is predicted to select: the largest j of the first run
        /// of levels, from the smallest, whose pilot estimate clears α by `noiseMargin` predicted
        /// final-stage standard errors (α̂_j + margin·SE_j < α) with SE_j ≤ `maxStandardError`.
        /// Returns that level and its SE, or (−1, 0) when the first level already fails.
        func predictedLevel(_ estimate: [Double], levels: Int, noise: FinalStageNoise, alpha: Double)
            -> (index: Int, standardError: Double) {
            var jHat = -1
            var se = 0.0
            for j in 0..<levels {
                let a = estimate[j]
                let sej = noise.standardError(level: j, miscoverage: a)
                guard a + settings.noiseMargin * sej < alpha, sej <= settings.maxStandardError else { break }
                jHat = j; se = sej
            }
            return (jHat, se)
        }

        /// What the noise of the final stage's estimate α̂_j would be, estimated on the pilot.
        /// A final prompt's IPW term `1{sampled}·1{miss_j}/π₂` has second moment
        /// `E[1{miss_j}/π₂]`; on the pilot that is the IPW sum of `1/(π₁·π₂)` over sampled
        /// prompts miscovered at j. A prompt whose sampling stopped at t generations is
        /// miscovered at every level from the first with q_j > t on, so one cumulative sum
        /// over j gives every level at once.
        func finalStageNoise(_ bounds: CandidateBounds, finalPi pi2: [Double]) -> FinalStageNoise {
            var missMoment = [Double](repeating: 0, count: bounds.count + 1)
            for i in 0..<count where sample.cap[i] > 0 {
                let firstMissed = bounds.firstIndex(above: Double(sample.observed[i]), pHat: sample.pHat[i])
                missMoment[firstMissed] += 1 / (pi[i] * pi2[i])
            }
            for j in 1..<bounds.count { missMoment[j] += missMoment[j - 1] }
            return FinalStageNoise(missMoment: missMoment,
                                   meanInverseFinalPi: pi2.reduce(0) { $0 + 1 / $1 } / Double(count),
                                   pilotCount: Double(count), finalCount: finalCount)
        }

        /// π₂ on the pilot prompts: the final allocation `min(1, s/√c)` fitted for the caps
        /// q_top (the bounds at level `top` under this W's cap M).
        func finalPi(_ bounds: CandidateBounds, top: Int) -> [Double] {
            let model = fitCostModel(bounds, top: top)
            return finalCosts(bounds, top: top).map { model.probability(expectedCost: $0) }
        }

        /// Each pilot prompt's uncorrected final-stage cost: p̂'s expected cost up to its
        /// final cap, the bound q_top(x), or (by worst-case cost) that cap itself.
        func finalCosts(_ bounds: CandidateBounds, top: Int) -> [Double] {
            sample.pHat.map {
                settings.byExpectedCost ? TwoStage.expectedCost(pHat: $0, cap: bounds.bound(top, pHat: $0)) : bounds.bound(top, pHat: $0)
            }
        }

        /// How many strata (deciles of the expected cost) the cost correction has.
        static let costStrata = 10

        /// The cost model and scale of the final allocation `π₂ = min(1, s/√c)`, where c is
        /// p̂'s expected cost corrected per stratum: p̂ is too high for some prompts and too
        /// low for others, so one global correction (dominated by prompts whose p̂ is far too
        /// low) would badly under-price the others. Strata are deciles of the expected cost
        /// on the pilot (`costDecileEdges`), each with its own correction times the margin
        /// (`perDecileCorrection`; 1 everywhere by worst-case cost). s is then fitted on the
        /// pilot prompts to spend the budget left per final prompt.
        func fitCostModel(_ bounds: CandidateBounds, top: Int) -> CostModel {
            let costs = finalCosts(bounds, top: top)
            let edges = Pilot.costDecileEdges(costs)
            let ratios = settings.byExpectedCost
                ? perDecileCorrection(costs, edges: edges, bounds, top: top).map { $0 * settings.costMargin }
                : [Double](repeating: 1, count: Pilot.costStrata)
            var model = CostModel(edges: edges, ratios: ratios, scale: 0, byExpectedCost: settings.byExpectedCost)
            let corrected = costs.map { model.cost($0) }
            model.scale = Allocation.optimizedScale(weights: corrected, totalBudget: finalBudget * Double(count))
            return model
        }

        /// Upper edges of the cost deciles (the last stratum is open): the costs at ranks
        /// k·n/10, k = 1…9, of the sorted pilot costs.
        static func costDecileEdges(_ costs: [Double]) -> [Double] {
            let sorted = costs.sorted()
            return (1..<costStrata).map { sorted[min(sorted.count - 1, $0 * sorted.count / costStrata)] }
        }

        /// κ_b per cost decile: the inverse-probability-weighted ratio of what its sampled
        /// pilot prompts actually cost up to their final caps w₂ = q_top(x) (observable: the
        /// pilot's caps c_i are at least w₂) to what p̂ expected; 1 for a decile without both.
        func perDecileCorrection(_ costs: [Double], edges: [Double], _ bounds: CandidateBounds, top: Int) -> [Double] {
            var actual = [Double](repeating: 0, count: Pilot.costStrata), predicted = actual
            for i in 0..<count where sample.cap[i] > 0 {
                let w2 = bounds.bound(top, pHat: sample.pHat[i])
                let b = CostModel.bin(costs[i], edges)
                actual[b] += min(Double(sample.observed[i]), w2) / pi[i]
                predicted[b] += costs[i] / pi[i]
            }
            return (0..<Pilot.costStrata).map { predicted[$0] > 0 && actual[$0] > 0 ? actual[$0] / predicted[$0] : 1 }
        }
    }

    /// The final stage's predicted noise at every level, from the pilot (see
    /// `Pilot.finalStageNoise`).
    struct FinalStageNoise {
        /// Σ of `1/(π₁·π₂)` over the sampled pilot prompts miscovered at level j, for every j.
        let missMoment: [Double]
        /// Mean of `1/π₂` over the pilot prompts.
        let meanInverseFinalPi: Double
        let pilotCount: Double
        let finalCount: Double

        /// The predicted standard error of the final stage's α̂_j when the pilot estimates
        /// α_j as `a`: `√((m₂ − a²)/n_final)` with the second moment m₂ from the pilot. Where
        /// the pilot sampled few prompts m₂ is unreliable, so it is never taken below
        /// `a·mean(1/π₂)`, what the misses spread evenly over the prompts would give.
        func standardError(level j: Int, miscoverage a: Double) -> Double {
            let moment = max(missMoment[j] / pilotCount, a * meanInverseFinalPi)
            return (max(0, moment - a * a) / finalCount).squareRoot()
        }
    }

    /// The final-stage plan for the prompts that were not in the pilot.
    public static func finalPlan(pHat: [Double], budget: Double, choice: Choice, seed: UInt64) throws -> CalibrationPlan {
        var settings = PlanSettings(strategy: .adaptive, budget: budget, maxWeight: choice.maxWeight,
                                    tauGrid: choice.grid, seed: seed)
        try settings.validate()
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
public struct CostModel: Equatable, Sendable {
    /// Upper edges of the expected-cost strata (ascending); the last stratum is open.
    public var edges: [Double]
    /// Correction per stratum (actual / expected, times the margin).
    public var ratios: [Double]
    /// `s`.
    public var scale: Double
    /// Whether c is p̂'s expected cost (else the worst case, the cap itself, with ratios 1).
    public var byExpectedCost: Bool

    public init(edges: [Double], ratios: [Double], scale: Double, byExpectedCost: Bool) {
        self.edges = edges
        self.ratios = ratios
        self.scale = scale
        self.byExpectedCost = byExpectedCost
    }

    static func bin(_ c: Double, _ edges: [Double]) -> Int {
        var lo = 0, hi = edges.count
        while lo < hi { let mid = (lo + hi) / 2; if c <= edges[mid] { hi = mid } else { lo = mid + 1 } }
        return lo
    }

    public func cost(_ expected: Double) -> Double { expected * ratios[CostModel.bin(expected, edges)] }

    public func probability(expectedCost c: Double) -> Double { min(1, scale / cost(c).squareRoot()) }
}
