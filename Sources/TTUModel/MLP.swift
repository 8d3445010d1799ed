import TTUCore

/// One dense layer: `out = weights · in + bias` with `weights` stored row-major as
/// `outputs × inputs` (PyTorch's `nn.Linear.weight` layout).
public struct DenseLayer: Codable, Equatable, Sendable {
    public let inputs: Int
    public let outputs: Int
    public let weights: [Double]
    public let bias: [Double]

    public init(inputs: Int, outputs: Int, weights: [Double], bias: [Double]) throws {
        guard inputs >= 1, outputs >= 1, weights.count == inputs * outputs, bias.count == outputs else {
            throw TTUModelError.shapeMismatch(
                "dense layer \(inputs)→\(outputs) needs \(inputs * outputs) weights and \(outputs) biases, got \(weights.count) and \(bias.count)")
        }
        guard weights.allSatisfy(\.isFinite), bias.allSatisfy(\.isFinite) else {
            throw TTUModelError.shapeMismatch("dense layer \(inputs)→\(outputs) has non-finite parameters")
        }
        self.inputs = inputs; self.outputs = outputs; self.weights = weights; self.bias = bias
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(inputs: c.decode(Int.self, forKey: .inputs), outputs: c.decode(Int.self, forKey: .outputs),
                      weights: c.decode([Double].self, forKey: .weights), bias: c.decode([Double].self, forKey: .bias))
    }
}

/// A multilayer perceptron `p̂(x) = σ(f(x))`: dense layers with ReLU between them and a
/// single output logit (default hidden widths [32, 32, 32, 32], as in the paper).
public struct MLP: UnsafeRatePredictor, Codable, Equatable, Sendable {
    /// The layers, input first; the last has one output.
    public let layers: [DenseLayer]

    /// Builds a network from explicit layers (checks that consecutive widths match and
    /// that the last layer has one output).
    public init(layers: [DenseLayer]) throws {
        guard let last = layers.last, last.outputs == 1 else {
            throw TTUModelError.shapeMismatch("an MLP needs at least one layer and a single output")
        }
        for l in 1..<max(layers.count, 1) where layers[l].inputs != layers[l - 1].outputs {
            throw TTUModelError.shapeMismatch(
                "layer \(l) takes \(layers[l].inputs) inputs but layer \(l - 1) gives \(layers[l - 1].outputs)")
        }
        self.layers = layers
        self.net = MLP.pack(layers)
    }

    /// A freshly initialised network (PyTorch `nn.Linear` default initialisation, drawn
    /// from stream `initialization` of `seed`): identical to the starting point of
    /// `fit` with the same seed and hidden layers.
    public init(inputDimension: Int, hiddenLayers: [Int] = [32, 32, 32, 32], seed: UInt64) {
        precondition(inputDimension >= 1 && hiddenLayers.allSatisfy { $0 >= 1 })
        var rng = SeededRNG(seed: seed).derived(RandomStream.initialization)
        self.init(net: DenseNet(sizes: [inputDimension] + hiddenLayers + [1], rng: &rng))
    }

    // The flat form used for computation (not encoded; rebuilt from `layers`).
    let net: DenseNet
    private enum CodingKeys: String, CodingKey { case layers }

    init(net: DenseNet) {
        var ls: [DenseLayer] = []
        for l in 0..<net.layerCount {
            let (wo, bo) = net.offsets(l)
            let nin = net.sizes[l], nout = net.sizes[l + 1]
            ls.append(try! DenseLayer(inputs: nin, outputs: nout,
                                      weights: Array(net.parameters[wo..<(wo + nin * nout)]),
                                      bias: Array(net.parameters[bo..<(bo + nout)])))
        }
        self.layers = ls
        self.net = net
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(layers: c.decode([DenseLayer].self, forKey: .layers))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layers, forKey: .layers)
    }

    public static func == (a: MLP, b: MLP) -> Bool { a.layers == b.layers }

    private static func pack(_ layers: [DenseLayer]) -> DenseNet {
        var p: [Double] = []
        for l in layers { p += l.weights; p += l.bias }
        return DenseNet(sizes: [layers[0].inputs] + layers.map(\.outputs), parameters: p)
    }

    public var inputDimension: Int { net.inputDimension }
    /// Hidden layer widths.
    public var hiddenLayers: [Int] { layers.dropLast().map(\.outputs) }
    /// All parameters in one array (layer by layer: weights row-major, then biases).
    public var flatParameters: [Double] { net.parameters }

    public func logit(_ x: [Double]) -> Double { net.logit(x) }

    public func logits(_ features: FeatureMatrix) -> [Double] {
        precondition(features.cols == inputDimension, "expected \(inputDimension) features, got \(features.cols)")
        return DenseWorkspace(sizes: net.sizes, capacity: 256).logits(params: net.parameters, features: features)
    }

    /// Fits an MLP with hidden widths `config.hiddenLayers` by minibatch AdamW on the
    /// weighted BCE (see `SurvivalLabel` for building targets and weights).
    /// Throws on invalid data (naming the row) or configuration.
    public static func fit(features: FeatureMatrix, targets: [Double], weights: [Double],
                           config: TrainingConfig = TrainingConfig()) throws -> (model: MLP, report: TrainingReport) {
        try config.validate()
        guard features.cols >= 1 else { throw TTUModelError.shapeMismatch("features need at least one column") }
        var net = MLP(inputDimension: features.cols, hiddenLayers: config.hiddenLayers, seed: config.seed).net
        let report = try Trainer.train(net: &net, features: features, targets: targets, weights: weights, config: config)
        return (MLP(net: net), report)
    }
}
