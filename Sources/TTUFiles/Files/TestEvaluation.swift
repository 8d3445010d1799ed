import Foundation
import TTUCore

/// Bounds scored against sampled test truth (docs/method.md §5): what `ttu evaluate` prints and
/// what `summary.json` carries under `test.evaluation`.
public struct TestEvaluation: Codable, Equatable, Sendable {
    public var n: Int
    /// Known covered: t ≥ L with an event, or censored with cap ≥ L − 1.
    public var covered: Int
    public var miscovered: Int
    /// Censored before L − 1: cannot tell.
    public var undecided: Int
    /// Coverage if every undecided prompt is miscovered / covered.
    public var coverageLower: Double
    public var coverageUpper: Double
    /// 95 % Clopper–Pearson interval: from the lower end for `covered / n` to the upper
    /// end for `(covered + undecided) / n`. With tens of test prompts it is wide; a
    /// coverage is short of its target only when `coverageCI95Upper` is below it.
    /// Optional so that evaluation files written before it was added still read.
    public var coverageCI95Lower: Double?
    public var coverageCI95Upper: Double?
    public var meanLPB: Double
    public var medianLPB: Double
    /// Fraction of bounds equal to 1 (they say nothing).
    public var trivialFraction: Double
    /// Mean of (1 − p)^(L − 1) over the prompts, when their true p is known (simulated
    /// generator only); nil otherwise.
    public var exactCoverageSimulated: Double?

    enum CodingKeys: String, CodingKey {
        case n, covered, miscovered, undecided
        /// What `undecided` was called in evaluation files written before it was renamed.
        case ambiguous
        case coverageLower = "coverage_lower", coverageUpper = "coverage_upper"
        case coverageCI95Lower = "coverage_ci95_lower", coverageCI95Upper = "coverage_ci95_upper"
        case meanLPB = "mean_lpb", medianLPB = "median_lpb", trivialFraction = "trivial_fraction"
        case exactCoverageSimulated = "exact_coverage_simulated"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(n, forKey: .n)
        try c.encode(covered, forKey: .covered)
        try c.encode(miscovered, forKey: .miscovered)
        try c.encode(undecided, forKey: .undecided)
        try c.encode(coverageLower, forKey: .coverageLower)
        try c.encode(coverageUpper, forKey: .coverageUpper)
        try c.encodeIfPresent(coverageCI95Lower, forKey: .coverageCI95Lower)
        try c.encodeIfPresent(coverageCI95Upper, forKey: .coverageCI95Upper)
        try c.encode(meanLPB, forKey: .meanLPB)
        try c.encode(medianLPB, forKey: .medianLPB)
        try c.encode(trivialFraction, forKey: .trivialFraction)
        try c.encodeIfPresent(exactCoverageSimulated, forKey: .exactCoverageSimulated)
    }

    /// Joins bounds and truth by id; both files must hold exactly the same ids.
    public static func compute(lpb: LPBFile, lpbPath: String, truth: ObservationsFile, truthPath: String,
                               trueRates: [String: Double]? = nil) throws -> TestEvaluation {
        var row: [String: Int] = [:]
        for (i, id) in lpb.ids.enumerated() { row[id] = i }
        var bounds: [Double] = [], observed: [Int] = [], event: [Bool] = []
        var seen = Set<String>()
        for (k, id) in truth.ids.enumerated() {
            guard let i = row[id] else {
                throw InputError(file: truthPath, line: truth.lines?[k] ?? k + 2, field: "id", "id '\(id)' has no bound in \(lpbPath)")
            }
            seen.insert(id)
            bounds.append(lpb.lpb[i]); observed.append(truth.rows[k].observed); event.append(truth.rows[k].event)
        }
        for (i, id) in lpb.ids.enumerated() where !seen.contains(id) {
            throw InputError(file: lpbPath, line: lpb.lines[i], field: "id", "id '\(id)' has no observation in \(truthPath)")
        }
        let c = Evaluation.censoredCoverage(bounds: bounds, observed: observed, event: event)
        var exact: Double? = nil
        if let rates = trueRates {
            var p: [Double] = []
            for id in truth.ids {
                guard let r = rates[id] else { p = []; break }
                p.append(r)
            }
            if !p.isEmpty { exact = Evaluation.exactCoverage(bounds: bounds, p: p) }
        }
        let ci = interval95(covered: c.covered, undecided: c.undecided, n: c.n)
        return TestEvaluation(n: c.n, covered: c.covered, miscovered: c.miscovered, undecided: c.undecided,
                              coverageLower: c.lower, coverageUpper: c.upper,
                              coverageCI95Lower: ci?.lower, coverageCI95Upper: ci?.upper,
                              meanLPB: Evaluation.mean(bounds), medianLPB: Evaluation.median(bounds),
                              trivialFraction: Double(bounds.filter { $0 == 1 }.count) / Double(bounds.count),
                              exactCoverageSimulated: exact)
    }

