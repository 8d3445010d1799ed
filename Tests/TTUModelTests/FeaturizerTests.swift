import XCTest
import TTUCore
@testable import TTUModel

final class FeaturizerTests: XCTestCase {
    /// Field features: standardised with the training mean/sd, and the stored settings
    /// rebuild bit-identical columns (what `predict` relies on).
    func testFieldFeaturesStandardiseAndRoundTrip() throws {
        let rows: [[Double]] = [[0.1, 5], [0.3, 5], [0.5, 5], [0.9, 5]]
        let f = try FieldFeatures.fit(names: ["risk", "const"], rows: rows)
        XCTAssertEqual(f.mean[0], 0.45, accuracy: 1e-15)
        XCTAssertEqual(f.scale[1], 1, "a constant field keeps scale 1")
        let x = try f.features(rows)
        let col0 = (0..<4).map { x.values[$0 * 2] }
        XCTAssertEqual(col0.reduce(0, +), 0, accuracy: 1e-12)
        XCTAssertEqual(col0.map { $0 * $0 }.reduce(0, +) / 4, 1, accuracy: 1e-12)
        guard case .fields(let back) = try FeaturizerSpec(settings: f.settings) else { return XCTFail("kind lost") }
        XCTAssertEqual(back, f)
        XCTAssertThrowsError(try FieldFeatures(settings: ["kind": "fields", "names": "a,b", "mean": "0", "scale": "1"]))
    }

    func testHashedFeaturesAreDeterministicNormalisedAndRoundTripTheirSettings() throws {
        let f = HashedNGramFeaturizer(buckets: 512, wordMin: 1, wordMax: 2, charMin: 3, charMax: 4)
        let a = f.features("The cat sat on the mat")
        XCTAssertEqual(a, f.features("the   CAT sat on the mat"), "case and whitespace must not matter")
        XCTAssertEqual(a.count, 512)
        // Two blocks, each of unit L2 norm (they may share buckets, so the total is near √2).
        let norm = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(norm, 2.0.squareRoot(), accuracy: 0.3)
        XCTAssertNotEqual(a, f.features("The dog sat on the mat"))
        // Fixed reference: StableHash (not Swift's per-process Hasher) decides the bucket.
        let g = HashedNGramFeaturizer(buckets: 16, wordMin: 1, wordMax: 1, charMin: 0, charMax: 0)
        let x = g.features("hello")
        XCTAssertEqual(x.filter { $0 != 0 }.count, 1)
        XCTAssertEqual(abs(x.first { $0 != 0 }!), 1, accuracy: 1e-12)
        let back = try FeaturizerSpec(settings: f.settings)
        XCTAssertEqual(back, .hashed(f))
        XCTAssertThrowsError(try FeaturizerSpec(settings: ["kind": "bogus"]))
        XCTAssertThrowsError(try HashedNGramFeaturizer(buckets: 1).validate())
    }

    func testEmbeddingFeaturesNormaliseAndRefuseWrongLengths() throws {
        let e = EmbeddingFeatures(model: "m", dimension: 2, endpoint: "http://x/v1")
        let m = try e.features([[3, 4], [0, 0]])
        for (v, w) in zip(m.values, [0.6, 0.8, 0, 0]) { XCTAssertEqual(v, w, accuracy: 1e-12) }
        XCTAssertThrowsError(try e.features([[1, 2, 3]]))
        XCTAssertEqual(try FeaturizerSpec(settings: e.settings), .embeddings(e))
    }

    /// Training starts at the pooled rate and reports the constant predictor's validation
    /// log-likelihood on the same rows; a feature that carries the rate beats it.
    func testTrainingReportsTheConstantPredictor() throws {
        var rows: [[Double]] = [], ys: [Double] = [], ws: [Double] = []
        for i in 0..<200 {
            let hot = i % 4 == 0
            rows.append([hot ? 1 : 0, 1])
            let label = SurvivalLabel.counts(n: 400, k: hot ? 40 : 1)
            ys.append(label.target); ws.append(label.weight)
        }
        let cfg = TrainingConfig(learningRate: 0.05, batchSize: 32, epochs: 100, seed: 1, validationFraction: 0.2,
                                 earlyStoppingPatience: 10, startAtPooledRate: true)
        let (_, r) = try LogisticModel.fit(features: try FeatureMatrix(rows), targets: ys, weights: ws, config: cfg)
        let pooled = try XCTUnwrap(r.pooledTrainingRate)
        XCTAssertEqual(pooled, (0.25 * 40 + 0.75 * 1) / 400, accuracy: 0.01)
        let model = try XCTUnwrap(r.selectedValidationLogLikelihoodPerGeneration)
        let constant = try XCTUnwrap(r.constantValidationLogLikelihoodPerGeneration)
        XCTAssertGreaterThan(model, constant)
    }

    /// Hashed features are stored sparse; training and prediction on them give exactly the
    /// parameters and p̂ of the same features stored dense, with a fraction of the memory.
    func testSparseHashedFeaturesTrainExactlyAsDense() throws {
        let h = HashedNGramFeaturizer(buckets: 512, wordMin: 1, wordMax: 2, charMin: 3, charMax: 5)
        let words = ["angry", "calm", "yelled", "poem", "idiot", "garden", "furious", "thanks"]
        var rng = SeededRNG(seed: 4)
        var texts: [String] = [], ys: [Double] = [], ws: [Double] = []
        for i in 0..<300 {
            let t = (0..<6).map { _ in words[Int(rng.next() % 8)] }.joined(separator: " ") + " \(i)"
            texts.append(t)
            let hot = t.contains("angry") || t.contains("idiot")
            let label = SurvivalLabel.counts(n: 50, k: hot ? 5 : 0)
            ys.append(label.target); ws.append(label.weight)
        }
        let sparse = h.features(texts)
        XCTAssertTrue(sparse.isSparse)
        let dense = try FeatureMatrix(rows: sparse.rows, cols: sparse.cols, values: sparse.values)
        XCTAssertFalse(dense.isSparse)
        XCTAssertEqual(sparse, dense)
        XCTAssertLessThan(sparse.storedCount * 4, dense.storedCount, "sparse rows hold few of the buckets")
        for (k, t) in texts.prefix(5).enumerated() { XCTAssertEqual(sparse.row(k), h.features(t)) }
        let cfg = TrainingConfig(learningRate: 0.05, batchSize: 32, epochs: 5, seed: 1, validationFraction: 0.2,
                                 earlyStoppingPatience: 3, startAtPooledRate: true)
        let (a, ra) = try LogisticModel.fit(features: sparse, targets: ys, weights: ws, config: cfg)
        let (b, rb) = try LogisticModel.fit(features: dense, targets: ys, weights: ws, config: cfg)
        XCTAssertEqual(a.weights, b.weights)
        XCTAssertEqual(ra.selectedValidationLogLikelihoodPerGeneration, rb.selectedValidationLogLikelihoodPerGeneration)
        XCTAssertEqual(a.predict(sparse), b.predict(dense))
        var mlpCfg = cfg
        mlpCfg.hiddenLayers = [8]
        let (m1, _) = try MLP.fit(features: sparse, targets: ys, weights: ws, config: mlpCfg)
        let (m2, _) = try MLP.fit(features: dense, targets: ys, weights: ws, config: mlpCfg)
        XCTAssertEqual(m1.predict(sparse), m2.predict(dense))
    }
}
