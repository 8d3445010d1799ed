/// How the calibration budget is spread over prompts (docs/method.md §3).
public enum AllocationStrategy: String, CaseIterable, Sendable {
    /// Paper's "naive / fixed budgeting": every prompt gets a random cap
    /// `c ~ Geometric(1/B)` independent of x. Baseline; under-covers by design.
    case naive
    /// Paper's "basic / adaptive": `π = min(1, B / w)`, no cap on the bound.
    case basic
    /// Paper's "trimmed": `π = max(min(1, B / w), 1/W)`, bounds capped at `⌊B·W⌋`.
    case trimmed
    /// Paper's "optimized / global": minimise `Σ 1/π` subject to `Σ π·w = n·B`.
    case optimized
    /// Beyond the paper (docs/method.md §3): a pilot on a fraction of the prompts chooses W and
    /// the cap level; the other prompts are allocated pointwise by expected cost under p̂
    /// and calibrated on their own. See `TwoStage`.
    case adaptive

    /// Whether this strategy caps every bound at `M = ⌊B·W⌋`.
    public var capsBounds: Bool { self == .trimmed || self == .optimized || self == .adaptive }

    /// The strategies of the paper (what `simulate` runs by default).
    public static let paper: [AllocationStrategy] = [.naive, .basic, .trimmed, .optimized]
}

/// Everything that defines a calibration plan besides the prompts: written to
/// `plan.json` beside `plan.csv` (TTUFiles' `PlanJSON.swift`), read back by `calibrate`.
public struct PlanSettings: Equatable, Sendable {
    public var strategy: AllocationStrategy
    /// `B`: the expected number of generations per calibration prompt.
    public var budget: Double
    /// `W`: the largest inverse-probability weight allowed (`π_min = 1/W`).
    public var maxWeight: Double
    /// `M`: the cap on any bound (`⌊B·W⌋` for trimmed, optimized and adaptive); ∞ = no cap
    /// (plan.json's `max_lpb`, null there).
    public var boundCap: Double
    public var tauGrid: TauGrid
    public var seed: UInt64
    /// `adaptive` only: "pilot" or "final".
    public var stage: String?
    /// `adaptive` only: the number of calibration prompts (pilot + final).
    public var totalPrompts: Int?
    /// `adaptive` only: the two-stage settings (pilot) and what the pilot chose (final).
    public var twoStage: TwoStage.Settings?
    public var choice: TwoStage.Choice?
    /// How W was chosen from p̂ when it was not given (`WeightChoice`); nil when given.
    public var weightChoice: WeightChoice?

    public init(strategy: AllocationStrategy, budget: Double, maxWeight: Double = 100,
                tauGrid: TauGrid = .default, seed: UInt64 = 1) {
        self.strategy = strategy
        self.budget = budget
        self.maxWeight = maxWeight
        self.tauGrid = tauGrid
        self.seed = seed
        self.boundCap = strategy.capsBounds ? (budget * maxWeight).rounded(.down) : .infinity
    }

    public func validate() throws {
        guard budget.isFinite, budget > 0 else {
            throw TTUError.invalidArgument("budget must be a positive number of generations per prompt, got \(budget)")
        }
        // Geometric(1/B) caps: B = 1 makes every cap 1, so P(C ≥ q) = 0 for every level q ≥ 2 and
        // their miscoverage estimates would be 0/0 (read as 0: every level admissible, the
        // largest bound selected with no evidence).
        if strategy == .naive, budget <= 1 {
            throw TTUError.invalidArgument("the naive strategy needs a budget above 1 (its caps are Geometric(1/B); at B = 1 every cap is 1 and no bound above 1 can be checked), got \(budget)")
        }
        guard maxWeight.isFinite, maxWeight >= 1 else {
            throw TTUError.invalidArgument("max weight W must be a finite number ≥ 1, got \(maxWeight)")
        }
        if !(boundCap == .infinity || boundCap >= 1) {
            throw TTUError.invalidArgument("the bound cap B·W must be at least 1 (got \(boundCap)); raise the budget or W")
        }
        try tauGrid.validate()
    }
}
