import Foundation

/// The calibrated lower predictive bound `L(x) = q_ĵ(x) = min(Q(τ̂; p̂(x)), M)`,
/// or the trivial bound 1 when no candidate was admissible (docs/method.md §2 step 6).
public struct LowerBound: Equatable, Sendable {
    /// `τ̂` (nil = trivial bound).
    public var tauHat: Double?
    /// `M` (∞ = no cap).
    public var boundCap: Double

    public init(tauHat: Double?, boundCap: Double) {
        self.tauHat = tauHat
        self.boundCap = boundCap
    }

    /// `L(x)` for a prompt with prediction `pHat`: a whole number ≥ 1, or ∞ when
    /// p̂ = 0 and nothing caps the bound.
    @inlinable
    public func bound(pHat: Double) -> Double {
        guard let tau = tauHat else { return 1 }
        return min(Geometric.quantile(tau, p: pHat), boundCap)
    }

    public func bounds(_ pHat: [Double]) -> [Double] { pHat.map(bound(pHat:)) }
}
