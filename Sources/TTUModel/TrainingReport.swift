import Foundation
import TTUCore

/// Losses after one epoch. Losses are the weighted BCE `Σ w·BCE / Σ w`; the
/// log-likelihoods per generation are their negations (Σ w counts generations), kept
/// for readability of reports.
public struct EpochRecord: Codable, Equatable, Sendable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Weighted BCE accumulated over the epoch's batches (parameters change during the
    /// epoch, as in the usual running training loss).
    public var trainLoss: Double
    public var trainLogLikelihoodPerGeneration: Double
    /// Weighted BCE on the validation rows with the parameters at the end of the epoch.
    public var validationLoss: Double?
    public var validationLogLikelihoodPerGeneration: Double?

    public init(epoch: Int, trainLoss: Double, trainLogLikelihoodPerGeneration: Double,
                validationLoss: Double? = nil, validationLogLikelihoodPerGeneration: Double? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainLogLikelihoodPerGeneration = trainLogLikelihoodPerGeneration
        self.validationLoss = validationLoss
        self.validationLogLikelihoodPerGeneration = validationLogLikelihoodPerGeneration
    }

    enum CodingKeys: String, CodingKey {
        case epoch, trainLoss = "train_loss", trainLogLikelihoodPerGeneration = "train_log_likelihood_per_generation"
        case validationLoss = "validation_loss", validationLogLikelihoodPerGeneration = "validation_log_likelihood_per_generation"
    }
}

/// What happened during `fit`.
public struct TrainingReport: Codable, Equatable, Sendable {
    public var epochs: [EpochRecord]
    /// The epoch whose parameters were returned (the best validation epoch with early
    /// stopping, else the last; 0 if no epoch ran).
    public var selectedEpoch: Int
    public var stoppedEarly: Bool
    /// Number of optimiser steps taken.
    public var steps: Int
    public var trainingRows: Int
    public var validationRows: Int
    /// Rows with weight 0 (no generations): they contribute nothing and are left out.
    public var zeroWeightRows: Int
    /// The pooled unsafe rate of the training rows, Σ w·y / Σ w: the constant predictor.
    public var pooledTrainingRate: Double?
    /// Validation log-likelihood per generation of the constant predictor (the pooled
    /// training rate) on the same validation rows: what the model has to beat.
    public var constantValidationLogLikelihoodPerGeneration: Double?
    /// The model against the constant predictor on held-out prompts that did NOT choose
    /// the epoch (half of the held-out prompts; nil when there are fewer than 2 held out).
    public var comparison: PredictorComparison?

    enum CodingKeys: String, CodingKey {
        case epochs, selectedEpoch = "selected_epoch", stoppedEarly = "stopped_early", steps
        case trainingRows = "training_rows", validationRows = "validation_rows", zeroWeightRows = "zero_weight_rows"
        case pooledTrainingRate = "pooled_training_rate"
        case constantValidationLogLikelihoodPerGeneration = "constant_validation_log_likelihood_per_generation"
        case comparison
    }

    /// Validation log-likelihood per generation of the returned parameters (the selected epoch).
    public var selectedValidationLogLikelihoodPerGeneration: Double? {
        epochs.first { $0.epoch == selectedEpoch }?.validationLogLikelihoodPerGeneration
    }
}
