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

/// The outcome of calibration: the selected level and what it rests on.
public struct CalibrationResult: Sendable {
    /// `ĵ` (0-based), or −1 when no candidate is admissible (then every bound is 1).
    public var tauIndex: Int
    public var tauHat: Double?
    public var alpha: Double
    public var guarantee: Guarantee
    /// `α̂_ĵ` (nil if none admissible).
    public var miscoverageEstimate: Double?
    /// For PAC: the (1 − δ) upper confidence bound on the miscoverage of `ĵ` where the
    /// bound gives one (hoeffding, bernstein); nil otherwise.
    public var miscoverageUpperBound: Double?
    public var n: Int
    public var curve: MiscoverageCurve
    /// Whether each candidate was admissible (tested in order; testing stops at the first failure).
    public var admissible: [Bool]

    /// The standard error of `α̂_ĵ` (of the first candidate when none was admissible):
    /// about how far one run's miscoverage may sit from its estimate.
    public var standardError: Double { curve.standardError(max(tauIndex, 0)) }
}

extension MiscoverageCurve {
    /// `ŝe_j = √(((1/n)Σ Z_ij² − α̂_j²) / n)`: the standard error of the IPW estimate α̂_j.
    public func standardError(_ j: Int) -> Double {
        (max(0, meanSquare[j] - estimate[j] * estimate[j]) / Double(n)).squareRoot()
    }
}

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

/// The empirical-Bernstein upper confidence bound (Maurer & Pontil 2009, Thm 4) for the
/// mean of n i.i.d. terms in [0, range], at level 1 − δ.
public enum BernsteinBound {
    public static func upper(mean: Double, meanSquare: Double, range w: Double, n: Int, delta: Double) -> Double {
        guard n > 1, w.isFinite, w > 0 else { return .infinity }
        let nd = Double(n)
        let y = mean / w
        let variance = max(0, (meanSquare / (w * w) - y * y) * nd / (nd - 1))
        let l = log(2 / delta)
        return w * (y + (2 * variance * l / nd).squareRoot() + 7 * l / (3 * (nd - 1)))
    }
}
