import Foundation
import TTUCore
import TTUFiles

/// Mean and spread of a study's repetitions for one strategy and budget.
public struct StudyCell: Sendable {
    public var strategy: AllocationStrategy
    public var budget: Double
    public var reps: Int
    public var coverageMean: Double, coverageSD: Double
    public var meanLPB: Double, lpbSD: Double
    public var generationsMean: Double, generationsSD: Double
    public var capMean: Double
    /// Fraction of repetitions whose coverage fell below 1 − α.
    public var belowTarget: Double
    public var trivial: Int

    public static func aggregate(_ rows: [CalibrationStudy.Row], alpha: Double) -> [StudyCell] {
        var cells: [StudyCell] = []
        var seen: [String: [CalibrationStudy.Row]] = [:]
        var order: [String] = []
        for r in rows {
            let k = "\(r.strategy.rawValue)|\(r.budget)"
            if seen[k] == nil { order.append(k) }
            seen[k, default: []].append(r)
        }
        for k in order {
            let rs = seen[k]!
            let cov = rs.map(\.coverage), lpb = rs.map(\.meanLPB), gen = rs.map(\.meanGenerations)
            cells.append(StudyCell(
                strategy: rs[0].strategy, budget: rs[0].budget, reps: rs.count,
                coverageMean: Evaluation.mean(cov), coverageSD: Evaluation.sd(cov),
                meanLPB: Evaluation.mean(lpb), lpbSD: Evaluation.sd(lpb),
                generationsMean: Evaluation.mean(gen), generationsSD: Evaluation.sd(gen),
                capMean: Evaluation.mean(rs.map(\.meanCap)),
                belowTarget: Double(cov.filter { $0 < 1 - alpha }.count) / Double(rs.count),
                trivial: rs.filter { $0.tauHat == nil }.count))
        }
        return cells
    }
}

/// The page `ttu simulate` writes: the paper's three panels plus a table.
public struct SimulationReport {
    public var title: String
    public var settingsLines: [String]
    public var cells: [StudyCell]
    public var alpha: Double
    public var uncalibratedCoverage: Double
    public var uncalibratedLPB: Double
    /// The oracle level of the test prompts (true p, no bound cap): a dashed line in the
    /// bound panel and each cell's fraction of it in the table (docs/method.md §5).
    public var oracle: OracleLevel?

    public init(title: String, settingsLines: [String], cells: [StudyCell], alpha: Double,
                uncalibratedCoverage: Double, uncalibratedLPB: Double, oracle: OracleLevel? = nil) {
        self.title = title; self.settingsLines = settingsLines; self.cells = cells; self.alpha = alpha
        self.uncalibratedCoverage = uncalibratedCoverage; self.uncalibratedLPB = uncalibratedLPB
        self.oracle = oracle
    }

