/// A predictor `p̂(x)` of the per-prompt probability that one generation is unsafe.
///
/// Feature vectors must have `inputDimension` entries; a wrong length is a programming
/// error and traps (training and `weightedBCE` validate data and throw instead).
public protocol UnsafeRatePredictor: Sendable {
    /// Number of features `predict` expects.
    var inputDimension: Int { get }
    /// The log-odds of the unsafe probability for feature vector `x`.
    func logit(_ x: [Double]) -> Double
    /// Log-odds for every row of `features`.
    func logits(_ features: FeatureMatrix) -> [Double]
}

extension UnsafeRatePredictor {
    /// The unsafe probability p̂(x) ∈ [0, 1] for one feature vector.
    public func predict(_ x: [Double]) -> Double { BinaryCrossEntropy.sigmoid(logit(x)) }

    /// p̂ for every row of `features`.
    public func predict(_ features: FeatureMatrix) -> [Double] {
        logits(features).map(BinaryCrossEntropy.sigmoid)
    }

    /// Weighted BCE `Σ w·BCE / Σ w` of this predictor on labelled data (the negated mean
    /// log-likelihood per generation). Validates the data like `fit` does.
    public func weightedBCE(features: FeatureMatrix, targets: [Double], weights: [Double]) throws -> Double {
        try Trainer.validate(features: features, targets: targets, weights: weights)
        guard features.cols == inputDimension else {
            throw TTUModelError.shapeMismatch("model takes \(inputDimension) features, data has \(features.cols)")
        }
        guard weights.contains(where: { $0 > 0 }) else { throw TTUModelError.noWeight("every row has weight 0") }
        return BinaryCrossEntropy.weightedMean(logits: logits(features), targets: targets, weights: weights)
    }
}
