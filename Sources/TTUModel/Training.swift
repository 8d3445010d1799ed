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

    private enum CodingKeys: String, CodingKey {
        case learningRate, weightDecay, batchSize, epochs, seed, hiddenLayers, validationFraction
        case earlyStoppingPatience, startAtPooledRate
    }

    /// `startAtPooledRate` may be absent (files written before it existed).
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

    /// Validation log-likelihood per generation of the returned parameters (the selected epoch).
    public var selectedValidationLogLikelihoodPerGeneration: Double? {
        epochs.first { $0.epoch == selectedEpoch }?.validationLogLikelihoodPerGeneration
    }
}

/// Seeded-stream numbers, fixed so results are reproducible across versions.
enum RandomStream {
    static let initialization: UInt64 = 1
    static let validationSplit: UInt64 = 2
    /// Epoch `e` (1-based) shuffles with stream `epochBase + e`.
    static let epochBase: UInt64 = 1000
}

/// The training loop shared by every model: minibatch AdamW on the weighted BCE.
enum Trainer {
    /// Checks shapes and values; throws naming the first bad row.
    static func validate(features: FeatureMatrix, targets: [Double], weights: [Double]) throws {
        guard targets.count == features.rows else {
            throw TTUModelError.shapeMismatch("\(features.rows) feature rows but \(targets.count) targets")
        }
        guard weights.count == features.rows else {
            throw TTUModelError.shapeMismatch("\(features.rows) feature rows but \(weights.count) weights")
        }
        guard features.cols >= 1 else { throw TTUModelError.shapeMismatch("features need at least one column") }
        try features.validateFinite()
        for i in 0..<features.rows {
            let y = targets[i], w = weights[i]
            guard y >= 0, y <= 1 else { throw TTUModelError.targetOutOfRange(row: i, value: y) }
            guard w.isFinite, w >= 0 else { throw TTUModelError.invalidWeight(row: i, value: w) }
        }
    }

