import Foundation
import TTUCore

/// The fitted model against the constant predictor (the pooled training rate) on held-out
/// prompts that played no part in training or in choosing the epoch: the log-likelihood
/// per generation of each, their difference (the gain) and its standard error over prompts
/// (delta method for the ratio Σ d_i / Σ w_i, with d_i a prompt's log-likelihood
/// difference and w_i its generations). A gain within two standard errors of 0 is no
/// evidence that the model is better.
public struct PredictorComparison: Codable, Equatable, Sendable {
    public var prompts: Int
    public var modelLogLikelihoodPerGeneration: Double
    public var constantLogLikelihoodPerGeneration: Double
    public var gainPerGeneration: Double
    public var gainStandardError: Double

    /// "better" (gain > 2 SE), "worse" (gain < −2 SE) or "indistinguishable".
    public var verdict: String {
        gainPerGeneration > 2 * gainStandardError ? "better" : gainPerGeneration < -2 * gainStandardError ? "worse" : "indistinguishable"
    }

    enum CodingKeys: String, CodingKey {
        case prompts, modelLogLikelihoodPerGeneration = "model_log_likelihood_per_generation"
        case constantLogLikelihoodPerGeneration = "constant_log_likelihood_per_generation"
        case gainPerGeneration = "gain_per_generation", gainStandardError = "gain_standard_error"
    }
}
