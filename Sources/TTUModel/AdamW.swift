import Foundation

/// AdamW exactly as PyTorch's `torch.optim.AdamW` (amsgrad = false, maximize = false),
/// in the same order of operations so results can be compared step by step:
///
///     p ← p·(1 − lr·wd)                      (decoupled weight decay, all parameters)
///     m ← m + (1 − β1)·(g − m)               (`exp_avg.lerp_(grad, 1 − β1)`)
///     v ← β2·v + (1 − β2)·g²
///     p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
struct AdamW {
    var learningRate: Double
    var weightDecay: Double
    var beta1: Double = 0.9
    var beta2: Double = 0.999
    var eps: Double = 1e-8
    private(set) var step: Int = 0
    private(set) var m: [Double]
    private(set) var v: [Double]

    init(parameterCount: Int, learningRate: Double, weightDecay: Double) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        m = [Double](repeating: 0, count: parameterCount)
        v = [Double](repeating: 0, count: parameterCount)
    }

    /// One update of `params` with gradient `grad` (both of `parameterCount` elements).
    mutating func update(_ params: UnsafeMutablePointer<Double>, gradient grad: UnsafePointer<Double>) {
        step += 1
        let lr = learningRate, b1 = beta1, b2 = beta2, eps = eps
        let decay = 1 - lr * weightDecay
        let bc1 = 1 - pow(b1, Double(step))
        let bc2Sqrt = (1 - pow(b2, Double(step))).squareRoot()
        let stepSize = lr / bc1
        let n = m.count
        m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                let mp = mb.baseAddress!, vp = vb.baseAddress!
                for i in 0..<n {
                    let g = grad[i]
                    params[i] *= decay
                    mp[i] += (1 - b1) * (g - mp[i])          // lerp with weight < 0.5
                    vp[i] = vp[i] * b2 + (1 - b2) * g * g
                    let denom = vp[i].squareRoot() / bc2Sqrt + eps
                    params[i] += (-stepSize * mp[i]) / denom  // addcdiv: p + (value·m)/denom
                }
            }
        }
    }

    /// Convenience for arrays (used by tests).
    mutating func update(_ params: inout [Double], gradient: [Double]) {
        precondition(params.count == m.count && gradient.count == m.count)
        params.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in update(p.baseAddress!, gradient: g.baseAddress!) }
        }
    }
}
