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

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: ModelFileKey.self)
        epoch = try c.value("epoch")
        trainLoss = try c.value("train_loss")
        trainLogLikelihoodPerGeneration = try c.value("train_log_likelihood_per_generation")
        validationLoss = try c.optional("validation_loss")
        validationLogLikelihoodPerGeneration = try c.optional("validation_log_likelihood_per_generation")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ModelFileKey.self)
        try c.put(epoch, "epoch")
        try c.put(trainLoss, "train_loss")
        try c.put(trainLogLikelihoodPerGeneration, "train_log_likelihood_per_generation")
        try c.putIfPresent(validationLoss, "validation_loss")
        try c.putIfPresent(validationLogLikelihoodPerGeneration, "validation_log_likelihood_per_generation")
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

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ModelFileKey.self)
        try c.put(epochs, "epochs")
        try c.put(selectedEpoch, "selected_epoch")
        try c.put(stoppedEarly, "stopped_early")
        try c.put(steps, "steps")
        try c.put(trainingRows, "training_rows")
        try c.put(validationRows, "validation_rows")
        try c.put(zeroWeightRows, "zero_weight_rows")
        try c.putIfPresent(pooledTrainingRate, "pooled_training_rate")
        try c.putIfPresent(constantValidationLogLikelihoodPerGeneration, "constant_validation_log_likelihood_per_generation")
        try c.putIfPresent(comparison, "comparison")
    }

    /// Validation log-likelihood per generation of the returned parameters (the selected epoch).
    public var selectedValidationLogLikelihoodPerGeneration: Double? {
        epochs.first { $0.epoch == selectedEpoch }?.validationLogLikelihoodPerGeneration
    }
}

extension TrainingReport {
    /// Reads the snake_case keys, and the camelCase ones of older files.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: ModelFileKey.self)
        epochs = try c.value("epochs")
        selectedEpoch = try c.value("selected_epoch")
        stoppedEarly = try c.value("stopped_early")
        steps = try c.value("steps")
        trainingRows = try c.value("training_rows")
        validationRows = try c.value("validation_rows")
        zeroWeightRows = try c.value("zero_weight_rows")
        pooledTrainingRate = try c.optional("pooled_training_rate")
        constantValidationLogLikelihoodPerGeneration = try c.optional("constant_validation_log_likelihood_per_generation")
        comparison = try c.optional("comparison")
    }
}
