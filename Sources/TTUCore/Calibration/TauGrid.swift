import Foundation

/// The candidate quantile levels `τ_1 < … < τ_m`, log-spaced (docs/method.md §2).
/// Default: 300 points on [10^-3, 10^-0.75], as in the paper.
public struct TauGrid: Equatable, Sendable {
    public var minLog10: Double
    public var maxLog10: Double
    public var count: Int

    public static let `default` = TauGrid(minLog10: -3, maxLog10: -0.75, count: 300)

    public init(minLog10: Double, maxLog10: Double, count: Int) {
        self.minLog10 = minLog10
        self.maxLog10 = maxLog10
        self.count = count
    }

    /// Checks the grid describes increasing levels inside (0, 1).
    public func validate() throws {
        guard count >= 1 else { throw TTUError.invalidArgument("tau grid: count must be at least 1, got \(count)") }
        guard minLog10.isFinite, maxLog10.isFinite, maxLog10 < 0 else {
            throw TTUError.invalidArgument("tau grid: log10 bounds must be finite and below 0 (τ < 1)")
        }
        guard count == 1 || minLog10 < maxLog10 else {
            throw TTUError.invalidArgument("tau grid: MINLOG10 must be below MAXLOG10")
        }
    }

    /// `τ_j`, j = 0..<count, like `numpy.logspace(min, max, count)`.
    public var taus: [Double] {
        if count == 1 { return [pow(10, minLog10)] }
        let step = (maxLog10 - minLog10) / Double(count - 1)
        return (0..<count).map { j in pow(10, minLog10 + Double(j) * step) }
    }

    /// `log(1 − τ_j)` for every j (negative, decreasing).
    public var logOneMinusTaus: [Double] { taus.map { log1p(-$0) } }
}

/// Errors of `TTUCore`'s API (arguments a caller got wrong).
public enum TTUError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)
    public var description: String {
        switch self { case .invalidArgument(let s): return s }
    }
}