    /// Trains `net` in place. The loss of a batch is `Σ w_i·BCE(σ(z_i), y_i) / Σ w_i`.
    ///
    /// Rows are split (seeded) into training and validation first; training rows with
    /// w = 0 are then dropped since they contribute nothing (this keeps every batch's
    /// Σ w > 0). Each epoch visits the training rows in a fresh seeded permutation,
    /// in batches of `batchSize` (the last may be smaller).
    static func train(net: inout DenseNet, features: FeatureMatrix, targets: [Double], weights: [Double],
                      config: TrainingConfig) throws -> TrainingReport {
        try config.validate()
        try validate(features: features, targets: targets, weights: weights)
        guard features.cols == net.inputDimension else {
            throw TTUModelError.shapeMismatch("model takes \(net.inputDimension) features, data has \(features.cols)")
        }
        let n = features.rows
        let root = SeededRNG(seed: config.seed)

        // Validation split.
        var trainRows = Array(0..<n), valRows: [Int] = []
        if config.validationFraction > 0 {
            var rng = root.derived(RandomStream.validationSplit)
            let perm = rng.permutation(n)
            let nVal = Int((config.validationFraction * Double(n)).rounded(.up))
            guard nVal < n else { throw TTUModelError.noWeight("validation split leaves no training rows") }
            valRows = Array(perm[0..<nVal]).sorted()
            trainRows = Array(perm[nVal...]).sorted()
        }
        let zeroWeight = trainRows.filter { weights[$0] == 0 }.count
        trainRows = trainRows.filter { weights[$0] > 0 }
        guard !trainRows.isEmpty else { throw TTUModelError.noWeight("every training row has weight 0") }
        if !valRows.isEmpty && !valRows.contains(where: { weights[$0] > 0 }) {
            throw TTUModelError.noWeight("every validation row has weight 0")
        }

        var pooledY = 0.0, pooledW = 0.0
        for r in trainRows { pooledY += weights[r] * targets[r]; pooledW += weights[r] }
        let pooled = pooledY / pooledW
        if config.startAtPooledRate {
            // Clamped so an all-safe (or all-unsafe) training set gives a finite logit.
            let clamped = min(max(pooled, 0.5 / pooledW), 1 - 0.5 / pooledW)
            net.parameters[net.parameters.count - 1] = BinaryCrossEntropy.logit(clamped)
        }

        let batch = min(config.batchSize, trainRows.count)
        let ws = DenseWorkspace(sizes: net.sizes, capacity: max(batch, 256))
        var opt = AdamW(parameterCount: net.parameters.count, learningRate: config.learningRate,
                        weightDecay: config.weightDecay)

        // Validation data, contiguous (zero-weight rows kept: they add nothing).
        let d = features.cols
        var valX = [Double](), valY = [Double](), valW = [Double]()
        for r in valRows {
            valX.append(contentsOf: features.values[(r * d)..<((r + 1) * d)])
            valY.append(targets[r]); valW.append(weights[r])
        }
        func validationLoss(_ params: [Double]) -> Double {
            let z = ws.logits(params: params, x: valX, rows: valRows.count)
            return BinaryCrossEntropy.weightedMean(logits: z, targets: valY, weights: valW)
        }

        var constantValidationLL: Double? = nil
        if !valRows.isEmpty {
            let clamped = min(max(pooled, 1e-12), 1 - 1e-12)
            constantValidationLL = -BinaryCrossEntropy.weightedMean(
                probabilities: [Double](repeating: clamped, count: valRows.count), targets: valY, weights: valW)
        }

        var records: [EpochRecord] = []
        var best: (loss: Double, epoch: Int, params: [Double])? = nil
        var sinceBest = 0
        var stoppedEarly = false
        var order = [Int](repeating: 0, count: trainRows.count)

        for epoch in stride(from: 1, through: config.epochs, by: 1) {
            var rng = root.derived(RandomStream.epochBase + UInt64(epoch))
            let perm = rng.permutation(trainRows.count)
            for k in 0..<perm.count { order[k] = trainRows[perm[k]] }
            var lossSum = 0.0, weightSum = 0.0
            features.values.withUnsafeBufferPointer { xp in
                targets.withUnsafeBufferPointer { yp in
                    weights.withUnsafeBufferPointer { wp in
                        order.withUnsafeBufferPointer { op in
                            net.parameters.withUnsafeMutableBufferPointer { pp in
                                let params = pp.baseAddress!
                                var start = 0
                                while start < op.count {
                                    let count = min(batch, op.count - start)
                                    ws.gather(x: xp.baseAddress!, y: yp.baseAddress!, w: wp.baseAddress!,
                                              indices: op.baseAddress! + start, count: count)
                                    ws.forward(params, count: count)
                                    let (l, sw) = ws.lossSums(count: count)
                                    lossSum += l; weightSum += sw
                                    ws.backward(params, count: count, normaliser: sw)
                                    opt.update(params, gradient: ws.gradient)
                                    start += count
                                }
                            }
                        }
                    }
                }
            }
            let trainLoss = lossSum / weightSum
            var rec = EpochRecord(epoch: epoch, trainLoss: trainLoss, trainLogLikelihoodPerGeneration: -trainLoss,
                                  validationLoss: nil, validationLogLikelihoodPerGeneration: nil)
            if !valRows.isEmpty {
                let vl = validationLoss(net.parameters)
                rec.validationLoss = vl; rec.validationLogLikelihoodPerGeneration = -vl
                if best == nil || vl < best!.loss {
                    best = (vl, epoch, net.parameters); sinceBest = 0
                } else {
                    sinceBest += 1
                }
            }
            records.append(rec)
            if let patience = config.earlyStoppingPatience, sinceBest >= patience, epoch < config.epochs {
                stoppedEarly = true
                break
            }
        }

        var selected = records.last?.epoch ?? 0
        if config.earlyStoppingPatience != nil, let b = best {
            net.parameters = b.params
            selected = b.epoch
        }
        return TrainingReport(epochs: records, selectedEpoch: selected, stoppedEarly: stoppedEarly,
                              steps: opt.step, trainingRows: trainRows.count, validationRows: valRows.count,
                              zeroWeightRows: zeroWeight, pooledTrainingRate: pooled,
                              constantValidationLogLikelihoodPerGeneration: constantValidationLL)
    }
}
