import Foundation
import TTUCore
import TTUModel

/// docs/method.md §6 up to the predictions: population, split, training counts, the paper's MLP.
/// Shared by `simulate` and `bench`. All data simulated.
public struct SyntheticSetup {
    public var population: SyntheticPopulation
    public var split: SyntheticPopulation.Split
    public var study: CalibrationStudy
    public var trainingReport: TrainingReport
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
