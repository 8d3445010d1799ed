import Foundation

extension Evaluation {
    /// The two-sided Student t interval for a mean: `x̄ ± t(1 − (1 − level)/2, n − 1)·s/√n`
    /// with the sample standard deviation s. Nil for fewer than two values.
    public static func studentTInterval(_ x: [Double], level: Double = 0.95) -> (lower: Double, upper: Double)? {
        guard x.count >= 2 else { return nil }
        let half = studentTQuantile(1 - (1 - level) / 2, df: Double(x.count - 1)) * sd(x) / Double(x.count).squareRoot()
        let m = mean(x)
        return (m - half, m + half)
    }

    /// The p-quantile (0.5 < p < 1) of Student's t with `df` degrees of freedom, by
    /// bisection on its distribution function.
    public static func studentTQuantile(_ p: Double, df: Double) -> Double {
        precondition(p > 0.5 && p < 1 && df > 0)
        var lo = 0.0, hi = 1.0
        while studentTCDF(hi, df: df) < p { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if studentTCDF(mid, df: df) < p { lo = mid } else { hi = mid }
            if hi - lo <= 1e-13 * hi { break }
        }
        return (lo + hi) / 2
    }

    /// P(T ≤ t) for t ≥ 0: 1 − I_{df/(df+t²)}(df/2, 1/2)/2.
    static func studentTCDF(_ t: Double, df: Double) -> Double {
        1 - 0.5 * regularizedBeta(df / (df + t * t), a: df / 2, b: 0.5)
    }

    /// The regularised incomplete beta function I_x(a, b) (Lentz's continued fraction).
    static func regularizedBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x))
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...500 {
            let m = Double(m)
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            for step in 0..<2 {
                if step == 1 { num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)) }
                d = 1 + num * d
                if abs(d) < tiny { d = tiny }
                c = 1 + num / c
                if abs(c) < tiny { c = tiny }
                d = 1 / d
                f *= d * c
            }
            if abs(d * c - 1) < 1e-15 { break }
        }
        return front * f / a
    }
}
