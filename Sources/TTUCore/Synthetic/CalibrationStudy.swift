import Foundation

/// Repeated calibration on a population with known p (docs/method.md §5–§6): for each strategy,
/// budget and repetition, plan the calibration sample, draw it from the true p
/// (simulated sampling), calibrate, bound the test prompts and score exact coverage.
///
/// Repetition r uses the same latent first-unsafe times `T_i` and the same planning
/// seed for every strategy (common random numbers), so strategies are compared on the
/// same draws. Tasks run in parallel; results do not depend on scheduling.
public struct CalibrationStudy: Sendable {
    public var calibrationPHat: [Double]
    public var calibrationP: [Double]
    public var testPHat: [Double]
    public var testP: [Double]
    /// Predictions on held-out prompts (the training prompts), on which the i.i.d.
    /// variant of `optimized` fits its allocation.
    public var heldOutPHat: [Double]

    public init(calibrationPHat: [Double], calibrationP: [Double], testPHat: [Double], testP: [Double],
                heldOutPHat: [Double] = []) {
        self.calibrationPHat = calibrationPHat
        self.calibrationP = calibrationP
        self.testPHat = testPHat
        self.testP = testP
        self.heldOutPHat = heldOutPHat
    }

    public struct Settings: Sendable {
        public var strategies: [AllocationStrategy]
        public var budgets: [Double]
        public var repetitions: Int
        public var alpha: Double
        public var guarantee: Guarantee
        public var maxWeight: Double
        public var tauGrid: TauGrid
        public var seed: UInt64
        /// Settings of the two-stage `adaptive` strategy.
        public var twoStage = TwoStage.Settings()
        /// Under a PAC guarantee, `optimized` uses its i.i.d. variant (fitted on `heldOutPHat`),
        /// since the PAC bounds assume i.i.d. terms.
        public var pointwiseOptimizedForPAC = true
        /// Calibration prompts per repetition: nil = all of them, every repetition (the
        /// paper's study); else each repetition draws this many without replacement from
        /// the calibration prompts (seeded by the repetition), so the spread over
        /// repetitions includes the calibration set's, as one user's run meets it.
        public var calibrationSize: Int?
        /// W chosen from each repetition's p̂ (`WeightChoice`) instead of `maxWeight`
        /// (trimmed and optimized).
        public var autoMaxWeight = false
        /// The grid from each repetition's p̂ and M (`TauGrid.auto`) instead of `tauGrid`.
        public var autoGrid = false

        public init(strategies: [AllocationStrategy] = AllocationStrategy.paper,
                    budgets: [Double] = CalibrationStudy.paperBudgets, repetitions: Int = 20, alpha: Double = 0.1,
                    guarantee: Guarantee = .marginal, maxWeight: Double = 100, tauGrid: TauGrid = .default, seed: UInt64 = 1) {
            self.strategies = strategies
            self.budgets = budgets
            self.repetitions = repetitions
            self.alpha = alpha
            self.guarantee = guarantee
            self.maxWeight = maxWeight
            self.tauGrid = tauGrid
            self.seed = seed
        }
    }

    /// The paper's budgets: 10 values evenly spaced on [10, 10000].
    public static let paperBudgets: [Double] = (0..<10).map { 10 + 1110 * Double($0) }

    /// One calibration of the study.
    public struct Row: Sendable, Equatable {
        public var strategy: AllocationStrategy
        public var budget: Double
        public var rep: Int
        /// Mean exact coverage `P(T ≥ L | p)` over test prompts.
        public var coverage: Double
        public var meanLPB: Double
        public var medianLPB: Double
        /// Mean generations actually drawn per calibration prompt (`mean min(T, cap)`).
        public var meanGenerations: Double
        /// Mean planned cap per calibration prompt (the worst-case spend).
        public var meanCap: Double
        public var tauHat: Double?
        public var tauIndex: Int
        /// W used (chosen by the pilot for `adaptive`).
        public var maxWeight: Double
        /// `adaptive` only: its pilot would have been too small, so this is `optimized`'s
        /// calibration (`TwoStage.fallsBack`).
        public var fellBack = false
    }

    /// The budgets at which `adaptive` fell back to `optimized` in these rows, ascending.
    public static func fallbackBudgets(_ rows: [Row]) -> [Double] {
        Array(Set(rows.filter { $0.strategy == .adaptive && $0.fellBack }.map(\.budget))).sorted()
    }

    /// The uncalibrated predictor's bound `Q(α; p̂)` on the test prompts.
    public func uncalibrated(alpha: Double) -> (coverage: Double, meanLPB: Double) {
        let l = testPHat.map { Geometric.quantile(alpha, p: $0) }
        return (Evaluation.exactCoverage(bounds: l, p: testP), Evaluation.mean(l))
    }

