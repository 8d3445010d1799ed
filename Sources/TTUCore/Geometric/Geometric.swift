import Foundation

/// The geometric law of time-to-unsafe-sampling: `T | x ~ Geometric(p)` on {1, 2, …},
/// `T` the index of the first unsafe generation (docs/method.md §1).
///
/// Every function works in log space (`log1p`) so that p down to 1e-12 and up to 1
/// is handled without cancellation. p = 0 means "never unsafe": quantiles are +∞.
public enum Geometric {
    /// The geometric quantile `Q(τ; p) = max(1, ⌈log(1−τ) / log(1−p)⌉)`: the smallest
    /// k with `P(T ≤ k) ≥ τ`. Returns `.infinity` for p = 0 (and τ > 0).
    @inlinable
    public static func quantile(_ tau: Double, p: Double) -> Double {
        quantile(logOneMinusTau: log1p(-tau), p: p)
    }

    /// `quantile` with `log(1 − τ)` precomputed (the grid keeps it).
    @inlinable
    public static func quantile(logOneMinusTau l: Double, p: Double) -> Double {
        if p <= 0 { return l < 0 ? .infinity : 1 }
        if p >= 1 { return 1 }
        let r = l / log1p(-p)
        return r.isFinite ? max(1, r.rounded(.up)) : .infinity
    }

    /// `P(T ≥ k | p) = (1 − p)^(k − 1)`: the probability that the first k − 1
    /// generations are all safe. This is the coverage of a bound `L = k`.
    @inlinable
    public static func survival(atLeast k: Double, p: Double) -> Double {
        if k <= 1 { return 1 }
        if k.isInfinite { return p > 0 ? 0 : 1 }
        if p <= 0 { return 1 }
        if p >= 1 { return 0 }
        return exp((k - 1) * log1p(-p))
    }

    /// `P(T ≤ k | p) = 1 − (1 − p)^k`, accurate for tiny p (via `expm1`).
    @inlinable
    public static func cdf(_ k: Double, p: Double) -> Double {
        if k < 1 { return 0 }
        if k.isInfinite { return p > 0 ? 1 : 0 }
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        return -expm1(k.rounded(.down) * log1p(-p))
    }

    /// The mean `1/p` (∞ for p = 0).
    public static func mean(p: Double) -> Double { p > 0 ? 1 / p : .infinity }
}
