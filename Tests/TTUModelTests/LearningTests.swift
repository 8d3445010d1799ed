import XCTest
import TTUCore
@testable import TTUModel

final class LearningTests: XCTestCase {
    /// Logistic regression recovers the slope and intercept of p = σ(a·x + b).
    func testLogisticRecoversParameters() throws {
        let data = logisticCountData(rows: 2000, n: 100, a: 1.5, b: -3, seed: 31)
        let cfg = TrainingConfig(learningRate: 0.05, weightDecay: 0, batchSize: 500, epochs: 200, seed: 1)
        let (m, r) = try LogisticModel.fit(features: data.x, targets: data.y, weights: data.w, config: cfg)
        XCTAssertEqual(m.weights[0], 1.5, accuracy: 0.1, "slope")
        XCTAssertEqual(m.bias, -3, accuracy: 0.1, "intercept")
        XCTAssertLessThan(r.epochs.last!.trainLoss, r.epochs.first!.trainLoss)
        // AdamW has converged to the maximum-likelihood estimate (Newton's method on the same data).
        let (aMLE, bMLE) = newtonLogistic(x: data.x.values, y: data.y, w: data.w)
        XCTAssertEqual(m.weights[0], aMLE, accuracy: 0.01)
        XCTAssertEqual(m.bias, bMLE, accuracy: 0.01)
    }

    /// Weighted logistic-regression MLE by Newton's method (2 parameters).
    private func newtonLogistic(x: [Double], y: [Double], w: [Double]) -> (Double, Double) {
        var a = 0.0, b = 0.0
        for _ in 0..<50 {
            var ga = 0.0, gb = 0.0, haa = 0.0, hab = 0.0, hbb = 0.0
            for i in x.indices {
                let p = BinaryCrossEntropy.sigmoid(a * x[i] + b), r = w[i] * (p - y[i]), v = w[i] * p * (1 - p)
                ga += r * x[i]; gb += r
                haa += v * x[i] * x[i]; hab += v * x[i]; hbb += v
            }
            let det = haa * hbb - hab * hab
            a -= (hbb * ga - hab * gb) / det
            b -= (haa * gb - hab * ga) / det
        }
        return (a, b)
    }

    /// The MLP beats a constant predictor at the base rate on held-out rows, and is
    /// close to the true-p log-likelihood.
    func testMLPBeatsConstantPredictor() throws {
        // A non-monotone rate in x: logistic regression cannot express it, the MLP can.
        var rng = SeededRNG(seed: 41)
        let rows = 2000, n = 50
        var xs = [Double](), ys = [Double](), ws = [Double](), ps = [Double]()
        for _ in 0..<rows {
            let x = 4 * rng.uniformOpen() - 2
            let p = BinaryCrossEntropy.sigmoid(-4 + 1.5 * x * x)
            let l = SurvivalLabel.counts(n: n, k: rng.binomial(n, p))
            xs.append(x); ys.append(l.target); ws.append(l.weight); ps.append(p)
        }
        let X = try FeatureMatrix(rows: rows, cols: 1, values: xs)
        let cfg = TrainingConfig(learningRate: 0.01, batchSize: 100, epochs: 20, seed: 5, hiddenLayers: [16, 16],
                                 validationFraction: 0.25, earlyStoppingPatience: 5)
        let (m, r) = try MLP.fit(features: X, targets: ys, weights: ws, config: cfg)

        var split = SeededRNG(seed: cfg.seed).derived(RandomStream.validationSplit)
        let held = split.permutation(rows)[0..<500].sorted(), train = Set(0..<rows).subtracting(held)
        let (val, other) = Trainer.comparisonSplit(held)   // half chose the epoch, half compare
        let base = train.map { ys[$0] * ws[$0] }.reduce(0, +) / train.map { ws[$0] }.reduce(0, +)
        let yv = val.map { ys[$0] }, wv = val.map { ws[$0] }
        let llMLP = -BinaryCrossEntropy.weightedMean(probabilities: val.map { m.predict([xs[$0]]) }, targets: yv, weights: wv)
        let llConst = -BinaryCrossEntropy.weightedMean(probabilities: val.map { _ in base }, targets: yv, weights: wv)
        let llTrue = -BinaryCrossEntropy.weightedMean(probabilities: val.map { ps[$0] }, targets: yv, weights: wv)
        XCTAssertEqual(llMLP, r.epochs[r.selectedEpoch - 1].validationLogLikelihoodPerGeneration!, accuracy: 1e-12)
        XCTAssertGreaterThan(llMLP, llConst + 0.5 * (llTrue - llConst),
                             "MLP \(llMLP) should close most of the gap from constant \(llConst) to truth \(llTrue)")
        // The comparison on the other half, recomputed here.
        let k = try XCTUnwrap(r.comparison)
        XCTAssertEqual(k.prompts, other.count)
        let yo = other.map { ys[$0] }, wo = other.map { ws[$0] }
        let gain = -BinaryCrossEntropy.weightedMean(probabilities: other.map { m.predict([xs[$0]]) }, targets: yo, weights: wo)
            + BinaryCrossEntropy.weightedMean(probabilities: other.map { _ in base }, targets: yo, weights: wo)
        XCTAssertEqual(k.gainPerGeneration, gain, accuracy: 1e-9)
        XCTAssertGreaterThan(k.gainStandardError, 0)
        XCTAssertEqual(k.verdict, "better")
    }

    /// Censored first-unsafe times: T ~ Geometric(p) capped at c. The MLE with a
    /// constant feature is Σe / Σt̃; the fit must match it and the true p.
    func testCensoredFirstUnsafeTimesRecoverRate() throws {
        let p = 0.02, cap = 30, rows = 5000
        var rng = SeededRNG(seed: 51)
        var labels: [SurvivalLabel] = []
        for _ in 0..<rows {
            let t = rng.geometric(p)
            labels.append(t <= cap ? .firstUnsafe(observed: t, event: true) : .firstUnsafe(observed: cap, event: false))
        }
        let (ys, ws) = try SurvivalLabel.targetsAndWeights(labels)
        XCTAssertTrue(labels.contains(.firstUnsafe(observed: cap, event: false)), "some rows must be censored")
        let mle = ys.indices.map { ys[$0] * ws[$0] }.reduce(0, +) / ws.reduce(0, +)
        let X = try FeatureMatrix(rows: rows, cols: 1, values: [Double](repeating: 1, count: rows))
        let cfg = TrainingConfig(learningRate: 0.05, weightDecay: 0, batchSize: 500, epochs: 30, seed: 2)
        let (m, _) = try LogisticModel.fit(features: X, targets: ys, weights: ws, config: cfg)
        let pHat = m.predict([1])
        XCTAssertEqual(pHat, mle, accuracy: 0.02 * mle, "fit vs closed-form MLE")
        XCTAssertEqual(pHat, p, accuracy: 0.1 * p, "fit vs true p")
        // Ignoring censoring (events only) would overstate p badly: the weighting matters.
        let eventsOnly = labels.filter { if case .firstUnsafe(_, true) = $0 { return true } else { return false } }
        let naive = Double(eventsOnly.count) / eventsOnly.map(\.weight).reduce(0, +)
        XCTAssertGreaterThan(naive, 2 * p)
    }
}
