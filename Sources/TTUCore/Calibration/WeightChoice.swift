import Foundation

/// W (hence the bound cap M = ⌊B·W⌋, and the grid that depends on M) chosen from the
/// calibration prompts' p̂, α, B and the guarantee alone (docs/method.md §3, "choosing W").
///
/// Why: at the budgets users have (B = 10–100) the cap M decides most of the mean bound
/// — at n = 1,000, B = 10 the paper's W = 100 keeps about a third of what the data can
/// certify, W = 1,000 all of it — while a larger W makes the weights 1/π heavier and the
/// calibration noisier. Which W is best depends on how spread p̂ is, so it is measured,
/// not guessed: for each candidate W the whole calibration (plan, sampling, selection,
/// bounds) is simulated `simulations` times on the calibration prompts themselves with
/// the truth taken to be p̂ (T ~ Geometric(p̂)), and the smallest W whose predicted mean
/// bound is within `tolerance` of the best candidate's is chosen: past that point a larger
/// W only adds variance.
///
/// Validity: the choice reads p̂ and a seed, never an observation, so the plan it makes is
/// a plan fixed before sampling — the guarantee is the strategy's own, exactly as with a
/// W given by hand. The predicted figures assume p̂ is right; they rank the candidates,
/// they are not the run's result.
public struct WeightChoice: Equatable, Sendable {
    /// One candidate W and what the simulations under p̂ predict for it.
    public struct Candidate: Equatable, Sendable {
        public var maxWeight: Double
        /// `M = ⌊B·W⌋`.
        public var boundCap: Double
        /// The top of the candidate grid for this M (`TauGrid.auto`, or the given grid).
        public var tauMax: Double
        public var predictedMeanLPB: Double
        public var predictedCoverage: Double

        public init(maxWeight: Double, boundCap: Double, tauMax: Double, predictedMeanLPB: Double, predictedCoverage: Double) {
            self.maxWeight = maxWeight
            self.boundCap = boundCap
            self.tauMax = tauMax
            self.predictedMeanLPB = predictedMeanLPB
            self.predictedCoverage = predictedCoverage
        }
    }

    /// The W chosen.
    public var maxWeight: Double
    public var candidates: [Candidate]
    public var simulations: Int
    public var tolerance: Double
    public var seed: UInt64
    /// The α and guarantee the simulations calibrated with (the choice is for them).
    public var alpha: Double
    public var guarantee: String

    public init(maxWeight: Double, candidates: [Candidate], simulations: Int, tolerance: Double, seed: UInt64,
                alpha: Double, guarantee: String) {
        self.maxWeight = maxWeight
        self.candidates = candidates
        self.simulations = simulations
        self.tolerance = tolerance
        self.seed = seed
        self.alpha = alpha
        self.guarantee = guarantee
    }

    /// The candidates tried: about three per decade from 2 to 10⁵ (the paper's real-data
    /// setting used W = 2, its synthetic one W = 100).
    /// Simulated calibrations per candidate, and how close to the best mean bound the chosen W must come.
    public static let defaultSimulations = 24
    public static let defaultTolerance = 0.01

    public static let defaultCandidates: [Double] = [2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]

    public var chosen: Candidate { candidates.first { $0.maxWeight == maxWeight }! }

    /// One sentence for the CLI, plan.json readers and the report.
    public var reason: String {
        let c = chosen
        let best = candidates.map(\.predictedMeanLPB).max() ?? c.predictedMeanLPB
        let pct = Int((tolerance * 100).rounded())
        return "W = \(Self.format(maxWeight)) (M = \(Self.format(c.boundCap))) chosen from p̂ alone: the smallest of "
            + "\(candidates.count) candidates (\(Self.format(candidates.first!.maxWeight))–\(Self.format(candidates.last!.maxWeight))) "
            + "whose mean bound, predicted by \(simulations) simulated calibrations with the truth taken to be p̂, is within \(pct)% of the best "
            + "(\(Self.format(c.predictedMeanLPB.rounded())) vs \(Self.format(best.rounded()))); a larger W would add variance for less than that"
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }

