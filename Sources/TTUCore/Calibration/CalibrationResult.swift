import Foundation

/// The outcome of calibration: the selected level and what it rests on.
public struct CalibrationResult: Sendable {
    /// `ĵ` (0-based), or −1 when no candidate is admissible (then every bound is 1).
    public var tauIndex: Int
    public var tauHat: Double?
    public var alpha: Double
    public var guarantee: Guarantee
    /// `α̂_ĵ` (nil if none admissible).
    public var miscoverageEstimate: Double?
    /// For PAC: the (1 − δ) upper confidence bound on the miscoverage of `ĵ` where the
    /// bound gives one (hoeffding, bernstein); nil otherwise.
    public var miscoverageUpperBound: Double?
    public var n: Int
    public var curve: MiscoverageCurve
    /// Whether each candidate was admissible (tested in order; testing stops at the first failure).
    public var admissible: [Bool]

    /// The standard error of `α̂_ĵ` (of the first candidate when none was admissible):
    /// about how far one run's miscoverage may sit from its estimate.
    public var standardError: Double { curve.standardError(max(tauIndex, 0)) }
}
