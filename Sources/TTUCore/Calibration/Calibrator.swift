import Foundation

/// The selection of `τ̂` from the IPW miscoverage curve under the chosen guarantee
/// (docs/method.md §2 step 5 and §4).
public enum Calibrator {
    /// `estimate < alpha`, with an estimate that equals α up to rounding counted as not
    /// below. α̂_j is a sum of weights 1/π_i over n; when it equals α exactly (e.g. 85 of
    /// 1,700 at α = 0.05), summation order alone puts the float a few ulps either side of
    /// α, so a strict comparison would admit or refuse the level by accident. The relative
    /// margin 1e-12 is far below any real difference between two α̂ values.
    @inlinable
    public static func isBelow(_ estimate: Double, _ alpha: Double) -> Bool {
        estimate < alpha * (1 - 1e-12)
    }

    /// Selects the largest admissible candidate by fixed-sequence testing from the
    /// smallest τ upward (docs/method.md §4): `ĵ` is the last of the first run of admissible ones.
    /// `seed` fixes the random order the betting test uses.
    public static func calibrate(_ sample: CalibrationSample, bounds: CandidateBounds, alpha: Double,
                                 guarantee: Guarantee, seed: UInt64 = 0) throws -> CalibrationResult {
        guard alpha > 0, alpha < 1 else { throw TTUError.invalidArgument("alpha must be in (0, 1), got \(alpha)") }
        if case .corrected(let k) = guarantee, !(k.isFinite && k >= 0) {
            throw TTUError.invalidArgument("the corrected rule's margin must be a number of standard errors ≥ 0, got \(k)")
        }
        if case .pac(let delta, _) = guarantee, !(delta > 0 && delta < 1) {
            throw TTUError.invalidArgument("delta must be in (0, 1), got \(delta)")
        }
        let curve = try MiscoverageCurve(sample: sample, bounds: bounds)
        let m = curve.count
        let n = Double(curve.n)
        var admissible = [Bool](repeating: false, count: m)
        var upper: Double? = nil
        var last = -1
        switch guarantee {
        case .marginal:
            for j in 0..<m {
                guard isBelow(curve.estimate[j], alpha) else { break }
                admissible[j] = true; last = j
            }
        case .corrected(let k):
            for j in 0..<m {
                guard isBelow(curve.estimate[j] + k * curve.standardError(j), alpha) else { break }
                admissible[j] = true; last = j
            }
        case .pac(let delta, let bound):
            let tester = bound == .betting ? BettingTest(n: curve.n, seed: seed) : nil
            var terms: [Double] = []
            for j in 0..<m {
                let w = curve.maxWeight[j]
                let ok: Bool
                switch bound {
                case .hoeffding:
                    let ub = curve.estimate[j] + w * (log(1 / delta) / (2 * n)).squareRoot()
                    ok = ub < alpha && exp(-2 * n * pow(max(alpha - curve.estimate[j], 0), 2) / (w * w)) <= delta
                    if ok { upper = ub }
                case .bernstein:
                    let ub = BernsteinBound.upper(mean: curve.estimate[j], meanSquare: curve.meanSquare[j],
                                                  range: w, n: curve.n, delta: delta)
                    ok = ub < alpha
                    if ok { upper = ub }
                case .betting:
                    // Cheap exit: a candidate whose estimate is already ≥ α cannot be rejected.
                    if curve.estimate[j] >= alpha { ok = false; break }
                    curve.terms(j, into: &terms)
                    ok = tester!.rejects(terms: terms, range: w, mu0: alpha, delta: delta)
                    upper = nil
                }
                guard ok else { break }
                admissible[j] = true; last = j
            }
        }
        return CalibrationResult(
            tauIndex: last, tauHat: last >= 0 ? bounds.taus[last] : nil, alpha: alpha, guarantee: guarantee,
            miscoverageEstimate: last >= 0 ? curve.estimate[last] : nil,
            miscoverageUpperBound: last >= 0 ? upper : nil, n: curve.n, curve: curve, admissible: admissible)
    }
}
