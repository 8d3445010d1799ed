import Foundation

/// The oracle level (docs/method.md §5): for a fixed predictor p̂ and prompts whose true
/// rate p is known (simulations only), the largest grid level whose **true** miscoverage
///
///     α_j = mean_i P(T_i < Q(τ_j; p̂_i)) = mean_i [1 − (1 − p_i)^(Q(τ_j; p̂_i) − 1)]
///
/// is ≤ α, with no bound cap M. No calibration on the same grid and predictor can select a
/// larger level and still cover 1 − α on these prompts, so its mean bound is the yardstick
/// a strategy's mean bound is measured against (`fraction_of_oracle`).
public struct OracleLevel: Sendable, Equatable {
    /// `j*` (0-based), or −1 when even the first level misses more than α (bound 1).
    public var tauIndex: Int
    /// `τ_{j*}` (nil when `tauIndex` is −1).
    public var tauHat: Double?
    /// `α_{j*}`, the true miscoverage of the oracle bound (0 for the trivial bound 1).
    public var miscoverage: Double
    /// `α_{j*+1}`, the next level's true miscoverage (nil when `j*` is the top level).
    public var nextMiscoverage: Double?
    /// The mean over the prompts of the oracle bound `Q(τ_{j*}; p̂)` (1 when `tauIndex` is −1).
    public var meanLPB: Double

    /// Coverage `1 − α_{j*}` of the oracle bound on the prompts.
    public var coverage: Double { 1 - miscoverage }

    /// `α_j` of grid level `j` on the prompts (no cap): the mean of `P(T < Q(τ_j; p̂) | p)`.
    /// Non-decreasing in `j`, term by term, so also as a floating-point sum in a fixed order.
    public static func trueMiscoverage(level j: Int, bounds: CandidateBounds, pHat: [Double], p: [Double]) -> Double {
        precondition(pHat.count == p.count && !p.isEmpty)
        var s = 0.0
        for i in p.indices {
            // P(T < k) = P(T ≤ k − 1) = 1 − (1 − p)^(k − 1).
            s += Geometric.cdf(bounds.bound(j, pHat: pHat[i]) - 1, p: p[i])
        }
        return s / Double(p.count)
    }

    /// The oracle level of `grid` for predictions `pHat` and true rates `p` at miscoverage
    /// `alpha`. `α_j` is non-decreasing in `j`, so the largest `j` with `α_j ≤ α` is found
    /// by binary search: O(n log m).
    public static func find(grid: TauGrid, pHat: [Double], p: [Double], alpha: Double) -> OracleLevel {
        precondition(pHat.count == p.count && !p.isEmpty, "oracle: predictions and true rates must be aligned and non-empty")
        let bounds = CandidateBounds(grid: grid, cap: .infinity)
        let m = bounds.count
        var memo = [Int: Double]()
        func miss(_ j: Int) -> Double {
            if let v = memo[j] { return v }
            let v = trueMiscoverage(level: j, bounds: bounds, pHat: pHat, p: p)
            memo[j] = v
            return v
        }
        // Invariant: every level < lo has α_j ≤ α; every level ≥ hi has α_j > α.
        var lo = 0, hi = m
        while lo < hi {
            let mid = (lo + hi) >> 1
            if miss(mid) <= alpha { lo = mid + 1 } else { hi = mid }
        }
        let j = lo - 1
        let next = j + 1 < m ? miss(j + 1) : nil
        guard j >= 0 else {
            return OracleLevel(tauIndex: -1, tauHat: nil, miscoverage: 0, nextMiscoverage: next, meanLPB: 1)
        }
        var sum = 0.0
        for x in pHat { sum += bounds.bound(j, pHat: x) }
        return OracleLevel(tauIndex: j, tauHat: bounds.taus[j], miscoverage: miss(j), nextMiscoverage: next,
                           meanLPB: sum / Double(pHat.count))
    }
}

/// The comparison at equal generations drawn: a strategy's mean bound against the
/// reference strategy's mean-bound-vs-generations-drawn curve, read off at the
/// strategy's own generations drawn.
public enum EqualSpend {
    /// The reference curve `(generations, meanLPB)` (one point per budget) interpolated
    /// log-log linearly at `generations`: nil outside the curve's range of generations
    /// (no extrapolation) or when any value involved is not positive and finite.
    /// Points are sorted by generations; among points with equal generations the first is used.
    public static func interpolate(at generations: Double, curve: [(generations: Double, meanLPB: Double)]) -> Double? {
        let pts = curve.filter { $0.generations > 0 && $0.generations.isFinite && $0.meanLPB > 0 && $0.meanLPB.isFinite }
            .sorted { $0.generations < $1.generations }
        guard generations > 0, generations.isFinite, let first = pts.first, let last = pts.last,
              generations >= first.generations, generations <= last.generations else { return nil }
        if let exact = pts.first(where: { $0.generations == generations }) { return exact.meanLPB }
        // The segment [a, b] with a.generations < generations < b.generations.
        guard let k = pts.firstIndex(where: { $0.generations > generations }), k > 0 else { return nil }
        let a = pts[k - 1], b = pts[k]
        let t = (log(generations) - log(a.generations)) / (log(b.generations) - log(a.generations))
        return exp(log(a.meanLPB) + t * (log(b.meanLPB) - log(a.meanLPB)))
    }
}
