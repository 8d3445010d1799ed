import Foundation

/// Repeated calibration on a population with known p (METHOD §5–§6): for each strategy,
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

    public init(calibrationPHat: [Double], calibrationP: [Double], testPHat: [Double], testP: [Double]) {
        self.calibrationPHat = calibrationPHat
        self.calibrationP = calibrationP
        self.testPHat = testPHat
        self.testP = testP
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

        public init(strategies: [AllocationStrategy] = AllocationStrategy.allCases,
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
    }

    /// The uncalibrated predictor's bound `Q(α; p̂)` on the test prompts.
    public func uncalibrated(alpha: Double) -> (coverage: Double, meanLPB: Double) {
        let l = testPHat.map { Geometric.quantile(alpha, p: $0) }
        return (Evaluation.exactCoverage(bounds: l, p: testP), Evaluation.mean(l))
    }

    public func run(_ s: Settings) throws -> [Row] {
        for b in s.budgets { try PlanSettings(strategy: .naive, budget: max(b, 1), maxWeight: s.maxWeight, tauGrid: s.tauGrid).validate() }
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
        let planSettings = PlanSettings(strategy: strategy, budget: budget, maxWeight: s.maxWeight,
                                        tauGrid: s.tauGrid, seed: StableHash.combine(repSeed.seed, 1))
        let plan = try Allocation.plan(pHat: calibrationPHat, settings: planSettings)
        var timeRNG = repSeed.derived(2)
        let (observed, event) = SimulatedSampling.observe(p: calibrationP, cap: plan.cap, rng: &timeRNG)
        let sample = CalibrationSample(strategy: strategy, budget: budget, pHat: calibrationPHat, pi: plan.pi,
                                       cap: plan.cap, observed: observed, event: event)
        let bounds = CandidateBounds(grid: s.tauGrid, cap: planSettings.boundCap)
        let result = try Calibrator.calibrate(sample, bounds: bounds, alpha: s.alpha, guarantee: s.guarantee,
                                              seed: StableHash.combine(repSeed.seed, 3))
        let lb = LowerBound(tauHat: result.tauHat, maxLPB: planSettings.maxLPB)
        let l = lb.bounds(testPHat)
        return Row(strategy: strategy, budget: budget, rep: rep,
                   coverage: Evaluation.exactCoverage(bounds: l, p: testP),
                   meanLPB: Evaluation.mean(l), medianLPB: Evaluation.median(l),
                   meanGenerations: sample.meanGenerations,
                   meanCap: Double(plan.plannedGenerations) / Double(plan.count),
                   tauHat: result.tauHat, tauIndex: result.tauIndex)
    }
}

