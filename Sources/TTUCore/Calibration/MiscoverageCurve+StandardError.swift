import Foundation

extension MiscoverageCurve {
    /// `ŝe_j = √(((1/n)Σ Z_ij² − α̂_j²) / n)`: the standard error of the IPW estimate α̂_j.
    public func standardError(_ j: Int) -> Double {
        (max(0, meanSquare[j] - estimate[j] * estimate[j]) / Double(n)).squareRoot()
    }
}