    public func html() -> String {
        let strategies = cells.reduce(into: [AllocationStrategy]()) { if !$0.contains($1.strategy) { $0.append($1.strategy) } }
        func series(_ value: (StudyCell) -> Double, _ sd: ((StudyCell) -> Double)?) -> [SVGChart.Series] {
            strategies.enumerated().map { k, st in
                let cs = cells.filter { $0.strategy == st }
                return SVGChart.Series(name: st.rawValue, x: cs.map(\.budget), y: cs.map(value),
                                       band: sd.map { f in cs.map(f) }, color: SVGChart.palette[k % SVGChart.palette.count])
            }
        }
        var cov = SVGChart(title: "Coverage", xLabel: "budget per prompt B", yLabel: "coverage P(T ≥ L)")
        cov.series = series(\.coverageMean, \.coverageSD)
        cov.references = [.init(name: "1 − α = \(1 - alpha)", y: 1 - alpha, color: "#555", dashed: true),
                          .init(name: "uncalibrated", y: uncalibratedCoverage, color: "#000", dashed: false)]
        var gen = SVGChart(title: "Generations drawn", xLabel: "budget per prompt B", yLabel: "generations per calibration prompt")
        gen.series = series(\.generationsMean, \.generationsSD)
        var lpb = SVGChart(title: "Mean lower bound (log scale)", xLabel: "budget per prompt B", yLabel: "mean LPB")
        lpb.logY = true
        lpb.series = series(\.meanLPB, \.lpbSD)
        lpb.references = [.init(name: "uncalibrated", y: uncalibratedLPB, color: "#000", dashed: false)]
        if let o = oracle, o.meanLPB.isFinite {
            lpb.references.append(.init(name: "oracle (true p, no M)", y: o.meanLPB, color: "#555", dashed: true))
        }
        let oracleLPB = oracle.map(\.meanLPB)

        var rows = ""
        for c in cells {
            rows += "<tr><td>\(c.strategy.rawValue)</td><td>\(Num.format(c.budget))</td><td>\(c.reps)</td>"
                + "<td>\(Num.fixed(c.coverageMean, 4)) ± \(Num.fixed(c.coverageSD, 4))</td>"
                + "<td>\(Num.fixed(c.belowTarget, 2))</td>"
                + "<td>\(Num.fixed(c.meanLPB, 1)) ± \(Num.fixed(c.lpbSD, 1))</td>"
                + (oracleLPB.map { "<td>\(Num.fixed(c.meanLPB / $0, 3))</td>" } ?? "")
                + "<td>\(Num.fixed(c.generationsMean, 1))</td><td>\(Num.fixed(c.capMean, 1))</td><td>\(c.trivial)</td></tr>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escapeHTML(title))</title>
        <style>
        body{font-family:sans-serif;margin:24px;color:#222;max-width:1450px}
        .sim{background:#fff3cd;border:1px solid #e0c060;padding:6px 10px;display:inline-block}
        .panels{display:flex;flex-wrap:wrap;gap:12px}
        table{border-collapse:collapse;margin-top:16px;font-size:13px}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
        th{background:#f4f4f4} td:first-child{text-align:left}
        </style></head><body>
        <h1>\(escapeHTML(title))</h1>
        <p class="sim"><b>Simulated data.</b> Prompts, unsafe probabilities and every generation here are simulated (docs/method.md §6); no language model was sampled.</p>
        <ul>\(settingsLines.map { "<li>\(escapeHTML($0))</li>" }.joined())</ul>
        <p>Uncalibrated predictor (L = Q(α; p̂)): coverage \(Num.fixed(uncalibratedCoverage, 4)), mean LPB \(Num.fixed(uncalibratedLPB, 1)).</p>
        \(oracleParagraph)
        <div class="panels">\(cov.render())\(gen.render())\(lpb.render())</div>
        <p>Bands: ±1 sd across repetitions. Generations drawn = mean of min(T, cap) per calibration prompt; planned cap = the worst-case spend.</p>
        <table><tr><th>strategy</th><th>B</th><th>reps</th><th>coverage mean ± sd</th><th>P(cov &lt; 1−α)</th><th>mean LPB ± sd</th>\(oracle == nil ? "" : "<th>× oracle</th>")<th>generations drawn</th><th>planned cap</th><th>trivial</th></tr>
        \(rows)</table>
        </body></html>
        """
    }

    private var oracleParagraph: String {
        guard let o = oracle else { return "" }
        let level = o.tauHat.map { "level \(o.tauIndex + 1), τ = \(Num.sig($0, 5))" } ?? "no level (bound 1)"
        return "<p>Oracle (dashed line in the bound panel): the largest grid level whose true miscoverage on the test prompts, "
            + "from the known p and with no bound cap M, is ≤ α — \(escapeHTML(level)), coverage \(Num.fixed(o.coverage, 4)), "
            + "mean LPB \(Num.fixed(o.meanLPB, 1)). No level of this grid above it, uncapped, covers 1 − α on these prompts; "
            + "“× oracle” is a strategy's mean LPB over the oracle's (docs/method.md §5).</p>"
    }
}