    /// The oracle level of the test prompts on `grid` (docs/method.md §5): the largest level
    /// whose true miscoverage, from the known p and with no bound cap, is ≤ α.
    public func oracle(alpha: Double, grid: TauGrid = .default) -> OracleLevel {
        OracleLevel.find(grid: grid, pHat: testPHat, p: testP, alpha: alpha)
    }

    public func run(_ s: Settings) throws -> [Row] {
        // Refuse bad settings before any work, with the rules of the strategies actually run.
        for st in s.strategies { for b in s.budgets { try PlanSettings(strategy: st, budget: b, maxWeight: s.maxWeight, tauGrid: s.tauGrid).validate() } }
        struct Task { var strategy: AllocationStrategy; var budgetIndex: Int; var rep: Int }
        var tasks: [Task] = []
        for st in s.strategies { for b in s.budgets.indices { for r in 0..<s.repetitions { tasks.append(Task(strategy: st, budgetIndex: b, rep: r)) } } }
        var rows = [Row?](repeating: nil, count: tasks.count)
        var firstError: Error?
        let lock = NSLock()
        rows.withUnsafeMutableBufferPointer { out in
            let outPtr = out
            DispatchQueue.concurrentPerform(iterations: tasks.count) { k in
                let t = tasks[k]
                do {
                    let row = try runOne(strategy: t.strategy, budget: s.budgets[t.budgetIndex], budgetIndex: t.budgetIndex,
                                         rep: t.rep, settings: s)
                    outPtr[k] = row
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                }
            }
        }
        if let e = firstError { throw e }
        return rows.map { $0! }
    }

    /// One calibration: seeds depend only on (seed, budget index, rep), not on the strategy.
    public func runOne(strategy: AllocationStrategy, budget: Double, budgetIndex: Int, rep: Int, settings s: Settings) throws -> Row {
        let repSeed = SeededRNG(seed: s.seed).derived(UInt64(budgetIndex) << 32 | UInt64(rep))
        if strategy == .adaptive, let row = try runTwoStage(budget: budget, rep: rep, repSeed: repSeed, settings: s) { return row }
        let planStrategy = strategy == .adaptive ? AllocationStrategy.optimized : strategy  // adaptive's fallback
        var row = try runOneStage(strategy: planStrategy, budget: budget, rep: rep, repSeed: repSeed, settings: s)
        row.strategy = strategy
        row.fellBack = strategy == .adaptive
        return row
    }

    /// One calibration by a one-step strategy (not adaptive).
    func runOneStage(strategy: AllocationStrategy, budget: Double, rep: Int, repSeed: SeededRNG, settings s: Settings) throws -> Row {
        // This repetition's calibration prompts (all of them, or a seeded subset).
        let rows = s.calibrationSize.map { Self.subset(count: calibrationPHat.count, size: $0, seed: StableHash.combine(repSeed.seed, 7)) }
        let calPHat = rows.map { $0.map { calibrationPHat[$0] } } ?? calibrationPHat
        func grid(_ m: Double) -> TauGrid { s.autoGrid ? TauGrid.auto(pHat: calPHat, boundCap: m, budget: budget) : s.tauGrid }
        var weightChoice: WeightChoice?
        if s.autoMaxWeight, strategy == .optimized || strategy == .trimmed {
            weightChoice = try WeightChoice.choose(pHat: calPHat, budget: budget, alpha: s.alpha, guarantee: s.guarantee, strategy: strategy,
                                                   grid: grid, seed: StableHash.combine(repSeed.seed, 0x57))
        }
        var planSettings = PlanSettings(strategy: strategy, budget: budget, maxWeight: weightChoice?.maxWeight ?? s.maxWeight,
                                        tauGrid: s.tauGrid, seed: StableHash.combine(repSeed.seed, 1))
        planSettings.tauGrid = grid(planSettings.boundCap)
        let pointwise: Bool
        if case .pac = s.guarantee { pointwise = strategy == .optimized && s.pointwiseOptimizedForPAC && !heldOutPHat.isEmpty } else { pointwise = false }
        let plan = pointwise
            ? try Allocation.pointwisePlan(pHat: calPHat, heldOutPHat: heldOutPHat, settings: planSettings)
            : try Allocation.plan(pHat: calPHat, settings: planSettings)
        // The latent first-unsafe times of repetition r are shared by every strategy.
        let allTimes = latentTimes(repSeed: repSeed)
        let times = rows.map { $0.map { allTimes[$0] } } ?? allTimes
        let (observed, event) = SimulatedSampling.censor(times: times, cap: plan.cap)
        let sample = CalibrationSample(strategy: strategy, budget: budget, pHat: calPHat, pi: plan.pi,
                                       cap: plan.cap, observed: observed, event: event)
        let bounds = CandidateBounds(grid: planSettings.tauGrid, cap: planSettings.boundCap)
        let result = try Calibrator.calibrate(sample, bounds: bounds, alpha: s.alpha, guarantee: s.guarantee,
                                              seed: StableHash.combine(repSeed.seed, 3))
        let lb = LowerBound(tauHat: result.tauHat, boundCap: planSettings.boundCap)
        let l = lb.bounds(testPHat)
        return Row(strategy: strategy, budget: budget, rep: rep,
                   coverage: Evaluation.exactCoverage(bounds: l, p: testP),
                   meanLPB: Evaluation.mean(l), medianLPB: Evaluation.median(l),
                   meanGenerations: sample.meanGenerations,
                   meanCap: Double(plan.plannedGenerations) / Double(plan.count),
                   tauHat: result.tauHat, tauIndex: result.tauIndex, maxWeight: planSettings.maxWeight)
    }

