import Foundation
import TTUCore

/// `calibration.json`: the selected level and everything needed to apply and audit it.
/// `tau_hat` is null and `tau_index` −1 when no candidate was admissible (every bound is 1).
public struct CalibrationFile: Codable, Sendable {
    public var tauHat: Double?
    public var tauIndex: Int
    public var alpha: Double
    public var guarantee: String
    public var delta: Double?
    public var bound: String?
    /// corrected only: the margin in standard errors.
    public var margin: Double?
    /// The standard error of α̂ at the selected level (written by corrected and marginal
    /// calibrations since the finite-n statement; nil in older files).
    public var standardError: Double?
    /// `M`, ∞ = no cap (`max_lpb`, null then).
    public var boundCap: Double
    public var miscoverageEstimate: Double?
    public var miscoverageUpperBound: Double?
    public var n: Int
    public var strategy: AllocationStrategy
    public var budget: Double
    public var tauGrid: TauGrid
    public var sampledPrompts: Int
    public var meanGenerations: Double
    public var plannedGenerations: Int
    /// The estimated miscoverage `α̂_j` of every candidate, in grid order.
    public var miscoverageCurve: [Double]
    public var statement: String

    enum CodingKeys: String, CodingKey {
        case tauHat = "tau_hat", tauIndex = "tau_index", alpha, guarantee, delta, bound, margin
        case standardError = "standard_error"
        case boundCap = "max_lpb", miscoverageEstimate = "miscoverage_estimate"
        case miscoverageUpperBound = "miscoverage_upper_bound", n, strategy, budget
        case tauGrid = "tau_grid", sampledPrompts = "sampled_prompts", meanGenerations = "mean_generations"
        case plannedGenerations = "planned_generations", miscoverageCurve = "miscoverage_curve", statement
    }

    public init(result: CalibrationResult, settings: PlanSettings, sample: CalibrationSample) {
        tauHat = result.tauHat
        tauIndex = result.tauIndex
        alpha = result.alpha
        guarantee = result.guarantee.name
        if case .pac(let d, let b) = result.guarantee { delta = d; bound = b.rawValue } else { delta = nil; bound = nil }
        if case .corrected(let k) = result.guarantee { margin = k } else { margin = nil }
        if case .pac = result.guarantee { standardError = nil } else { standardError = result.standardError }
        boundCap = settings.boundCap
        miscoverageEstimate = result.miscoverageEstimate
        miscoverageUpperBound = result.miscoverageUpperBound
        n = result.n
        strategy = settings.strategy
        budget = settings.budget
        tauGrid = settings.tauGrid
        sampledPrompts = sample.cap.filter { $0 > 0 }.count
        meanGenerations = sample.meanGenerations
        plannedGenerations = sample.cap.reduce(0, +)
        miscoverageCurve = result.curve.estimate
        statement = CalibrationFile.statement(result: result)
    }

    /// The guarantee in one sentence, with its numbers.
    public static func statement(result: CalibrationResult) -> String {
        let conf = Num.fixed(1 - result.alpha, 2)
        guard let tau = result.tauHat else {
            return "No candidate bound was admissible at α = \(result.alpha): every bound is the trivial L = 1."
        }
        let lvl = "Q(\(Num.fixed(tau, 5)); p̂)"
        // What one run may be off by: the standard error of the estimate at the selected level.
        let spread = "the estimated miscoverage \(Num.sig(result.miscoverageEstimate ?? 0)) from \(result.n) calibration prompts has a standard error of \(Num.sig(result.standardError, 2)), so this one run's coverage may differ from \(conf) by about that; for a guarantee on this run use --guarantee pac"
        switch result.guarantee {
        case .marginal:
            return "Marginal guarantee (the paper's rule): for a new prompt from the calibration population, L = \(lvl) is reached before the first unsafe generation (at least L − 1 safe ones come first) with probability ≥ \(conf) on average over calibration draws, approximately — at finite n selection makes this rule slightly optimistic (docs/method.md §4); \(spread)."
        case .corrected(let k):
            return "Marginal guarantee, corrected for n = \(result.n): for a new prompt from the calibration population, L = \(lvl) is reached before the first unsafe generation (at least L − 1 safe ones come first) with probability ≥ \(conf) on average over calibration draws (each level's estimate raised by \(Num.format(k)) standard errors against the optimism of selection, docs/method.md §4); \(spread)."
        case .pac(let delta, let bound):
            return "PAC guarantee (\(bound.rawValue)): with probability ≥ \(Num.fixed(1 - delta, 2)) over the calibration data, the miscoverage of L = \(lvl) is ≤ \(result.alpha), i.e. L is reached before the first unsafe generation (at least L − 1 safe ones come first) with probability ≥ \(conf) (\(result.n) calibration prompts; this holds for this run, not only on average)."
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tauHat = try c.decodeIfPresent(Double.self, forKey: .tauHat)
        tauIndex = try c.decode(Int.self, forKey: .tauIndex)
        alpha = try c.decode(Double.self, forKey: .alpha)
        guarantee = try c.decode(String.self, forKey: .guarantee)
        delta = try c.decodeIfPresent(Double.self, forKey: .delta)
        bound = try c.decodeIfPresent(String.self, forKey: .bound)
        margin = try c.decodeIfPresent(Double.self, forKey: .margin)
        standardError = try c.decodeIfPresent(Double.self, forKey: .standardError)
        boundCap = try c.decodeBoundCap(forKey: .boundCap)
        miscoverageEstimate = try c.decodeIfPresent(Double.self, forKey: .miscoverageEstimate)
        miscoverageUpperBound = try c.decodeIfPresent(Double.self, forKey: .miscoverageUpperBound)
        n = try c.decode(Int.self, forKey: .n)
        strategy = try c.decode(AllocationStrategy.self, forKey: .strategy)
        budget = try c.decode(Double.self, forKey: .budget)
        tauGrid = try c.decode(TauGrid.self, forKey: .tauGrid)
        sampledPrompts = try c.decode(Int.self, forKey: .sampledPrompts)
        meanGenerations = try c.decode(Double.self, forKey: .meanGenerations)
        plannedGenerations = try c.decode(Int.self, forKey: .plannedGenerations)
        miscoverageCurve = try c.decode([Double].self, forKey: .miscoverageCurve)
        statement = try c.decode(String.self, forKey: .statement)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tauHat, forKey: .tauHat)
        try c.encode(tauIndex, forKey: .tauIndex)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(guarantee, forKey: .guarantee)
        try c.encode(delta, forKey: .delta)
        try c.encode(bound, forKey: .bound)
        try c.encodeIfPresent(margin, forKey: .margin)
        try c.encodeIfPresent(standardError, forKey: .standardError)
        try c.encodeBoundCap(boundCap, forKey: .boundCap)
        try c.encode(miscoverageEstimate, forKey: .miscoverageEstimate)
        try c.encode(miscoverageUpperBound, forKey: .miscoverageUpperBound)
        try c.encode(n, forKey: .n)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(budget, forKey: .budget)
        try c.encode(tauGrid, forKey: .tauGrid)
        try c.encode(sampledPrompts, forKey: .sampledPrompts)
        try c.encode(meanGenerations, forKey: .meanGenerations)
        try c.encode(plannedGenerations, forKey: .plannedGenerations)
        try c.encode(miscoverageCurve, forKey: .miscoverageCurve)
        try c.encode(statement, forKey: .statement)
    }

    public var lowerBound: LowerBound { LowerBound(tauHat: tauHat, boundCap: boundCap) }
}
