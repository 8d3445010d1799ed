import Foundation

/// How bounds fare against the truth (METHOD §5).
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
        public var ambiguous: Int
        public var n: Int { covered + miscovered + ambiguous }
        /// Coverage if every ambiguous prompt were miscovered.
        public var lower: Double { n == 0 ? .nan : Double(covered) / Double(n) }
        /// Coverage if every ambiguous prompt were covered.
        public var upper: Double { n == 0 ? .nan : Double(covered + ambiguous) / Double(n) }
    }

    /// `bounds[i]` against observation (observed `t̃_i`, event `e_i`).
    public static func censoredCoverage(bounds: [Double], observed: [Int], event: [Bool]) -> CensoredCoverage {
        var r = CensoredCoverage(covered: 0, miscovered: 0, ambiguous: 0)
        for i in bounds.indices {
            let l = bounds[i], t = Double(observed[i])
            if event[i] {
                if t >= l { r.covered += 1 } else { r.miscovered += 1 }
            } else if t >= l - 1 {
                r.covered += 1
            } else {
                r.ambiguous += 1
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
