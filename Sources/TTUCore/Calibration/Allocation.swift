import Foundation

/// A calibration plan: for each prompt its prior quantile `w_i = q_m(x_i)`, its sampling
/// probability `π_i` (nil for `naive`), and the number of generations to draw, `cap_i`
/// (0 = not sampled). Rows are in the order of the input predictions.
public struct CalibrationPlan: Sendable {
    public var settings: PlanSettings
    public var pHat: [Double]
    public var priorQuantile: [Double]
    public var pi: [Double]?
    public var cap: [Int]

    public init(settings: PlanSettings, pHat: [Double], priorQuantile: [Double], pi: [Double]?, cap: [Int]) {
        self.settings = settings
        self.pHat = pHat
        self.priorQuantile = priorQuantile
        self.pi = pi
        self.cap = cap
    }

    public var count: Int { pHat.count }
    /// The planned worst-case spend: `Σ cap_i` (for naive, the caps' sum).
    public var plannedGenerations: Int { cap.reduce(0, +) }
}

/// The budget allocation strategies of docs/method.md §3.
public enum Allocation {
    /// Builds the plan for predictions `pHat` (each in [0, 1]) under `settings`,
    /// drawing the sampling indicators (or naive caps) from `settings.seed`.
    public static func plan(pHat: [Double], settings: PlanSettings) throws -> CalibrationPlan {
        try settings.validate()
        guard !pHat.isEmpty else { throw TTUError.invalidArgument("no calibration prompts") }
        for (i, p) in pHat.enumerated() where !(p >= 0 && p <= 1) {
            throw TTUError.invalidArgument("p_hat of prompt \(i) is \(p), outside [0, 1]")
        }
        let bounds = CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap)
        let w = pHat.map { bounds.priorQuantile(pHat: $0) }
        let B = settings.budget
        switch settings.strategy {
        case .naive:
            var rng = SeededRNG(seed: settings.seed)
            let caps = pHat.map { _ in rng.geometric(1 / B) }
            return CalibrationPlan(settings: settings, pHat: pHat, priorQuantile: w, pi: nil, cap: caps)
        case .adaptive:
            throw TTUError.invalidArgument("the adaptive strategy plans in two stages: use TwoStage.pilotPlan, then TwoStage.finalPlan")
        case .basic, .trimmed, .optimized:
            let pi = probabilities(priorQuantile: w, settings: settings)
            let caps = drawCaps(pi: pi, priorQuantile: w, seed: settings.seed)
            return CalibrationPlan(settings: settings, pHat: pHat, priorQuantile: w, pi: pi, cap: caps)
        }
    }

    /// `π_i` for the adaptive strategies, from the prior quantiles `w` (already capped at M).
    public static func probabilities(priorQuantile w: [Double], settings: PlanSettings) -> [Double] {
        let B = settings.budget
        switch settings.strategy {
        case .naive, .adaptive:
            return []
        case .basic:
            // w = ∞ (p̂ = 0, no cap): never sampled; calibration counts it as miscovered.
            return w.map { $0.isInfinite ? 0 : min(1, B / $0) }
        case .trimmed:
            return w.map { max(min(1, B / $0), 1 / settings.maxWeight) }
        case .optimized:
            return optimizedProbabilities(weights: w, totalBudget: B * Double(w.count)).pi
        }
    }

    /// Solves `min Σ 1/π_i  s.t.  Σ π_i·w_i = total, 0 < π_i ≤ 1` exactly.
    ///
    /// The KKT solution is `π_i = min(1, s/√w_i)` with `s = 1/√λ`. With the weights
    /// sorted, the prompts at π = 1 are the k smallest, and for that k the budget
    /// equation is linear in s: `s = (total − Σ_{i<k} w_i) / Σ_{i≥k} √w_i`. Scanning k
    /// gives the exact solution in O(n log n) — no bisection tolerance, so the budget
    /// is spent to rounding error. If `Σ w ≤ total` every prompt is sampled.
    public static func optimizedProbabilities(weights w: [Double], totalBudget total: Double) -> (pi: [Double], lambda: Double) {
        let s = optimizedScale(weights: w, totalBudget: total)
        return (w.map { min(1, s / $0.squareRoot()) }, 1 / (s * s))
    }

    /// The scale `s = 1/√λ` of the optimal allocation `π = min(1, s/√w)` (∞ when every
    /// prompt can be sampled). Fitted on one set of prompts, it can be applied pointwise
    /// to others: the i.i.d. variant of `optimized` (docs/method.md §3, beyond).
    public static func optimizedScale(weights w: [Double], totalBudget total: Double) -> Double {
        let n = w.count
        let sumW = w.reduce(0, +)
        if sumW <= total { return .infinity }
        let order = w.indices.sorted { w[$0] < w[$1] }
        let sq = order.map { w[$0].squareRoot() }
        var suffix = [Double](repeating: 0, count: n + 1)  // Σ_{r≥k} √w_(r)
        for r in stride(from: n - 1, through: 0, by: -1) { suffix[r] = suffix[r + 1] + sq[r] }
        var prefixW = 0.0  // Σ_{r<k} w_(r)
        var s = 0.0
        for k in 0..<n {
            let candidate = (total - prefixW) / suffix[k]
            // Consistent when the k-th smallest is not forced to π = 1 (√w_(k) ≥ s)
            // and every smaller one is (√w_(k−1) ≤ s, guaranteed by the scan order).
            if candidate <= sq[k] { s = candidate; break }
            prefixW += w[order[k]]
        }
        return s
    }

    /// The i.i.d. ("pointwise") optimized plan: `π(x) = min(1, s/√w(x))` with `s` fitted on
    /// held-out predictions (e.g. the training prompts'), so each calibration prompt's
    /// sampling depends on its own p̂ only and the weighted terms are i.i.d., as the PAC
    /// bounds assume. The budget is then spent in expectation over the population.
    public static func pointwisePlan(pHat: [Double], heldOutPHat: [Double], settings: PlanSettings) throws -> CalibrationPlan {
        guard settings.strategy == .optimized else {
            throw TTUError.invalidArgument("the pointwise (i.i.d.) allocation is a variant of optimized")
        }
        try settings.validate()
        guard !heldOutPHat.isEmpty else { throw TTUError.invalidArgument("no held-out predictions to fit the allocation on") }
        let bounds = CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap)
        let heldOut = heldOutPHat.map { bounds.priorQuantile(pHat: $0) }
        let s = optimizedScale(weights: heldOut, totalBudget: settings.budget * Double(heldOut.count))
        let w = pHat.map { bounds.priorQuantile(pHat: $0) }
        let pi = w.map { min(1, s / $0.squareRoot()) }
        return CalibrationPlan(settings: settings, pHat: pHat, priorQuantile: w, pi: pi,
                               cap: drawCaps(pi: pi, priorQuantile: w, seed: settings.seed))
    }

    /// The sampling draw: `ξ_i ~ Bernoulli(π_i)` in row order from `seed`; a sampled
    /// prompt's cap is its prior quantile `w_i`, an unsampled one's 0.
    public static func drawCaps(pi: [Double], priorQuantile w: [Double], seed: UInt64) -> [Int] {
        var rng = SeededRNG(seed: seed)
        var caps = [Int](repeating: 0, count: w.count)
        for i in w.indices where rng.bernoulli(pi[i]) { caps[i] = Int(w[i]) }
        return caps
    }
}