    /// Chooses W for a strategy that caps bounds (trimmed, optimized).
    /// - Parameters:
    ///   - grid: the candidate grid for a bound cap M (e.g. `TauGrid.auto`).
    ///   - seed: seeds the simulations (common random numbers across candidates).
    public static func choose(pHat: [Double], budget: Double, alpha: Double, guarantee: Guarantee,
                              strategy: AllocationStrategy = .optimized, grid: (Double) -> TauGrid,
                              candidates: [Double] = defaultCandidates, simulations: Int = defaultSimulations,
                              tolerance: Double = defaultTolerance, seed: UInt64 = 1) throws -> WeightChoice {
        guard strategy.capsBounds, strategy != .adaptive else {
            throw TTUError.invalidArgument("W is chosen from p̂ for trimmed and optimized only (\(strategy.rawValue) has its own rule)")
        }
        guard !pHat.isEmpty else { throw TTUError.invalidArgument("no calibration prompts") }
        guard simulations >= 1 else { throw TTUError.invalidArgument("simulations must be at least 1") }
        let usable = candidates.filter { (budget * $0).rounded(.down) >= 1 }
        guard !usable.isEmpty else { throw TTUError.invalidArgument("no candidate W gives a bound cap B·W ≥ 1 at B = \(budget)") }
        var results = [Candidate?](repeating: nil, count: usable.count)
        var firstError: Error?
        let lock = NSLock()
        results.withUnsafeMutableBufferPointer { out in
            let outPtr = out
            DispatchQueue.concurrentPerform(iterations: usable.count) { k in
                do {
                    let c = try predict(pHat: pHat, budget: budget, maxWeight: usable[k], alpha: alpha, guarantee: guarantee,
                                        strategy: strategy, grid: grid, simulations: simulations, seed: seed)
                    outPtr[k] = c
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                }
            }
        }
        if let e = firstError { throw e }
        let all = results.map { $0! }
        let best = all.map(\.predictedMeanLPB).max()!
        let pick = all.first { $0.predictedMeanLPB >= (1 - tolerance) * best }!
        return WeightChoice(maxWeight: pick.maxWeight, candidates: all, simulations: simulations, tolerance: tolerance, seed: seed,
                            alpha: alpha, guarantee: guarantee.name)
    }

    /// The mean bound and coverage one W is predicted to give, from `simulations` calibrations
    /// simulated under p̂. Simulation r uses the same seeds for every W.
    static func predict(pHat: [Double], budget: Double, maxWeight: Double, alpha: Double, guarantee: Guarantee,
                        strategy: AllocationStrategy, grid: (Double) -> TauGrid, simulations: Int, seed: UInt64) throws -> Candidate {
        var settings = PlanSettings(strategy: strategy, budget: budget, maxWeight: maxWeight)
        settings.tauGrid = grid(settings.boundCap)
        let bounds = CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap)
        let w = pHat.map { bounds.priorQuantile(pHat: $0) }
        let pi = Allocation.probabilities(priorQuantile: w, settings: settings)
        let logSafe = pHat.map { CandidateBounds.logOneMinus($0) }
        var sumLPB = 0.0, sumCoverage = 0.0
        for r in 0..<simulations {
            let rs = SeededRNG(seed: seed).derived(UInt64(r))
            let cap = Allocation.drawCaps(pi: pi, priorQuantile: w, seed: StableHash.combine(rs.seed, 1))
            var rng = rs.derived(2)
            var observed = [Int](repeating: 0, count: pHat.count), event = [Bool](repeating: false, count: pHat.count)
            for i in pHat.indices where cap[i] > 0 {
                let t = rng.geometric(pHat[i])
                observed[i] = min(t, cap[i]); event[i] = t <= cap[i]
            }
            let sample = CalibrationSample(strategy: strategy, budget: budget, pHat: pHat, pi: pi, cap: cap, observed: observed, event: event)
            let result = try Calibrator.calibrate(sample, bounds: bounds, alpha: alpha, guarantee: guarantee,
                                                  seed: StableHash.combine(rs.seed, 3))
            let lb = LowerBound(tauHat: result.tauHat, boundCap: settings.boundCap)
            var s = 0.0, cov = 0.0
            for i in pHat.indices {
                let l = lb.bound(pHat: pHat[i])
                s += l
                cov += exp((l - 1) * logSafe[i])  // P(T ≥ L) = (1 − p̂)^(L − 1) under p̂
            }
            sumLPB += s / Double(pHat.count); sumCoverage += cov / Double(pHat.count)
        }
        let n = Double(simulations)
        return Candidate(maxWeight: maxWeight, boundCap: settings.boundCap, tauMax: settings.tauGrid.taus.last!,
                         predictedMeanLPB: sumLPB / n, predictedCoverage: sumCoverage / n)
    }
}
