import Foundation
import TTUCore
@testable import TTUModel

/// Weighted BCE and its gradient for `net` on a small batch, through the training workspace.
func lossAndGradient(_ net: DenseNet, x: [Double], y: [Double], w: [Double]) -> (Double, [Double]) {
    let n = y.count
    let ws = DenseWorkspace(sizes: net.sizes, capacity: n)
    let idx = Array(0..<n)
    var loss = 0.0
    var grad = [Double](repeating: 0, count: net.parameters.count)
    let features = try! FeatureMatrix(rows: n, cols: x.count / max(n, 1), values: x)
    do {
        y.withUnsafeBufferPointer { yp in
            w.withUnsafeBufferPointer { wp in
                idx.withUnsafeBufferPointer { ip in
                    net.parameters.withUnsafeBufferPointer { pp in
                        ws.gather(x: features, y: yp.baseAddress!, w: wp.baseAddress!, indices: ip.baseAddress!, count: n)
                        ws.forward(pp.baseAddress!, count: n)
                        let (l, sw) = ws.lossSums(count: n)
                        loss = l / sw
                        ws.backward(pp.baseAddress!, count: n, normaliser: sw)
                        for k in 0..<grad.count { grad[k] = ws.gradient[k] }
                    }
                }
            }
        }
    }
    return (loss, grad)
}

/// Rows whose unsafe probability is σ(a·x + b) with x ~ N(0, 1), and counts
/// k ~ Binomial(n, p) drawn with the seeded generator.
func logisticCountData(rows: Int, n: Int, a: Double, b: Double, seed: UInt64)
    -> (x: FeatureMatrix, y: [Double], w: [Double], p: [Double]) {
    var rng = SeededRNG(seed: seed)
    var xs = [Double](), ys = [Double](), ws = [Double](), ps = [Double]()
    for _ in 0..<rows {
        let x = rng.normal()
        let p = BinaryCrossEntropy.sigmoid(a * x + b)
        let label = SurvivalLabel.counts(n: n, k: rng.binomial(n, p))
        xs.append(x); ys.append(label.target); ws.append(label.weight); ps.append(p)
    }
    return (try! FeatureMatrix(rows: rows, cols: 1, values: xs), ys, ws, ps)
}

func bitsEqual(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}
