import Foundation

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