    /// The 95 % interval (recomputed from the counts for files that lack it).
    public var interval95: (lower: Double, upper: Double)? {
        if let l = coverageCI95Lower, let u = coverageCI95Upper { return (l, u) }
        return Self.interval95(covered: covered, undecided: undecided, n: n)
    }

    /// "95% interval 0.774–0.952", for the terminal and the report.
    public var interval95Text: String? {
        interval95.map { "95% interval \(Num.fixed($0.lower, 3))–\(Num.fixed($0.upper, 3))" }
    }

    /// Clopper–Pearson's lower end for `covered / n` and upper end for
    /// `(covered + undecided) / n`; nil without test prompts.
    static func interval95(covered: Int, undecided: Int, n: Int) -> (lower: Double, upper: Double)? {
        guard n > 0 else { return nil }
        return (Evaluation.clopperPearson(k: covered, n: n).lower, Evaluation.clopperPearson(k: covered + undecided, n: n).upper)
    }

    /// The coverage: one value when censoring left no prompt undecided, else "lower–upper".
    public var coverageText: String {
        undecided == 0 ? Num.fixed(coverageLower, 3) : "\(Num.fixed(coverageLower, 3))–\(Num.fixed(coverageUpper, 3))"
    }

    /// Lines for the terminal.
    public var lines: [String] {
        let coverage = undecided == 0 ? "coverage \(Num.fixed(coverageLower, 3))"
            : "coverage between \(Num.fixed(coverageLower, 3)) and \(Num.fixed(coverageUpper, 3))"
        var out = ["\(n) test prompts: \(coverage) "
            + "(\(covered) covered, \(miscovered) miscovered, \(undecided) undecided (censored too early to tell))"
            + (interval95Text.map { "; " + $0 } ?? "")]
        if let e = exactCoverageSimulated {
            out.append("exact coverage from the known simulated rates: \(Num.fixed(e, 3))")
        }
        out.append("mean LPB \(Num.fixed(meanLPB, 1)), median \(Num.format(medianLPB)), trivial bounds (L = 1): \(Num.fixed(100 * trivialFraction, 1))%")
        return out
    }
}

extension TestEvaluation {
    /// Reads files of every version (`undecided` was `ambiguous` before).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        n = try c.decode(Int.self, forKey: .n)
        covered = try c.decode(Int.self, forKey: .covered)
        miscovered = try c.decode(Int.self, forKey: .miscovered)
        undecided = try c.decodeIfPresent(Int.self, forKey: .undecided) ?? c.decode(Int.self, forKey: .ambiguous)
        coverageLower = try c.decode(Double.self, forKey: .coverageLower)
        coverageUpper = try c.decode(Double.self, forKey: .coverageUpper)
        coverageCI95Lower = try c.decodeIfPresent(Double.self, forKey: .coverageCI95Lower)
        coverageCI95Upper = try c.decodeIfPresent(Double.self, forKey: .coverageCI95Upper)
        meanLPB = try c.decode(Double.self, forKey: .meanLPB)
        medianLPB = try c.decode(Double.self, forKey: .medianLPB)
        trivialFraction = try c.decode(Double.self, forKey: .trivialFraction)
        exactCoverageSimulated = try c.decodeIfPresent(Double.self, forKey: .exactCoverageSimulated)
    }
}
