import Foundation

/// The weighted binary cross-entropy used for training and evaluation.
public enum BinaryCrossEntropy {
    /// BCE(σ(z), y) computed from the logit in the overflow-free form
    /// `max(z, 0) − z·y + log1p(exp(−|z|))` (as PyTorch's `BCEWithLogitsLoss`).
    @inlinable
    public static func fromLogit(_ z: Double, target y: Double) -> Double {
        max(z, 0) - z * y + log1p(exp(-abs(z)))
    }

    /// BCE from a probability. `p` is clamped to [1e-300, 1 − 1e-16] only inside the logs
    /// so that a constant predictor at p = 0 does not give NaN for zero-target rows.
    public static func fromProbability(_ p: Double, target y: Double) -> Double {
        let lo = 1e-300
        var l = 0.0
        if y > 0 { l -= y * log(max(p, lo)) }
        if y < 1 { l -= (1 - y) * log1p(-min(p, 1 - 1e-16)) }
        return l
    }

    /// The logistic function, computed without overflow for either sign of `z`.
    @inlinable
    public static func sigmoid(_ z: Double) -> Double {
        if z >= 0 { return 1 / (1 + exp(-z)) }
        let e = exp(z)
        return e / (1 + e)
    }

    /// The log-odds of `p`.
    public static func logit(_ p: Double) -> Double { log(p) - log1p(-p) }

    /// `Σ w_i·BCE(σ(z_i), y_i) / Σ w_i` (NaN if Σ w = 0). Its negation is the mean
    /// log-likelihood per generation, since Σ w is the number of generations.
    public static func weightedMean(logits: [Double], targets: [Double], weights: [Double]) -> Double {
        precondition(logits.count == targets.count && targets.count == weights.count)
        var s = 0.0, sw = 0.0
        for i in logits.indices where weights[i] > 0 {
            s += weights[i] * fromLogit(logits[i], target: targets[i]); sw += weights[i]
        }
        return s / sw
    }

    /// As `weightedMean(logits:…)` but from probabilities (for predictors given as p).
    public static func weightedMean(probabilities: [Double], targets: [Double], weights: [Double]) -> Double {
        precondition(probabilities.count == targets.count && targets.count == weights.count)
        var s = 0.0, sw = 0.0
        for i in probabilities.indices where weights[i] > 0 {
            s += weights[i] * fromProbability(probabilities[i], target: targets[i]); sw += weights[i]
        }
        return s / sw
    }
}
