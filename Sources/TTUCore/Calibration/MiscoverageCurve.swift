import Foundation

/// What calibration needs of each prompt of a plan, aligned by row: the prediction,
/// the sampling probability (nil for `naive`), the cap and what sampling saw.
public struct CalibrationSample: Sendable {
    public var strategy: AllocationStrategy
    public var budget: Double
    public var pHat: [Double]
    /// `π_i`; nil for `naive`.
    public var pi: [Double]?
    /// `c_i`: generations allowed (0 = not sampled).
    public var cap: [Int]
    /// `t̃_i = min(T_i, c_i)`: generations drawn.
    public var observed: [Int]
    /// `e_i`: whether generation `t̃_i` was unsafe.
    public var event: [Bool]

    public init(strategy: AllocationStrategy, budget: Double, pHat: [Double], pi: [Double]?,
                cap: [Int], observed: [Int], event: [Bool]) {
        self.strategy = strategy
        self.budget = budget
        self.pHat = pHat
        self.pi = pi
        self.cap = cap
        self.observed = observed
        self.event = event
    }

    public var count: Int { pHat.count }
    /// Mean generations actually drawn per calibration prompt (`mean t̃`).
    public var meanGenerations: Double { Double(observed.reduce(0, +)) / Double(max(count, 1)) }
}

/// The inverse-probability-weighted miscoverage estimate of every candidate (docs/method.md §2 step 5):
///
///     α̂_j = (1/n) Σ_i Z_ij,   Z_ij = (ξ_i / π_i) · 1{ t̃_i < q_j(x_i) }
///
/// For the adaptive strategies each prompt's term is a constant weight on a suffix of
/// the grid (from the first j with `q_j > t̃`), found by binary search, so the whole
/// curve costs O(n log m + m) and never builds the n×m matrix. For `naive` the weight
/// `1{q_j ≤ c_i}/P(C ≥ q_j)` varies with j, but only prompts whose sampling ended in
/// an unsafe generation contribute, each over the j-range `t̃ < q_j ≤ c`.
public struct MiscoverageCurve: Sendable {
    /// `α̂_j`.
    public var estimate: [Double]
    /// `(1/n) Σ_i Z_ij²`, for variance-aware bounds.
    public var meanSquare: [Double]
    /// The largest value `Z_ij` can take, known before sampling (`w_max`).
    public var maxWeight: [Double]
    public var n: Int

    let bounds: CandidateBounds
    let sample: CalibrationSample
    /// Per prompt: the first grid index where it is miscovered (adaptive), and its weight.
    let firstMiss: [Int32]
    let weight: [Double]

    public init(sample: CalibrationSample, bounds: CandidateBounds) throws {
        let n = sample.count
        guard n > 0 else { throw TTUError.invalidArgument("no calibration prompts") }
        guard sample.cap.count == n, sample.observed.count == n, sample.event.count == n,
              sample.pi.map({ $0.count == n }) ?? true else {
            throw TTUError.invalidArgument("calibration sample columns have different lengths")
        }
        let m = bounds.count
        self.n = n
        self.bounds = bounds
        self.sample = sample
        var sum = [Double](repeating: 0, count: m + 1)
        var sumSq = [Double](repeating: 0, count: m + 1)
        var firstMiss = [Int32](repeating: Int32(m), count: n)
        var weight = [Double](repeating: 0, count: n)

        if sample.strategy == .naive {
            let logSurvC = log1p(-1 / sample.budget)  // log P(C ≥ k) = (k − 1)·log(1 − 1/B)
            for i in 0..<n where sample.event[i] {
                let lp = CandidateBounds.logOneMinus(sample.pHat[i])
                let t = Double(sample.observed[i]), c = Double(sample.cap[i])
                var j = bounds.firstIndex(above: t, logOneMinusP: lp)
                firstMiss[i] = Int32(j)
                while j < m {
                    let q = bounds.bound(j, logOneMinusP: lp)
                    if q > c { break }
                    let z = exp(-(q - 1) * logSurvC)
                    sum[j] += z; sumSq[j] += z * z
                    j += 1
                }
            }
            // Largest weight that can occur for candidate j: the largest finite q_j, at
            // the smallest positive p̂ (q_j is decreasing in p̂).
            let minPositive = sample.pHat.filter { $0 > 0 }.min()
            maxWeight = (0..<m).map { j in
                guard let p = minPositive else { return 1 }
                let q = bounds.bound(j, pHat: p)
                return q.isFinite ? max(1, exp(-(q - 1) * logSurvC)) : 1
            }
        } else {
            guard let pi = sample.pi else { throw TTUError.invalidArgument("\(sample.strategy.rawValue) needs π for every prompt") }
            var wmax = 1.0
            for i in 0..<n {
                let p = pi[i]
                if p > 0 { wmax = max(wmax, 1 / p) }
                if sample.cap[i] > 0 {
                    guard p > 0 else {
                        throw TTUError.invalidArgument("prompt \(i) was sampled (cap \(sample.cap[i])) but its π is 0")
                    }
                    let lp = CandidateBounds.logOneMinus(sample.pHat[i])
                    let j = bounds.firstIndex(above: Double(sample.observed[i]), logOneMinusP: lp)
                    let z = 1 / p
                    firstMiss[i] = Int32(j); weight[i] = z
                    sum[j] += z; sumSq[j] += z * z
                } else if p == 0 {
                    // π = 0 (basic with p̂ = 0: an infinite bound that can never be checked):
                    // counted as miscovered at every level, which keeps the estimate conservative.
                    firstMiss[i] = 0; weight[i] = 1
                    sum[0] += 1; sumSq[0] += 1
                }
            }
            // Suffix contributions become cumulative sums over the grid.
            for j in 1..<m { sum[j] += sum[j - 1]; sumSq[j] += sumSq[j - 1] }
            maxWeight = [Double](repeating: wmax, count: m)
        }
        self.firstMiss = firstMiss
        self.weight = weight
        let inv = 1 / Double(n)
        estimate = (0..<m).map { sum[$0] * inv }
        meanSquare = (0..<m).map { sumSq[$0] * inv }
    }

    public var count: Int { estimate.count }

    /// The terms `Z_ij` of candidate j, one per prompt in plan order (for sequential tests).
    public func terms(_ j: Int, into out: inout [Double]) {
        out.removeAll(keepingCapacity: true)
        let n = self.n
        if sample.strategy == .naive {
            let logSurvC = log1p(-1 / sample.budget)
            for i in 0..<n {
                var z = 0.0
                if sample.event[i], Int(firstMiss[i]) <= j {
                    let q = bounds.bound(j, pHat: sample.pHat[i])
                    if q <= Double(sample.cap[i]) { z = exp(-(q - 1) * logSurvC) }
                }
                out.append(z)
            }
        } else {
            for i in 0..<n { out.append(Int(firstMiss[i]) <= j ? weight[i] : 0) }
        }
    }
}
