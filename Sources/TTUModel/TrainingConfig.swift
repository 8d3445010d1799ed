import Foundation
import TTUCore

/// Hyper-parameters of `MLP.fit` / `LogisticModel.fit`. Defaults follow the paper's
/// PyTorch script: AdamW with lr 1e-4, weight decay 1e-5, batches of 100, 10 epochs.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var learningRate: Double
    /// Decoupled (AdamW) weight decay, applied to every parameter including biases.
    public var weightDecay: Double
    public var batchSize: Int
    public var epochs: Int
    /// Seeds initialisation, the validation split and every epoch's shuffle.
    public var seed: UInt64
    /// Hidden layer widths of the MLP (ignored by `LogisticModel`).
    public var hiddenLayers: [Int]
    /// Fraction of rows held out (chosen by a seeded shuffle) to compute a validation
    /// loss after each epoch; 0 disables validation.
    public var validationFraction: Double
    /// With validation: stop after this many epochs without a new best validation loss
    /// and return the best-validation parameters. `nil`: train all epochs and return
    /// the final parameters.
    public var earlyStoppingPatience: Int?
    /// `true`: before training, set the output bias to the logit of the pooled training
    /// rate (Σ w·y / Σ w), so training starts at the constant predictor. With rare events
    /// (p ≈ 1e-3, logit ≈ −7) a bias initialised near 0 otherwise spends hundreds of
    /// epochs just learning the base rate.
    public var startAtPooledRate: Bool

    public init(learningRate: Double = 1e-4, weightDecay: Double = 1e-5, batchSize: Int = 100,
                epochs: Int = 10, seed: UInt64 = 0, hiddenLayers: [Int] = [32, 32, 32, 32],
                validationFraction: Double = 0, earlyStoppingPatience: Int? = nil, startAtPooledRate: Bool = false) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.epochs = epochs
        self.seed = seed
        self.hiddenLayers = hiddenLayers
        self.validationFraction = validationFraction
        self.earlyStoppingPatience = earlyStoppingPatience
        self.startAtPooledRate = startAtPooledRate
    }

    enum CodingKeys: String, CodingKey {
        case learningRate = "learning_rate", weightDecay = "weight_decay", batchSize = "batch_size", epochs, seed
        case hiddenLayers = "hidden_layers", validationFraction = "validation_fraction"
        case earlyStoppingPatience = "early_stopping_patience", startAtPooledRate = "start_at_pooled_rate"
    }

    /// `start_at_pooled_rate` may be absent (files written before it existed).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        epochs = try c.decode(Int.self, forKey: .epochs)
        seed = try c.decode(UInt64.self, forKey: .seed)
        hiddenLayers = try c.decode([Int].self, forKey: .hiddenLayers)
        validationFraction = try c.decode(Double.self, forKey: .validationFraction)
        earlyStoppingPatience = try c.decodeIfPresent(Int.self, forKey: .earlyStoppingPatience)
        startAtPooledRate = try c.decodeIfPresent(Bool.self, forKey: .startAtPooledRate) ?? false
    }

    /// Throws `TTUModelError.invalidConfiguration` on an out-of-range value.
    public func validate() throws {
        func bad(_ s: String) -> TTUModelError { .invalidConfiguration(s) }
        guard learningRate.isFinite, learningRate > 0 else { throw bad("learningRate must be > 0 (got \(learningRate))") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw bad("weightDecay must be ≥ 0 (got \(weightDecay))") }
        guard batchSize >= 1 else { throw bad("batchSize must be ≥ 1 (got \(batchSize))") }
        guard epochs >= 0 else { throw bad("epochs must be ≥ 0 (got \(epochs))") }
        guard hiddenLayers.allSatisfy({ $0 >= 1 }) else { throw bad("hidden layer widths must be ≥ 1 (got \(hiddenLayers))") }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw bad("validationFraction must be in [0, 1) (got \(validationFraction))")
        }
        if let p = earlyStoppingPatience {
            guard p >= 1 else { throw bad("earlyStoppingPatience must be ≥ 1 (got \(p))") }
            guard validationFraction > 0 else { throw bad("earlyStoppingPatience needs validationFraction > 0") }
        }
    }
}
