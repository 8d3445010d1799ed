import Foundation

/// How bounds fare against the truth (docs/method.md §5).
public enum Evaluation {
    /// Exact coverage when the true p is known (synthetic data): the mean over prompts
    /// of `P(T ≥ L | p) = (1 − p)^(L − 1)`.
    public static func exactCoverage(bounds: [Double], p: [Double]) -> Double {
        precondition(bounds.count == p.count && !p.isEmpty)
        var s = 0.0
        for i in p.indices { s += Geometric.survival(atLeast: bounds[i], p: p[i]) }
        return s / Double(p.count)
    }

    /// Coverage against sampled, possibly censored, times.
    public struct CensoredCoverage: Equatable, Sendable {
        /// Prompts known to be covered: the first unsafe index `t ≥ L`, or censored after
        /// `c` safe generations with `c ≥ L − 1` (so `T ≥ c + 1 ≥ L`).
        public var covered: Int
        /// Prompts known to be miscovered (an unsafe generation before index L).
        public var miscovered: Int
        /// Censored too early to tell (`c < L − 1`).
        public var undecided: Int
        public var n: Int { covered + miscovered + undecided }
        /// Coverage if every undecided prompt were miscovered.
        public var lower: Double { n == 0 ? .nan : Double(covered) / Double(n) }
        /// Coverage if every undecided prompt were covered.
        public var upper: Double { n == 0 ? .nan : Double(covered + undecided) / Double(n) }
    }

    /// The Clopper–Pearson interval for a binomial proportion: `k` successes out of `n`,
    /// two-sided at `level` (e.g. 0.95). Exact (it never covers less than `level`), so a
    /// measured coverage below 1 − α is called a shortfall only when the interval's upper
    /// end is below it too. Found by bisection on the binomial tail probabilities.
    public static func clopperPearson(k: Int, n: Int, level: Double = 0.95) -> (lower: Double, upper: Double) {
        precondition(n > 0 && k >= 0 && k <= n && level > 0 && level < 1)
        let tail = (1 - level) / 2
        // P(X ≥ k | p) rises with p: the lower end solves P(X ≥ k) = tail.
        let lower = k == 0 ? 0 : solveIncreasing({ 1 - binomialCDF(k - 1, n: n, p: $0) }, equals: tail)
        // P(X ≤ k | p) falls with p: the upper end solves P(X ≤ k) = tail.
        let upper = k == n ? 1 : solveIncreasing({ -binomialCDF(k, n: n, p: $0) }, equals: -tail)
        return (lower, upper)
    }

    /// P(X ≤ k) for X ~ Binomial(n, p), each term by the ratio recursion in log space.
    static func binomialCDF(_ k: Int, n: Int, p: Double) -> Double {
        if k < 0 { return 0 }
        if k >= n { return 1 }
        if p <= 0 { return 1 }
        if p >= 1 { return 0 }
        let lp = log(p), lq = log1p(-p)
        var logPMF = Double(n) * lq  // log P(X = 0)
        var s = exp(logPMF)
        for j in 0..<k {  // P(X = j + 1) = P(X = j) · (n − j)/(j + 1) · p/q
            logPMF += log(Double(n - j)) - log(Double(j + 1)) + lp - lq
            s += exp(logPMF)
        }
        return min(1, s)
    }

    /// The p in [0, 1] where the increasing function `f` crosses `target` (bisection).
    static func solveIncreasing(_ f: (Double) -> Double, equals target: Double) -> Double {
        var lo = 0.0, hi = 1.0
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if f(mid) < target { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// `bounds[i]` against observation (observed `t̃_i`, event `e_i`).
    public static func censoredCoverage(bounds: [Double], observed: [Int], event: [Bool]) -> CensoredCoverage {
        var r = CensoredCoverage(covered: 0, miscovered: 0, undecided: 0)
        for i in bounds.indices {
            let l = bounds[i], t = Double(observed[i])
            if event[i] {
                if t >= l { r.covered += 1 } else { r.miscovered += 1 }
            } else if t >= l - 1 {
                r.covered += 1
            } else {
                r.undecided += 1
            }
        }
        return r
    }

    /// Mean of finite values (∞ bounds make the mean ∞, reported as such).
    public static func mean(_ x: [Double]) -> Double {
        x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count)
    }

    public static func median(_ x: [Double]) -> Double {
        guard !x.isEmpty else { return .nan }
        let s = x.sorted()
        let k = s.count / 2
        return s.count % 2 == 1 ? s[k] : (s[k - 1] + s[k]) / 2
    }

    /// Sample standard deviation (n − 1); 0 for fewer than two values.
    public static func sd(_ x: [Double]) -> Double {
        guard x.count > 1 else { return 0 }
        let m = mean(x)
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)).squareRoot()
    }
}
