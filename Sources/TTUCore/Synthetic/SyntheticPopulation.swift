import Foundation

/// The paper's synthetic population (docs/method.md §6), reproducible from a seed.
///
/// `p`: 90% log-spaced on [1e-3, 1e-2], 10% on [1e-5, 1e-4]. Features: for
/// τ_k = 0.1, 0.189, …, 0.9 the geometric quantile `Q(τ_k; p)^0.25`, all divided by
/// their overall mean, plus N(0, 0.1²) noise — informative but imperfect, as a real
/// predictor's inputs would be.
public struct SyntheticPopulation: Sendable {
    public static let featureCount = 10
    /// True unsafe probability per prompt.
    public var p: [Double]
    /// Row-major n × 10 features.
    public var features: [Double]
    public var count: Int { p.count }

    public init(count n: Int, seed: UInt64) {
        precondition(n >= 10, "the synthetic population needs at least 10 prompts")
        let n1 = (n * 9) / 10
        let n2 = n - n1
        func logspace(_ a: Double, _ b: Double, _ k: Int) -> [Double] {
            k == 1 ? [pow(10, a)] : (0..<k).map { pow(10, a + (b - a) * Double($0) / Double(k - 1)) }
        }
        p = logspace(-3, -2, n1) + logspace(-5, -4, n2)
        let d = SyntheticPopulation.featureCount
        let taus = (0..<d).map { 0.1 + 0.8 * Double($0) / Double(d - 1) }
        var x = [Double](repeating: 0, count: n * d)
        var total = 0.0
        for i in 0..<n {
            for k in 0..<d {
                let v = pow(Geometric.quantile(taus[k], p: p[i]), 0.25)
                x[i * d + k] = v
                total += v
            }
        }
        let mean = total / Double(n * d)
        var rng = SeededRNG(seed: seed).derived(0xFEA7)
        for i in 0..<(n * d) { x[i] = x[i] / mean + rng.normal(mean: 0, sd: 0.1) }
        features = x
    }

    /// The paper's split: 10% test, the rest halved into training and calibration.
    public struct Split: Sendable {
        public var train: [Int]
        public var calibration: [Int]
        public var test: [Int]
    }

    public func split(seed: UInt64, testFraction: Double = 0.1) -> Split {
        var rng = SeededRNG(seed: seed).derived(0x5B1E)
        let perm = rng.permutation(count)
        let nTest = Int((Double(count) * testFraction).rounded(.up))
        let rest = Array(perm[nTest...])
        let nCal = rest.count / 2
        return Split(train: Array(rest[nCal...]), calibration: Array(rest[..<nCal]), test: Array(perm[..<nTest]))
    }

    /// Training labels: `k ~ Binomial(generations, p)` per prompt of `rows`.
    public func trainingCounts(rows: [Int], generations: Int, seed: UInt64) -> [Int] {
        var rng = SeededRNG(seed: seed).derived(0xC0DE)
        return rows.map { rng.binomial(generations, p[$0]) }
    }

    /// Feature row i as an array.
    public func featureRow(_ i: Int) -> ArraySlice<Double> {
        features[(i * SyntheticPopulation.featureCount)..<((i + 1) * SyntheticPopulation.featureCount)]
    }
}

/// Sampling the calibration prompts against known p: the simulated stand-in for
/// `ttu collect` (every number it produces is simulated).
public enum SimulatedSampling {
    /// Censors latent first-unsafe times at the caps: `t̃ = min(T, cap)`, `event = T ≤ cap`.
    public static func censor(times: [Int], cap: [Int]) -> (observed: [Int], event: [Bool]) {
        var observed = [Int](repeating: 0, count: times.count)
        var event = [Bool](repeating: false, count: times.count)
        for i in times.indices where cap[i] > 0 {
            if times[i] <= cap[i] { observed[i] = times[i]; event[i] = true } else { observed[i] = cap[i] }
        }
        return (observed, event)
    }

    /// For each prompt i: `t̃ = min(T, cap)`, `T ~ Geometric(p_i)`; `event = T ≤ cap`.
    public static func observe(p: [Double], cap: [Int], rng: inout SeededRNG) -> (observed: [Int], event: [Bool]) {
        var observed = [Int](repeating: 0, count: p.count)
        var event = [Bool](repeating: false, count: p.count)
        for i in p.indices where cap[i] > 0 {
            let t = rng.geometric(p[i])
            if t <= cap[i] { observed[i] = t; event[i] = true } else { observed[i] = cap[i] }
        }
        return (observed, event)
    }
}
