/// The concentration inequality behind the PAC guarantee (docs/method.md §4). The raw
/// values are the config/flag/calibration.json spelling.
public enum ConcentrationInequality: String, CaseIterable, Sendable {
    /// `exp(−2n(α − α̂)₊² / w_max²) ≤ δ`: simple, loose when weights are large.
    case hoeffding
    /// Empirical Bernstein (Maurer & Pontil): uses the variance of Z, small when most Z are 0.
    case bernstein
    /// Test-by-betting supermartingale (Waudby-Smith & Ramdas) with Ville's inequality.
    case betting
}

