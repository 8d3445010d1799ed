import Foundation

/// The candidate bounds `q_j(x) = min(Q(τ_j; p̂(x)), M)` for one grid and cap (docs/method.md §2).
///
/// Never materialises the n×m matrix: `q_j` for one prompt is computed on demand
/// from `log(1 − τ_j)` and `log(1 − p̂)`, and because `q_j` is non-decreasing in j the
/// first index where it exceeds a value is found by binary search.
public struct CandidateBounds: Sendable {
    public let grid: TauGrid
    public let taus: [Double]
    /// `log(1 − τ_j)`, precomputed.
    public let logOneMinusTau: [Double]
    /// `M`, the cap on any bound (∞ if none).
    public let cap: Double

    public init(grid: TauGrid, cap: Double = .infinity) {
        self.grid = grid
        self.taus = grid.taus
        self.logOneMinusTau = taus.map { log1p(-$0) }
        self.cap = cap
    }

    public var count: Int { taus.count }

    /// `q_j(x)` for a prompt with `p̂ = pHat`.
    @inlinable
    public func bound(_ j: Int, pHat: Double) -> Double {
        min(Geometric.quantile(logOneMinusTau: logOneMinusTau[j], p: pHat), cap)
    }

    /// `q_j(x)` from `log(1 − p̂)` computed once per prompt (the hot path):
    /// bit-identical to `bound(_:pHat:)` for the same p̂.
    @inlinable
    public func bound(_ j: Int, logOneMinusP lp: Double) -> Double {
        let r = logOneMinusTau[j] / lp
        let q = lp == 0 || !r.isFinite ? Double.infinity : max(1, r.rounded(.up))
        return min(q, cap)
    }

    /// `q_m(x)`: the prior quantile, the largest candidate (what a sampled prompt costs at most).
    public func priorQuantile(pHat: Double) -> Double { bound(count - 1, pHat: pHat) }

    /// The first j with `q_j(x) > t`, or `count` if none: a prompt whose sampling
    /// stopped at `t` generations is miscovered by exactly the candidates j ≥ this.
    @inlinable
    public func firstIndex(above t: Double, pHat: Double) -> Int {
        firstIndex(above: t, logOneMinusP: pHat <= 0 ? 0 : (pHat >= 1 ? -.infinity : log1p(-pHat)))
    }

    @inlinable
    public func firstIndex(above t: Double, logOneMinusP lp: Double) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if bound(mid, logOneMinusP: lp) > t { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// `log(1 − p̂)` with the conventions of `bound(_:logOneMinusP:)`:
    /// 0 for p̂ = 0 (bounds ∞), −∞ for p̂ = 1 (bounds 1).
    @inlinable
    public static func logOneMinus(_ pHat: Double) -> Double {
        pHat <= 0 ? 0 : (pHat >= 1 ? -.infinity : log1p(-pHat))
    }
}
