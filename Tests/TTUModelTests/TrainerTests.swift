import XCTest
import TTUCore
@testable import TTUModel

final class TrainerTests: XCTestCase {
    func testPyTorchInitialisationBounds() {
        let m = MLP(inputDimension: 10, hiddenLayers: [32, 32], seed: 3)
        XCTAssertEqual(m.layers.map(\.inputs), [10, 32, 32])
        XCTAssertEqual(m.layers.map(\.outputs), [32, 32, 1])
        for layer in m.layers {
            let bound = 1 / Double(layer.inputs).squareRoot()   // fan-in, for weights and biases
            let all = layer.weights + layer.bias
            XCTAssertTrue(all.allSatisfy { abs($0) <= bound }, "parameter outside ±1/√fan_in")
            // Uniform on the whole interval, not a narrower one: the extremes come close to ±bound.
            if layer.weights.count >= 32 {
                XCTAssertGreaterThan(layer.weights.max()!, 0.8 * bound)
                XCTAssertLessThan(layer.weights.min()!, -0.8 * bound)
            }
        }
        let w = m.layers[0].weights
        XCTAssertEqual(w.reduce(0, +) / Double(w.count), 0, accuracy: 0.05)
        XCTAssertEqual(MLP(inputDimension: 10, hiddenLayers: [32, 32], seed: 3), m, "init must be seeded")
        XCTAssertNotEqual(MLP(inputDimension: 10, hiddenLayers: [32, 32], seed: 4), m)
        let l = LogisticModel(inputDimension: 4, seed: 1)
        XCTAssertTrue((l.weights + [l.bias]).allSatisfy { abs($0) <= 0.5 })
    }

    /// One AdamW step on a single parameter, worked by hand:
    /// p = 0.5·(1 − 0.1·0.01) − 0.1·(0.02/0.1)/(√(4e-5)/√0.001 + 1e-8) = 0.4995 − 0.02/0.20000001.
    func testAdamWOneStepMatchesHandComputation() {
        var opt = AdamW(parameterCount: 1, learningRate: 0.1, weightDecay: 0.01)
        var p = [0.5]
        opt.update(&p, gradient: [0.2])
        XCTAssertEqual(p[0], 0.399_500_004_999_999_75, accuracy: 1e-13)
        // Second step: m = 0.02 + 0.1·(−0.1 − 0.02) = 0.008, v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5.
        opt.update(&p, gradient: [-0.1])
        let expected = 0.399_500_004_999_999_75 * 0.999
            - (0.1 / (1 - 0.81)) * 0.008 / ((4.996e-5).squareRoot() / (1 - 0.998_001).squareRoot() + 1e-8)
        XCTAssertEqual(p[0], expected, accuracy: 1e-13)
        XCTAssertEqual(opt.step, 2)
    }

    /// A full `fit` of one row for one step equals initial parameters + one hand AdamW step.
    func testFitOneStepMatchesManualUpdate() throws {
        let seed: UInt64 = 77
        let start = LogisticModel(inputDimension: 1, seed: seed)
        let x = 2.0, y = 0.1, lr = 0.01, wd = 0.1
        let X = try FeatureMatrix(rows: 1, cols: 1, values: [x])
        let (m, report) = try LogisticModel.fit(features: X, targets: [y], weights: [5],
                                                config: TrainingConfig(learningRate: lr, weightDecay: wd, epochs: 1, seed: seed))
        XCTAssertEqual(report.steps, 1)
        let r = BinaryCrossEntropy.sigmoid(start.weights[0] * x + start.bias) - y
        func step(_ p0: Double, _ g: Double) -> Double {
            let mHat = (1 - 0.9) * g / (1 - 0.9), vHat = (1 - 0.999) * g * g
            return p0 * (1 - lr * wd) - lr * mHat / (vHat.squareRoot() / (1 - 0.999).squareRoot() + 1e-8)
        }
        XCTAssertEqual(m.weights[0], step(start.weights[0], r * x), accuracy: 1e-14)
        XCTAssertEqual(m.bias, step(start.bias, r), accuracy: 1e-14)
    }

    func testDeterminism() throws {
        let data = logisticCountData(rows: 400, n: 20, a: 1, b: -2, seed: 9)
        var cfg = TrainingConfig(learningRate: 0.01, batchSize: 32, epochs: 3, seed: 123, hiddenLayers: [8, 8],
                                 validationFraction: 0.2, earlyStoppingPatience: 2)
        let (a, ra) = try MLP.fit(features: data.x, targets: data.y, weights: data.w, config: cfg)
        let (b, rb) = try MLP.fit(features: data.x, targets: data.y, weights: data.w, config: cfg)
        XCTAssertTrue(bitsEqual(a.flatParameters, b.flatParameters), "same seed must give bit-identical parameters")
        XCTAssertEqual(ra, rb)
        cfg.seed = 124
        let (c, _) = try MLP.fit(features: data.x, targets: data.y, weights: data.w, config: cfg)
        XCTAssertFalse(bitsEqual(a.flatParameters, c.flatParameters), "a different seed must give different parameters")
        let l1 = try LogisticModel.fit(features: data.x, targets: data.y, weights: data.w, config: cfg).model
        let l2 = try LogisticModel.fit(features: data.x, targets: data.y, weights: data.w, config: cfg).model
        XCTAssertTrue(bitsEqual(l1.weights + [l1.bias], l2.weights + [l2.bias]))
    }

