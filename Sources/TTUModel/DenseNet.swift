import Foundation
import TTUCore

/// The computational core shared by `MLP` and `LogisticModel`: a stack of dense layers
/// (ReLU between them, none after the last, which has one output logit), with all
/// parameters in one flat array so the optimiser can treat them uniformly.
///
/// Flat layout, layer by layer: the weight matrix (outputs × inputs, row-major, i.e.
/// PyTorch's `weight[out][in]`), then the bias vector. Logistic regression is the
/// special case with no hidden layer.
struct DenseNet: Equatable, Sendable {
    /// Layer widths: `[inputs, hidden…, 1]`.
    let sizes: [Int]
    var parameters: [Double]

    init(sizes: [Int], parameters: [Double]) {
        precondition(sizes.count >= 2 && sizes.last == 1 && sizes.allSatisfy { $0 >= 1 })
        self.sizes = sizes
        self.parameters = parameters
        precondition(parameters.count == DenseNet.parameterCount(sizes))
    }

    /// PyTorch's default `nn.Linear` initialisation: every weight and bias of a layer with
    /// fan-in `f` is Uniform(−1/√f, 1/√f) (kaiming_uniform with a = √5 reduces to this).
    /// Draw order: layer by layer, the weights row-major, then the biases.
    init(sizes: [Int], rng: inout SeededRNG) {
        var p: [Double] = []
        p.reserveCapacity(DenseNet.parameterCount(sizes))
        for l in 0..<(sizes.count - 1) {
            let fanIn = sizes[l], fanOut = sizes[l + 1]
            let bound = 1 / Double(fanIn).squareRoot()
            for _ in 0..<(fanIn * fanOut + fanOut) {
                p.append((2 * rng.uniformOpen() - 1) * bound)
            }
        }
        self.init(sizes: sizes, parameters: p)
    }

    static func parameterCount(_ sizes: [Int]) -> Int {
        var n = 0
        for l in 0..<(sizes.count - 1) { n += sizes[l] * sizes[l + 1] + sizes[l + 1] }
        return n
    }

    var inputDimension: Int { sizes[0] }
    var layerCount: Int { sizes.count - 1 }

    /// Offsets of layer `l`'s weights and biases in `parameters`.
    func offsets(_ l: Int) -> (weights: Int, bias: Int) {
        var o = 0
        for k in 0..<l { o += sizes[k] * sizes[k + 1] + sizes[k + 1] }
        return (o, o + sizes[l] * sizes[l + 1])
    }

    /// The output logit for one input (allocates; use a `DenseWorkspace` for batches).
    func logit(_ x: [Double]) -> Double {
        precondition(x.count == sizes[0], "expected \(sizes[0]) features, got \(x.count)")
        var a = x
        for l in 0..<layerCount {
            let (wo, bo) = offsets(l)
            let nin = sizes[l], nout = sizes[l + 1]
            var out = [Double](repeating: 0, count: nout)
            for j in 0..<nout {
                var s = parameters[bo + j]
                for i in 0..<nin { s += parameters[wo + j * nin + i] * a[i] }
                out[j] = (l < layerCount - 1) ? max(s, 0) : s
            }
            a = out
        }
        return a[0]
    }
}

/// Preallocated buffers for forward and backward passes over batches of up to
/// `capacity` rows, so the training loop allocates nothing per step.
final class DenseWorkspace {
    let sizes: [Int]
    let capacity: Int
    let parameterCount: Int
    /// Offsets (weights, bias) of each layer in the flat parameter array.
    let weightOffset: [Int]
    let biasOffset: [Int]
    /// acts[0] is the input batch (capacity × sizes[0]); acts[l] (l ≥ 1) the post-ReLU
    /// outputs of layer l − 1, except the last, which holds the raw logits.
    let acts: [UnsafeMutablePointer<Double>]
    /// Gradient w.r.t. the pre-activations of each layer's output (capacity × sizes[l+1]).
    let deltas: [UnsafeMutablePointer<Double>]
    /// Per-layer transposed weights (inputs × outputs), refreshed before each forward pass,
    /// so the forward inner loop runs over contiguous memory (an axpy, which vectorises).
    let transposed: [UnsafeMutablePointer<Double>]
    let targets: UnsafeMutablePointer<Double>
    let weights: UnsafeMutablePointer<Double>
    /// Gradient of the batch loss w.r.t. the flat parameters.
    let gradient: UnsafeMutablePointer<Double>

    init(sizes: [Int], capacity: Int) {
        self.sizes = sizes
        self.capacity = capacity
        var wo: [Int] = [], bo: [Int] = [], o = 0
        for l in 0..<(sizes.count - 1) {
            wo.append(o); o += sizes[l] * sizes[l + 1]
            bo.append(o); o += sizes[l + 1]
        }
        weightOffset = wo; biasOffset = bo; parameterCount = o
        func alloc(_ n: Int) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        acts = sizes.map { alloc($0 * capacity) }
        deltas = sizes.dropFirst().map { alloc($0 * capacity) }
        transposed = (0..<(sizes.count - 1)).map { alloc(sizes[$0] * sizes[$0 + 1]) }
        targets = alloc(capacity); weights = alloc(capacity)
        gradient = alloc(o)
    }

