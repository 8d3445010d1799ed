import Foundation
import TTUCore

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
        let root = SeededRNG(seed: config.seed)
        let split = try splitRows(weights: weights, fraction: config.validationFraction, root: root)
        let pooled = PooledRate(rows: split.training, targets: targets, weights: weights)
        if config.startAtPooledRate { startAtPooledRate(&net, pooled) }

        let batch = min(config.batchSize, split.training.count)
        let ws = DenseWorkspace(sizes: net.sizes, capacity: max(batch, 256))
        var optimiser = AdamW(parameterCount: net.parameters.count, learningRate: config.learningRate,
                              weightDecay: config.weightDecay)
        // Held-out prompts: the first half chooses the epoch, the second compares the chosen
        // model with the constant predictor (so the comparison does not reuse them).
        let halves = comparisonSplit(split.validation)
        let validation = ValidationSet(rows: halves.stopping, features: features, targets: targets, weights: weights)
        let comparisonSet = ValidationSet(rows: halves.comparison, features: features, targets: targets, weights: weights)
        let constantValidationLL = validation.constantLogLikelihoodPerGeneration(pooledRate: pooled.rate)

        var records: [EpochRecord] = []
        var stopping = EarlyStopping(patience: config.earlyStoppingPatience)
        var stoppedEarly = false
        var order = [Int](repeating: 0, count: split.training.count)
        for epoch in stride(from: 1, through: config.epochs, by: 1) {
            shuffle(split.training, into: &order, epoch: epoch, root: root)
            let trainLoss = minibatchEpoch(net: &net, optimiser: &optimiser, workspace: ws, order: order, batch: batch,
                                           features: features, targets: targets, weights: weights)
            var record = EpochRecord(epoch: epoch, trainLoss: trainLoss, trainLogLikelihoodPerGeneration: -trainLoss,
                                     validationLoss: nil, validationLogLikelihoodPerGeneration: nil)
            if !validation.isEmpty {
                let loss = validation.loss(net.parameters, workspace: ws)
                record.validationLoss = loss; record.validationLogLikelihoodPerGeneration = -loss
                stopping.observe(validationLoss: loss, epoch: epoch, parameters: net.parameters)
            }
            records.append(record)
            if stopping.shouldStop(after: epoch, of: config.epochs) {
                stoppedEarly = true
                break
            }
        }

        let selected = stopping.restoreBest(into: &net) ?? records.last?.epoch ?? 0
        return TrainingReport(epochs: records, selectedEpoch: selected, stoppedEarly: stoppedEarly,
                              steps: optimiser.step, trainingRows: split.training.count,
                              validationRows: halves.stopping.count, zeroWeightRows: split.zeroWeight,
                              pooledTrainingRate: pooled.rate,
                              constantValidationLogLikelihoodPerGeneration: constantValidationLL,
                              comparison: comparisonSet.compare(net.parameters, workspace: ws, pooledRate: pooled.rate))
    }

    /// The validation split: a seeded permutation's first ⌈fraction·n⌉ rows validate, the
    /// rest train (both sorted). Training rows with weight 0 are then dropped — they add
    /// nothing to the loss, and dropping them keeps every batch's Σ w > 0 — and counted.
    /// Validation rows of weight 0 stay (they add nothing there either), but not all of them may be 0.
    static func splitRows(weights: [Double], fraction: Double, root: SeededRNG) throws
        -> (training: [Int], validation: [Int], zeroWeight: Int) {
        let n = weights.count
        var trainRows = Array(0..<n), valRows: [Int] = []
        if fraction > 0 {
            var rng = root.derived(RandomStream.validationSplit)
            let perm = rng.permutation(n)
            let nVal = Int((fraction * Double(n)).rounded(.up))
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
        return (trainRows, valRows, zeroWeight)
    }

    /// The held-out rows (sorted) split in two: the first half (by a fixed interleave)
    /// chooses the epoch, the second half measures the chosen model against the constant
    /// predictor. Fewer than 2 held out: all choose the epoch, none compare.
    static func comparisonSplit(_ held: [Int]) -> (stopping: [Int], comparison: [Int]) {
        guard held.count >= 2 else { return (held, []) }
        return (held.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
                held.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
    }

    /// The pooled unsafe rate of the training rows, `Σ w·y / Σ w`: the constant predictor
    /// every model has to beat. `generations` is `Σ w`.
    struct PooledRate {
        var rate: Double
        var generations: Double

        init(rows: [Int], targets: [Double], weights: [Double]) {
            var unsafe = 0.0, generations = 0.0
            for r in rows { unsafe += weights[r] * targets[r]; generations += weights[r] }
            rate = unsafe / generations
            self.generations = generations
        }
    }

    /// Initialisation at the pooled rate: sets the output bias (the last parameter) to its
    /// logit, so training starts at the constant predictor. The rate is clamped to
    /// `[0.5/Σw, 1 − 0.5/Σw]` so an all-safe (or all-unsafe) training set gives a finite logit.
    static func startAtPooledRate(_ net: inout DenseNet, _ pooled: PooledRate) {
        let clamped = min(max(pooled.rate, 0.5 / pooled.generations), 1 - 0.5 / pooled.generations)
        net.parameters[net.parameters.count - 1] = BinaryCrossEntropy.logit(clamped)
    }

    /// The validation rows copied out contiguously (row-major features, targets, weights),
    /// so their loss is one batched forward pass.
    struct ValidationSet {
        var x: FeatureMatrix, y: [Double] = [], w: [Double] = []
        var count: Int
        var isEmpty: Bool { count == 0 }

        init(rows: [Int], features: FeatureMatrix, targets: [Double], weights: [Double]) {
            x = features.selecting(rows)
            for r in rows { y.append(targets[r]); w.append(weights[r]) }
            count = rows.count
        }

        /// Weighted BCE `Σ w·BCE / Σ w` of `parameters` on the validation rows (its
        /// negation is the validation log-likelihood per generation).
        func loss(_ parameters: [Double], workspace ws: DenseWorkspace) -> Double {
            let z = ws.logits(params: parameters, features: x)
            return BinaryCrossEntropy.weightedMean(logits: z, targets: y, weights: w)
        }

        /// The model against the constant predictor on these rows; nil with fewer than two
        /// rows (no standard error: 8 training prompts leave one to compare on) or no weight.
        func compare(_ parameters: [Double], workspace ws: DenseWorkspace, pooledRate: Double) -> PredictorComparison? {
            let total = w.reduce(0, +)
            guard count > 1, total > 0 else { return nil }
            let z = ws.logits(params: parameters, features: x)
            let c = min(max(pooledRate, 1e-12), 1 - 1e-12)
            var d = [Double](repeating: 0, count: count), model = 0.0, constant = 0.0
            for i in 0..<count {
                let lm = -w[i] * BinaryCrossEntropy.fromLogit(z[i], target: y[i])
                let lc = -w[i] * BinaryCrossEntropy.fromProbability(c, target: y[i])
                model += lm; constant += lc; d[i] = lm - lc
            }
            let gain = (model - constant) / total
            var ss = 0.0
            for i in 0..<count { let r = d[i] - gain * w[i]; ss += r * r }
            let se = (Double(count) / Double(count - 1) * ss).squareRoot() / total
            return PredictorComparison(prompts: count, modelLogLikelihoodPerGeneration: model / total,
                                       constantLogLikelihoodPerGeneration: constant / total, gainPerGeneration: gain,
                                       gainStandardError: se)
        }

        /// Validation log-likelihood per generation of the constant predictor p̂ = the pooled
        /// training rate (clamped away from 0 and 1); nil without validation rows.
        func constantLogLikelihoodPerGeneration(pooledRate: Double) -> Double? {
            guard !isEmpty else { return nil }
            let clamped = min(max(pooledRate, 1e-12), 1 - 1e-12)
            return -BinaryCrossEntropy.weightedMean(
                probabilities: [Double](repeating: clamped, count: count), targets: y, weights: w)
        }
    }

    /// Epoch `epoch`'s visiting order: the training rows in a fresh permutation drawn from
    /// the epoch's own seeded stream (so an epoch's order does not depend on earlier ones).
    static func shuffle(_ trainRows: [Int], into order: inout [Int], epoch: Int, root: SeededRNG) {
        var rng = root.derived(RandomStream.epochBase + UInt64(epoch))
        let perm = rng.permutation(trainRows.count)
        for k in 0..<perm.count { order[k] = trainRows[perm[k]] }
    }

    /// One epoch of minibatch AdamW: the rows of `order` in consecutive batches of `batch`
    /// (the last may be smaller), one optimiser step per batch on the batch's weighted mean
    /// BCE. Returns the epoch's running training loss `Σ w·BCE / Σ w` over all its batches
    /// (accumulated while the parameters change). Works on raw pointers so a step allocates nothing.
    static func minibatchEpoch(net: inout DenseNet, optimiser: inout AdamW, workspace ws: DenseWorkspace,
                               order: [Int], batch: Int,
                               features: FeatureMatrix, targets: [Double], weights: [Double]) -> Double {
        var lossSum = 0.0, weightSum = 0.0
        do {
            targets.withUnsafeBufferPointer { yp in
                weights.withUnsafeBufferPointer { wp in
                    order.withUnsafeBufferPointer { op in
                        net.parameters.withUnsafeMutableBufferPointer { pp in
                            let params = pp.baseAddress!
                            var start = 0
                            while start < op.count {
                                let count = min(batch, op.count - start)
                                ws.gather(x: features, y: yp.baseAddress!, w: wp.baseAddress!,
                                          indices: op.baseAddress! + start, count: count)
                                ws.forward(params, count: count)
                                let (l, sw) = ws.lossSums(count: count)
                                lossSum += l; weightSum += sw
                                ws.backward(params, count: count, normaliser: sw)
                                optimiser.update(params, gradient: ws.gradient)
                                start += count
                            }
                        }
                    }
                }
            }
        }
        return lossSum / weightSum
    }

    /// Early-stopping bookkeeping: the best validation loss so far (its epoch and a copy of
    /// its parameters) and how many epochs have passed without beating it.
    struct EarlyStopping {
        /// `nil`: never stop early and keep the final parameters.
        var patience: Int?
        var best: (loss: Double, epoch: Int, parameters: [Double])? = nil
        var epochsSinceBest = 0

        init(patience: Int?) { self.patience = patience }

        /// Records epoch `epoch`'s validation loss; a strictly smaller loss becomes the new best.
        mutating func observe(validationLoss loss: Double, epoch: Int, parameters: [Double]) {
            if best == nil || loss < best!.loss {
                best = (loss, epoch, parameters); epochsSinceBest = 0
            } else {
                epochsSinceBest += 1
            }
        }

        /// Whether to stop after `epoch`: `patience` epochs without a new best, and epochs left
        /// to skip (stopping after the last epoch is not stopping early).
        func shouldStop(after epoch: Int, of epochs: Int) -> Bool {
            guard let patience else { return false }
            return epochsSinceBest >= patience && epoch < epochs
        }

        /// With early stopping and a best epoch: puts its parameters back into `net` and
        /// returns that epoch; otherwise leaves `net` alone and returns nil (the last epoch is selected).
        func restoreBest(into net: inout DenseNet) -> Int? {
            guard patience != nil, let best else { return nil }
            net.parameters = best.parameters
            return best.epoch
        }
    }
}
