import Foundation

/// A test of `H: E[Z] ≥ μ₀` for terms `Z ∈ [0, w]` by betting (Waudby-Smith & Ramdas,
/// "Estimating means of bounded random variables by betting", 2023).
///
/// With `Y = Z/w` in a fixed random order, the wealth `K_t = Π_{i≤t} (1 + λ_i (μ₀/w − Y_i))`
/// is a nonnegative supermartingale under H when each `λ_i ∈ [0, c/(1 − μ₀/w)]` depends only
/// on `Y_1 … Y_{i−1}`; by Ville's inequality `P(max_t K_t ≥ 1/δ) ≤ δ`, so rejecting
/// then errs with probability at most δ. Bets follow aGRAPA (approximate growth-rate
/// adaptive): `λ = (μ₀ − μ̂)/(σ̂² + (μ₀ − μ̂)²)` from running estimates, the Kelly bet
/// to second order.
public struct BettingTest: Sendable {
    /// The processing order (a seeded permutation), fixed for every candidate.
    let order: [Int]
    /// Cap on the bet as a fraction of the largest safe bet (`c < 1`).
    public var maxBetFraction = 0.5

    public init(n: Int, seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        order = rng.permutation(n)
    }

    /// Whether the terms reject `E[Z] ≥ mu0` at level δ.
    public func rejects(terms z: [Double], range w: Double, mu0 alpha: Double, delta: Double) -> Bool {
        guard w.isFinite, w > 0 else { return false }
        let mu0 = alpha / w
        let lambdaMax = maxBetFraction / (1 - mu0)
        let target = log(1 / delta)
        var logWealth = 0.0
        // Running mean and variance of Y, started from a prior at μ₀ worth one observation.
        var count = 1.0
        var mean = mu0
        var sq = mu0 * (1 - mu0)
        for i in order {
            let d = mu0 - mean
            var lambda = d / (sq / count + d * d)
            if !(lambda > 0) { lambda = 0 } else if lambda > lambdaMax { lambda = lambdaMax }
            let y = z[i] / w
            logWealth += log1p(lambda * (mu0 - y))
            if logWealth >= target { return true }
            count += 1
            let delta1 = y - mean
            mean += delta1 / count
            sq += delta1 * (y - mean)
        }
        return false
    }
}
