import Foundation

/// Which guarantee calibration provides.
public enum Guarantee: Equatable, Sendable {
    /// `P(T ≥ L) ≥ 1 − α` on average over the calibration draw (the paper's estimator:
    /// admit j while α̂_j < α).
    case marginal
    /// Marginal, corrected for finite n (docs/method.md §4): admit j while
    /// `α̂_j + margin·ŝe_j < α`, with ŝe_j the standard error of α̂_j. Selecting the last
    /// level whose noisy estimate is still below α favours levels whose estimate came out
    /// low, so the plain rule covers a little less than 1 − α on average at small n or
    /// large weights; `margin` standard errors offset that optimism.
    case corrected(margin: Double)
    /// With probability ≥ 1 − δ over the calibration data, the miscoverage is ≤ α.
    case pac(delta: Double, bound: ConcentrationInequality)

    public var name: String {
        switch self { case .marginal: return "marginal"; case .corrected: return "corrected"; case .pac: return "pac" }
    }
}
