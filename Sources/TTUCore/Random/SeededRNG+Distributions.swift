import Foundation

extension RandomNumberGenerator {
    /// Uniform on the open interval (0, 1), with 53 random bits.
    @inlinable
    public mutating func uniformOpen() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// Bernoulli(p): true with probability p.
    @inlinable
    public mutating func bernoulli(_ p: Double) -> Bool {
        if p >= 1 { return true }
        if p <= 0 { return false }
        return uniformOpen() < p
    }

    /// Standard normal draw (Box–Muller; one of the pair is discarded so that each
    /// call consumes exactly two uniforms and draws stay reproducible).
    @inlinable
    public mutating func normal(mean: Double = 0, sd: Double = 1) -> Double {
        let u1 = uniformOpen(), u2 = uniformOpen()
        return mean + sd * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Geometric(p) on {1, 2, 3, …}: the index of the first success, by inversion.
    /// p = 0 gives `Int.max` (never), p = 1 gives 1. Exact down to p ≈ 1e-15.
    @inlinable
    public mutating func geometric(_ p: Double) -> Int {
        if p >= 1 { return 1 }
        if p <= 0 { return Int.max }
        let x = (log(uniformOpen()) / log1p(-p)).rounded(.down)
        return x >= 9.0e18 ? Int.max : 1 + Int(x)
    }

    /// Binomial(n, p) by skipping geometric gaps between successes: exact, and costs
    /// about n·p + 1 uniforms (cheap for the rare events this tool is about).
    @inlinable
    public mutating func binomial(_ n: Int, _ p: Double) -> Int {
        if p <= 0 || n <= 0 { return 0 }
        if p >= 1 { return n }
        var k = 0, pos = 0
        while true {
            let g = geometric(p)
            if g > n - pos { return k }
            pos += g; k += 1
        }
    }

    /// Fisher–Yates shuffle of indices 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        if n < 2 { return a }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
        return a
    }
}