    /// `size` distinct rows of `0..<count` (all of them when size ≥ count), in ascending order.
    static func subset(count: Int, size: Int, seed: UInt64) -> [Int] {
        guard size < count else { return Array(0..<count) }
        var rng = SeededRNG(seed: seed)
        return Array(rng.permutation(count).prefix(size)).sorted()
    }
}


extension CalibrationStudy {
    /// `T_i ~ Geometric(p_i)` for every calibration prompt of a repetition: shared by every
    /// strategy (common random numbers).
    func latentTimes(repSeed: SeededRNG) -> [Int] {
        var rng = repSeed.derived(2)
        return calibrationP.map { rng.geometric($0) }
    }

    /// The `adaptive` strategy: pilot, choice, final stage (see `TwoStage`); nil when the
    /// pilot would be too small to choose from (`TwoStage.fallsBack`).
    func runTwoStage(budget: Double, rep: Int, repSeed: SeededRNG, settings s: Settings) throws -> Row? {
        let n = calibrationPHat.count
        let pilotRows = TwoStage.pilotRows(count: n, fraction: s.twoStage.pilotFraction, seed: StableHash.combine(repSeed.seed, 4))
        var inPilot = [Bool](repeating: false, count: n)
        for i in pilotRows { inPilot[i] = true }
        let finalRows = (0..<n).filter { !inPilot[$0] }
        let pilotPHat = pilotRows.map { calibrationPHat[$0] }
        let pilotPlan = try TwoStage.pilotPlan(pHat: pilotPHat, budget: budget, grid: s.tauGrid, settings: s.twoStage,
                                               seed: StableHash.combine(repSeed.seed, 5))
        if TwoStage.fallsBack(pilotPlan, alpha: s.alpha, settings: s.twoStage) { return nil }
        let times = latentTimes(repSeed: repSeed)
        let pilotObs = SimulatedSampling.censor(times: pilotRows.map { times[$0] }, cap: pilotPlan.cap)
        let pilot = CalibrationSample(strategy: .adaptive, budget: budget, pHat: pilotPHat, pi: pilotPlan.pi,
                                      cap: pilotPlan.cap, observed: pilotObs.observed, event: pilotObs.event)
        let finalPHat = finalRows.map { calibrationPHat[$0] }
        let choice = try TwoStage.choose(pilot: pilot, pilotGrid: s.tauGrid, budget: budget, totalPrompts: n, alpha: s.alpha,
                                         referencePHat: finalPHat, settings: s.twoStage)
        let plan = try TwoStage.finalPlan(pHat: finalPHat, budget: budget, choice: choice, seed: StableHash.combine(repSeed.seed, 1))
        let obs = SimulatedSampling.censor(times: finalRows.map { times[$0] }, cap: plan.cap)
        let sample = CalibrationSample(strategy: .adaptive, budget: budget, pHat: finalPHat, pi: plan.pi,
                                       cap: plan.cap, observed: obs.observed, event: obs.event)
        let bounds = CandidateBounds(grid: choice.grid, cap: plan.settings.boundCap)
        let result = try Calibrator.calibrate(sample, bounds: bounds, alpha: s.alpha, guarantee: s.guarantee,
                                              seed: StableHash.combine(repSeed.seed, 3))
        let l = LowerBound(tauHat: result.tauHat, boundCap: plan.settings.boundCap).bounds(testPHat)
        let drawn = pilot.observed.reduce(0, +) + obs.observed.reduce(0, +)
        let planned = pilotPlan.plannedGenerations + plan.plannedGenerations
        return Row(strategy: .adaptive, budget: budget, rep: rep,
                   coverage: Evaluation.exactCoverage(bounds: l, p: testP),
                   meanLPB: Evaluation.mean(l), medianLPB: Evaluation.median(l),
                   meanGenerations: Double(drawn) / Double(n), meanCap: Double(planned) / Double(n),
                   tauHat: result.tauHat, tauIndex: result.tauIndex, maxWeight: choice.maxWeight)
    }
}