    func testReportShapeAndPartialLastBatch() throws {
        let data = logisticCountData(rows: 250, n: 10, a: 1, b: -1, seed: 2)
        var w = data.w
        w[5] = 0; w[6] = 0   // zero-weight rows are left out of training
        let (_, r) = try LogisticModel.fit(features: data.x, targets: data.y, weights: w,
                                           config: TrainingConfig(batchSize: 100, epochs: 4, validationFraction: 0.2))
        XCTAssertEqual(r.validationRows, 25)            // half of the 50 held out choose the epoch
        XCTAssertEqual(r.comparison?.prompts, 25)       // the other half compare with the constant
        XCTAssertEqual(r.trainingRows + r.zeroWeightRows, 200)
        XCTAssertEqual(r.steps, 4 * Int((Double(r.trainingRows) / 100).rounded(.up)))
        XCTAssertEqual(r.epochs.count, 4)
        XCTAssertEqual(r.selectedEpoch, 4)
        for e in r.epochs {
            XCTAssertEqual(e.trainLogLikelihoodPerGeneration, -e.trainLoss)
            XCTAssertEqual(e.validationLogLikelihoodPerGeneration!, -e.validationLoss!)
        }
    }

    /// Eight prompts hold out two: one chooses the epoch and one is left to compare with the
    /// constant, too few for a standard error. No comparison then (an infinite one made
    /// `ttu train` fail writing model.json), and the report still encodes.
    func testTooFewHeldOutPromptsGiveNoComparison() throws {
        let data = logisticCountData(rows: 8, n: 10, a: 1, b: -1, seed: 3)
        let (_, r) = try LogisticModel.fit(features: data.x, targets: data.y, weights: data.w,
                                           config: TrainingConfig(batchSize: 4, epochs: 2, validationFraction: 0.2))
        XCTAssertEqual(r.validationRows, 1)   // of 2 held out: the other one is the comparison's
        XCTAssertNil(r.comparison)
        XCTAssertNoThrow(try JSONEncoder().encode(r))
    }

    /// Early stopping returns the parameters of the best validation epoch.
    func testEarlyStoppingKeepsBestValidationParameters() throws {
        let data = logisticCountData(rows: 300, n: 5, a: 0.5, b: -1, seed: 21)
        let cfg = TrainingConfig(learningRate: 0.3, batchSize: 10, epochs: 40, seed: 8, hiddenLayers: [16, 16],
                                 validationFraction: 0.3, earlyStoppingPatience: 3)
        let (m, r) = try MLP.fit(features: data.x, targets: data.y, weights: data.w, config: cfg)
        let losses = r.epochs.map { $0.validationLoss! }
        let best = losses.min()!
        XCTAssertEqual(losses[r.selectedEpoch - 1], best)
        XCTAssertTrue(r.stoppedEarly, "a large learning rate on noisy data should trigger early stopping")
        XCTAssertEqual(r.epochs.count, r.selectedEpoch + 3)
        // Recompute the validation loss of the returned model on the same split.
        var rng = SeededRNG(seed: cfg.seed).derived(RandomStream.validationSplit)
        let perm = rng.permutation(300)
        let val = Trainer.comparisonSplit(perm[0..<90].sorted()).stopping
        let Xv = try FeatureMatrix(val.map { data.x.row($0) })
        let lv = try m.weightedBCE(features: Xv, targets: val.map { data.y[$0] }, weights: val.map { data.w[$0] })
        XCTAssertEqual(lv, best, accuracy: 1e-12)
    }

    func testInvalidInputsNameTheRow() throws {
        let X = try FeatureMatrix(rows: 4, cols: 2, values: [0, 1, 2, 3, 4, 5, .nan, 7])
        XCTAssertThrowsError(try MLP.fit(features: X, targets: [0, 0, 0, 0], weights: [1, 1, 1, 1])) {
            guard case let .nonFiniteFeature(row, column, _) = $0 as? TTUModelError else { return XCTFail("\($0)") }
            XCTAssertEqual(row, 3); XCTAssertEqual(column, 0)
            XCTAssertTrue("\($0)".contains("row 3"), "\($0)")
        }
        let good = try FeatureMatrix(rows: 3, cols: 1, values: [0, 1, 2])
        XCTAssertThrowsError(try LogisticModel.fit(features: good, targets: [0, 0, 1.5], weights: [1, 1, 1])) {
            XCTAssertEqual($0 as? TTUModelError, .targetOutOfRange(row: 2, value: 1.5))
        }
        XCTAssertThrowsError(try LogisticModel.fit(features: good, targets: [0, .nan, 0], weights: [1, 1, 1])) {
            XCTAssertTrue("\($0)".contains("row 1"), "\($0)")
        }
        XCTAssertThrowsError(try LogisticModel.fit(features: good, targets: [0, 0, 0], weights: [1, -1, 1])) {
            XCTAssertEqual($0 as? TTUModelError, .invalidWeight(row: 1, value: -1))
        }
        XCTAssertThrowsError(try LogisticModel.fit(features: good, targets: [0, 0], weights: [1, 1, 1])) {
            guard case .shapeMismatch = $0 as? TTUModelError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try LogisticModel.fit(features: good, targets: [0, 0, 0], weights: [0, 0, 0])) {
            guard case .noWeight = $0 as? TTUModelError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try FeatureMatrix(rows: 2, cols: 2, values: [1, 2, 3]))
        XCTAssertThrowsError(try LogisticModel.fit(features: good, targets: [0, 0, 0], weights: [1, 1, 1],
                                                   config: TrainingConfig(batchSize: 0)))
        XCTAssertThrowsError(try LogisticModel.fit(features: good, targets: [0, 0, 0], weights: [1, 1, 1],
                                                   config: TrainingConfig(earlyStoppingPatience: 2)))
    }
}
