import TTUCore
import TTUFiles

/// The guarantee calibration gives (docs/method.md §4): corrected (marginal, corrected for
/// finite n; the default), marginal (the paper's rule), or PAC at level δ with a
/// concentration inequality. Shared by `ttu calibrate`, `ttu simulate` and the run config.
public struct GuaranteeSettings: Sendable, Equatable, Codable {
    public enum Kind: String, CaseIterable, Sendable, Codable, SettingChoice { case corrected, marginal, pac }
    public var kind = Kind.corrected
    /// corrected: standard errors added to each level's estimate before comparing with α.
    /// 0.5 from the regime study (docs/method.md §4, bench/regime): the plain rule's
    /// optimism at n = 300–3,000 is about 0.2 standard errors of the estimate at the
    /// selected level; 0.5 keeps the mean coverage at or above 1 − α there.
    public static let defaultMargin = 0.5
    public var margin = GuaranteeSettings.defaultMargin
    public var delta = 0.05
    /// The PAC concentration inequality: bernstein (the default; see docs/method.md §4),
    /// betting or hoeffding.
    public var inequality = ConcentrationInequality.bernstein
    public init() {}

    public func validate() throws {
        try checkDeclared()
    }

    public var guarantee: Guarantee {
        switch kind {
        case .marginal: return .marginal
        case .corrected: return .corrected(margin: margin)
        case .pac: return .pac(delta: delta, bound: inequality)
        }
    }

    /// How the guarantee reads in tables: "corrected (0.5 se)", "marginal", "PAC (bernstein, δ = 0.05)".
    public var label: String {
        switch kind {
        case .marginal: return "marginal"
        case .corrected: return "corrected marginal (+\(Num.format(margin)) se)"
        case .pac: return "PAC (\(inequality.rawValue), δ = \(Num.format(delta)))"
        }
    }
}

/// α: the allowed miscoverage.
public func validateAlpha(_ alpha: Double, key: String = "calibration.alpha") throws {
    if !(alpha > 0 && alpha < 1) { throw SettingError(key, "must be in (0, 1), got \(alpha)") }
}

/// `MINLOG10,MAXLOG10,COUNT`: the candidate levels τ_j, log-spaced.
public func parseTauGrid(_ s: String, key: String = "calibration.tau_grid") throws -> TauGrid {
    let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard parts.count == 3, let a = Double(parts[0]), let b = Double(parts[1]), let c = Int(parts[2]) else {
        throw SettingError(key, "'\(s)' is not MINLOG10,MAXLOG10,COUNT")
    }
    let g = TauGrid(minLog10: a, maxLog10: b, count: c)
    do { try g.validate() } catch { throw SettingError(key, "'\(s)': \(error)") }
    return g
}

/// The candidate levels τ_j: chosen from p̂, M and B (`auto`, docs/method.md §2), or given.
public enum TauGridChoice: Sendable, Equatable, CustomStringConvertible, Codable {
    case auto
    case fixed(TauGrid)

    /// `auto`, or `MINLOG10,MAXLOG10,COUNT`.
    public static func parse(_ s: String, key: String = "calibration.tau_grid") throws -> TauGridChoice {
        s.trimmingCharacters(in: .whitespaces) == "auto" ? .auto : .fixed(try parseTauGrid(s, key: key))
    }

    public func resolve(pHat: [Double], boundCap: Double, budget: Double) -> TauGrid {
        switch self {
        case .auto: return TauGrid.auto(pHat: pHat, boundCap: boundCap, budget: budget)
        case .fixed(let g): return g
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .fixed(let g): return "\(g.minLog10),\(g.maxLog10),\(g.count)"
        }
    }
}

extension ConcentrationInequality: SettingChoice {}

extension GuaranteeSettings: DeclaredSettings {
    public static var defaults: GuaranteeSettings { GuaranteeSettings() }

    public static let declarations: [Setting<GuaranteeSettings>] = [
        .value("calibration.guarantee", \.kind, doc: "corrected (marginal, each level's estimate raised by margin standard errors against the optimism of selection at finite n), marginal (the paper's rule) or pac (holds for this run with probability ≥ 1 − δ). docs/method.md §4."),
        .value("calibration.margin", \.margin, doc: "corrected: standard errors added to each level's estimated miscoverage.",
               check: { $0 >= 0 ? nil : "must be a number of standard errors ≥ 0, got \(Num.format($0))" }),
        .value("calibration.delta", \.delta, doc: "pac: δ.", check: { $0 > 0 && $0 < 1 ? nil : "must be in (0, 1)" }),
        .value("calibration.inequality", \.inequality, doc: "pac: the concentration inequality (bernstein recommended: docs/method.md §4). The old name calibration.bound is read too, for one release."),
    ]
}