    deinit {
        for p in acts { p.deallocate() }
        for p in deltas { p.deallocate() }
        for p in transposed { p.deallocate() }
        targets.deallocate(); weights.deallocate(); gradient.deallocate()
    }

    /// Copies the rows `indices[start..<start+count]` of `x` (expanded to `sizes[0]` dense
    /// columns), and their targets and weights, into the input buffers.
    func gather(x: FeatureMatrix, y: UnsafePointer<Double>, w: UnsafePointer<Double>,
                indices: UnsafePointer<Int>, count: Int) {
        let d = sizes[0]
        let input = acts[0]
        for b in 0..<count {
            let r = indices[b]
            x.copyRow(r, into: input + b * d)
            targets[b] = y[r]; weights[b] = w[r]
        }
    }

    /// Forward pass over the first `count` rows already in `acts[0]`. Returns nothing;
    /// the logits are in `acts.last`.
    func forward(_ params: UnsafePointer<Double>, count: Int) {
        let L = sizes.count - 1
        for l in 0..<L {
            let nin = sizes[l], nout = sizes[l + 1]
            let W = params + weightOffset[l], bias = params + biasOffset[l]
            let input = acts[l], out = acts[l + 1]
            if nout == 1 {
                // Output layer: one dot product per row.
                for b in 0..<count {
                    let x = input + b * nin
                    var s = bias[0]
                    for i in 0..<nin { s += W[i] * x[i] }
                    out[b] = s
                }
            } else {
                let Wt = transposed[l]
                for j in 0..<nout {
                    for i in 0..<nin { Wt[i * nout + j] = W[j * nin + i] }
                }
                for b in 0..<count {
                    let x = input + b * nin, o = out + b * nout
                    o.update(from: bias, count: nout)
                    for i in 0..<nin {
                        let a = x[i]
                        if a == 0 { continue }          // ReLU zeros: nothing to add
                        let wt = Wt + i * nout
                        for j in 0..<nout { o[j] += a * wt[j] }
                    }
                    if l < L - 1 {
                        for j in 0..<nout where o[j] < 0 { o[j] = 0 }
                    }
                }
            }
        }
    }

    /// Weighted BCE of the current batch (after `forward`): returns `Σ w·BCE` and `Σ w`.
    func lossSums(count: Int) -> (weightedLoss: Double, weight: Double) {
        let z = acts[sizes.count - 1]
        var s = 0.0, sw = 0.0
        for b in 0..<count {
            let w = weights[b]
            if w == 0 { continue }
            s += w * BinaryCrossEntropy.fromLogit(z[b], target: targets[b]); sw += w
        }
        return (s, sw)
    }

    /// Backward pass after `forward`, for the loss `Σ w·BCE / normaliser`; fills `gradient`.
    func backward(_ params: UnsafePointer<Double>, count: Int, normaliser: Double) {
        let L = sizes.count - 1
        gradient.update(repeating: 0, count: parameterCount)
        // d loss / d z_b = w_b (σ(z_b) − y_b) / Σw
        let z = acts[L], dz = deltas[L - 1]
        let inv = 1 / normaliser
        for b in 0..<count {
            dz[b] = weights[b] * (BinaryCrossEntropy.sigmoid(z[b]) - targets[b]) * inv
        }
        var l = L - 1
        while l >= 0 {
            let nin = sizes[l], nout = sizes[l + 1]
            let W = params + weightOffset[l]
            let gW = gradient + weightOffset[l], gb = gradient + biasOffset[l]
            let input = acts[l], delta = deltas[l]
            for b in 0..<count {
                let x = input + b * nin, dl = delta + b * nout
                for j in 0..<nout {
                    let g = dl[j]
                    if g == 0 { continue }
                    gb[j] += g
                    let row = gW + j * nin
                    for i in 0..<nin { row[i] += g * x[i] }
                }
            }
            if l > 0 {
                // Gradient w.r.t. the previous layer's pre-activations: (δ · W) ⊙ 1{a > 0}.
                let prev = deltas[l - 1]
                for b in 0..<count {
                    let dl = delta + b * nout, dp = prev + b * nin, a = input + b * nin
                    dp.update(repeating: 0, count: nin)
                    for j in 0..<nout {
                        let g = dl[j]
                        if g == 0 { continue }
                        let row = W + j * nin
                        for i in 0..<nin { dp[i] += g * row[i] }
                    }
                    for i in 0..<nin where !(a[i] > 0) { dp[i] = 0 }
                }
            }
            l -= 1
        }
    }

    /// Logits for every row of `features`, expanded `capacity` rows at a time.
    func logits(params: [Double], features: FeatureMatrix) -> [Double] {
        let d = sizes[0], rows = features.rows
        var out = [Double](repeating: 0, count: rows)
        params.withUnsafeBufferPointer { pp in
            var start = 0
            while start < rows {
                let n = min(capacity, rows - start)
                for b in 0..<n { features.copyRow(start + b, into: acts[0] + b * d) }
                forward(pp.baseAddress!, count: n)
                let z = acts[sizes.count - 1]
                for b in 0..<n { out[start + b] = z[b] }
                start += n
            }
        }
        return out
    }
}
