import XCTest
import TTUCore
@testable import TTUModel

final class GradientTests: XCTestCase {
    /// Central finite differences vs. the hand-written backward pass.
    func checkGradient(sizes: [Int], seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SeededRNG(seed: seed)
        var net = DenseNet(sizes: sizes, rng: &rng)
        let rows = 7, d = sizes[0]
        let x = (0..<(rows * d)).map { _ in rng.normal() }
        let y = (0..<rows).map { _ in rng.uniformOpen() * 0.5 }
        var w = (0..<rows).map { _ in 1 + 20 * rng.uniformOpen() }
        w[3] = 0   // a zero-weight row must not contribute
        let (_, grad) = lossAndGradient(net, x: x, y: y, w: w)
        let h = 1e-6
        var maxErr = 0.0, maxGrad = 0.0
        for k in 0..<net.parameters.count {
            let p0 = net.parameters[k]
            net.parameters[k] = p0 + h
            let lp = lossAndGradient(net, x: x, y: y, w: w).0
            net.parameters[k] = p0 - h
            let lm = lossAndGradient(net, x: x, y: y, w: w).0
            net.parameters[k] = p0
            let fd = (lp - lm) / (2 * h)
            maxErr = max(maxErr, abs(fd - grad[k]))
            maxGrad = max(maxGrad, abs(grad[k]))
        }
        XCTAssertGreaterThan(maxGrad, 1e-3, "degenerate check", file: file, line: line)
        XCTAssertLessThan(maxErr, 1e-7, "max |finite difference − analytic| = \(maxErr)", file: file, line: line)
    }

    func testMLPGradientMatchesFiniteDifferences() {
        checkGradient(sizes: [3, 5, 4, 1], seed: 11)
        checkGradient(sizes: [2, 6, 1], seed: 12)
    }

    func testLogisticGradientMatchesFiniteDifferences() {
        checkGradient(sizes: [4, 1], seed: 13)
    }

    func testLogisticGradientClosedForm() {
        // d/dw of Σ w_i BCE / Σ w_i is Σ w_i (σ(z_i) − y_i) x_i / Σ w_i.
        let net = DenseNet(sizes: [1, 1], parameters: [0.7, -0.2])
        let x = [1.0, -2.0], y = [0.25, 0.0], w = [4.0, 1.0]
        let (loss, g) = lossAndGradient(net, x: x, y: y, w: w)
        let z = x.map { 0.7 * $0 - 0.2 }
        let r = zip(z, y).map { BinaryCrossEntropy.sigmoid($0) - $1 }
        XCTAssertEqual(g[0], (4 * r[0] * 1 + 1 * r[1] * -2) / 5, accuracy: 1e-14)
        XCTAssertEqual(g[1], (4 * r[0] + r[1]) / 5, accuracy: 1e-14)
        let expected = (4 * BinaryCrossEntropy.fromLogit(z[0], target: 0.25) + BinaryCrossEntropy.fromLogit(z[1], target: 0)) / 5
        XCTAssertEqual(loss, expected, accuracy: 1e-14)
    }

    /// The workspace forward pass, the single-row path and the public batch path agree.
    func testBatchedAndSingleForwardAgree() {
        let m = MLP(inputDimension: 3, hiddenLayers: [8, 8], seed: 5)
        var rng = SeededRNG(seed: 6)
        let rows = 300   // > one 256-row chunk
        let X = try! FeatureMatrix(rows: rows, cols: 3, values: (0..<(rows * 3)).map { _ in rng.normal() })
        let batch = m.predict(X)
        for i in [0, 17, 255, 256, 299] {
            XCTAssertEqual(batch[i], m.predict(X.row(i)), accuracy: 1e-14)
        }
    }
}
