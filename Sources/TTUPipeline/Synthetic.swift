import Foundation
import TTUCore
import TTUModel

/// docs/method.md §6 up to the predictions: population, split, training counts, the paper's MLP.
/// Shared by `simulate` and `bench`. All data simulated.
public struct SyntheticSetup {
    public var population: SyntheticPopulation
    public var split: SyntheticPopulation.Split
    public var study: CalibrationStudy
    /// nil for the noisy oracle (nothing trained).
    public var trainingReport: TrainingReport?
    public var seconds: (population: Double, training: Double)

    public static func make(n: Int, seed: UInt64, trainGenerations: Int, epochs: Int) throws -> SyntheticSetup {
        var clock = Stopwatch()
        let pop = SyntheticPopulation(count: n, seed: seed)
        let split = pop.split(seed: seed)
        let counts = pop.trainingCounts(rows: split.train, generations: trainGenerations, seed: seed)
        let tPop = clock.lap()
        func matrix(_ rows: [Int]) throws -> FeatureMatrix {
            var v: [Double] = []
            v.reserveCapacity(rows.count * SyntheticPopulation.featureCount)
            for i in rows { v += pop.featureRow(i) }
            return try FeatureMatrix(rows: rows.count, cols: SyntheticPopulation.featureCount, values: v)
        }
        let labels = counts.map { SurvivalLabel.counts(n: trainGenerations, k: $0) }
        var config = TrainingConfig()  // the paper's: 4×32 ReLU, AdamW lr 1e-4, wd 1e-5, batch 100
        config.epochs = epochs
        config.seed = seed
        let (model, report) = try MLP.fit(features: try matrix(split.train), targets: labels.map(\.target),
                                          weights: labels.map(\.weight), config: config)
        let study = CalibrationStudy(
            calibrationPHat: model.predict(try matrix(split.calibration)), calibrationP: split.calibration.map { pop.p[$0] },
            testPHat: model.predict(try matrix(split.test)), testP: split.test.map { pop.p[$0] },
            heldOutPHat: model.predict(try matrix(split.train)))
        let tTrain = clock.lap()
        return SyntheticSetup(population: pop, split: split, study: study, trainingReport: report,
                              seconds: (tPop, tTrain))
    }
}

extension SyntheticSetup {
    /// The population and split of `make`, with the paper's MLP replaced by a noisy oracle
    /// `p̂ = p·e^{σZ}`, Z ~ N(0, 1) per prompt (capped below 1): calibration judged apart
    /// from training. All data simulated.
    public static func makeNoisyOracle(n: Int, seed: UInt64, sigma: Double) -> SyntheticSetup {
        var clock = Stopwatch()
        let pop = SyntheticPopulation(count: n, seed: seed)
        let split = pop.split(seed: seed)
        var rng = SeededRNG(seed: seed).derived(0x0AC1E)
        let pHat = pop.p.map { min($0 * exp(sigma * rng.normal(mean: 0, sd: 1)), 0.999) }
        let study = CalibrationStudy(
            calibrationPHat: split.calibration.map { pHat[$0] }, calibrationP: split.calibration.map { pop.p[$0] },
            testPHat: split.test.map { pHat[$0] }, testP: split.test.map { pop.p[$0] },
            heldOutPHat: split.train.map { pHat[$0] })
        return SyntheticSetup(population: pop, split: split, study: study, trainingReport: nil,
                              seconds: (clock.lap(), 0))
    }

    /// The predictor against the best constant on the test prompts, in expected
    /// log-likelihood per generation under the true p (exact: p is known): the gain of p̂
    /// over the constant p̄ (the mean true rate of the training prompts).
    public func gainOverConstant() -> (gain: Double, constant: Double) {
        let st = study
        let pBar = split.train.map { population.p[$0] }.reduce(0, +) / Double(max(split.train.count, 1))
        func ll(_ q: Double, _ p: Double) -> Double {
            let c = min(max(q, 1e-12), 1 - 1e-12)
            return p * log(c) + (1 - p) * log1p(-c)
        }
        var g = 0.0
        for (q, p) in zip(st.testPHat, st.testP) { g += ll(q, p) - ll(pBar, p) }
        return (g / Double(max(st.testP.count, 1)), pBar)
    }
}

/// Wall-clock timing for the CLI's progress lines and benchmarks (never in TTUCore).
public struct Stopwatch {
    public init() {}
    private var last = DispatchTime.now().uptimeNanoseconds
    public mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}
