import TTUCore

/// Logistic regression `p̂(x) = σ(w·x + b)`: the MLP with no hidden layer, trained by
/// the same loop (so the same AdamW, batching and seeding rules apply).
public struct LogisticModel: UnsafeRatePredictor, Codable, Equatable, Sendable {
    public let weights: [Double]
    public let bias: Double

    public init(weights: [Double], bias: Double) throws {
        guard !weights.isEmpty else { throw TTUModelError.shapeMismatch("a logistic model needs at least one weight") }
        guard weights.allSatisfy(\.isFinite), bias.isFinite else {
            throw TTUModelError.shapeMismatch("logistic model has non-finite parameters")
        }
        self.weights = weights; self.bias = bias
    }

    /// PyTorch `nn.Linear(d, 1)` default initialisation from stream `initialization` of `seed`.
    public init(inputDimension: Int, seed: UInt64) {
        precondition(inputDimension >= 1)
        var rng = SeededRNG(seed: seed).derived(RandomStream.initialization)
        self.init(net: DenseNet(sizes: [inputDimension, 1], rng: &rng))
    }

    init(net: DenseNet) {
        precondition(net.sizes.count == 2)
        weights = Array(net.parameters.dropLast())
        bias = net.parameters.last!
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(weights: c.decode([Double].self, forKey: .weights), bias: c.decode(Double.self, forKey: .bias))
    }

    var net: DenseNet { DenseNet(sizes: [weights.count, 1], parameters: weights + [bias]) }

    public var inputDimension: Int { weights.count }

    public func logit(_ x: [Double]) -> Double {
        precondition(x.count == weights.count, "expected \(weights.count) features, got \(x.count)")
        var s = bias
        for i in 0..<x.count { s += weights[i] * x[i] }
        return s
    }

    public func logits(_ features: FeatureMatrix) -> [Double] {
        precondition(features.cols == inputDimension, "expected \(inputDimension) features, got \(features.cols)")
        return DenseWorkspace(sizes: [weights.count, 1], capacity: 256)
            .logits(params: weights + [bias], features: features)
    }

    /// Fits by minibatch AdamW on the weighted BCE (`config.hiddenLayers` is ignored).
    public static func fit(features: FeatureMatrix, targets: [Double], weights: [Double],
                           config: TrainingConfig = TrainingConfig()) throws -> (model: LogisticModel, report: TrainingReport) {
        try config.validate()
        guard features.cols >= 1 else { throw TTUModelError.shapeMismatch("features need at least one column") }
        var net = LogisticModel(inputDimension: features.cols, seed: config.seed).net
        let report = try Trainer.train(net: &net, features: features, targets: targets, weights: weights, config: config)
        return (LogisticModel(net: net), report)
    }
}
