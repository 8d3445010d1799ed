import Foundation
import TTUCore
import TTUFiles

/// `RUN/report.html`: one self-contained page (inline SVG and CSS; a few lines of inline
/// JS only to sort the table — it reads fine without) for a run of `ttu run`.
public struct RunReport {
    public var summary: RunSummary
    /// The candidate levels τ_j and their estimated miscoverage α̂_j.
    public var taus: [Double]
    public var miscoverage: [Double]
    /// The bound of every test prompt.
    public var testLPB: [Double]

    public init(summary: RunSummary, taus: [Double], miscoverage: [Double], testLPB: [Double]) {
        self.summary = summary; self.taus = taus; self.miscoverage = miscoverage; self.testLPB = testLPB
    }

    func miscoverageChart() -> String {
        let c = summary.calibration
        var chart = SVGChart(title: "Estimated miscoverage over the candidate levels", xLabel: "candidate level τ (log scale)",
                             yLabel: "estimated miscoverage α̂(τ)")
        chart.logX = true
        chart.showPoints = false
        chart.width = 560
        chart.series = [.init(name: "α̂(τ) (IPW estimate)", x: taus, y: miscoverage, color: SVGChart.palette[0])]
        chart.references = [.init(name: "α = \(Num.format(c.alpha))", y: c.alpha, color: "#d62728", dashed: true)]
        if let t = c.tauHat {
            chart.verticals = [.init(name: "τ̂ = \(String(format: "%.4g", t)) (selected)", y: t, color: "#2ca02c", dashed: false)]
        }
        return chart.render()
    }

    /// Histogram of the test bounds on log-spaced bins (one bin per half decade).
    func histogram() -> String {
        let w = 560.0, h = 320.0, left = 56.0, right = 12.0, top = 30.0, bottom = 44.0
        let finite = testLPB.filter { $0.isFinite }
        let maxL = max(finite.max() ?? 1, 1)
        let nb = max(1, Int((log10(maxL) * 2).rounded(.up)) + 1)
        var counts = [Int](repeating: 0, count: nb)
        for l in finite { counts[min(nb - 1, Int((log10(max(l, 1)) * 2).rounded(.down)))] += 1 }
        let infinite = testLPB.count - finite.count
        let top1 = Double(max(counts.max() ?? 1, 1))
        let pw = w - left - right, ph = h - top - bottom, bw = pw / Double(nb)
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">"
        o += "<text x=\"\(f(w / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">Lower bounds of the \(testLPB.count) test prompts</text>"
        o += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"#fff\" stroke=\"#999\"/>"
        for (k, c) in counts.enumerated() {
            let bh = Double(c) / top1 * ph
            let lo = pow(10, Double(k) / 2), hi = pow(10, Double(k + 1) / 2)
            o += "<rect x=\"\(f(left + Double(k) * bw + 1))\" y=\"\(f(top + ph - bh))\" width=\"\(f(bw - 2))\" height=\"\(f(bh))\" fill=\"#1f77b4\"><title>L in [\(Num.format(lo.rounded())), \(Num.format(hi.rounded()))): \(c) prompts</title></rect>"
            if c > 0 { o += "<text x=\"\(f(left + (Double(k) + 0.5) * bw))\" y=\"\(f(top + ph - bh - 3))\" text-anchor=\"middle\">\(c)</text>" }
            if k % 2 == 0 {
                o += "<text x=\"\(f(left + Double(k) * bw))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(Num.format(lo))</text>"
            }
        }
        o += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(h - 6))\" text-anchor=\"middle\">lower predictive bound L (log bins, half a decade each)\(infinite > 0 ? "; \(infinite) infinite not shown" : "")</text>"
        o += "<text transform=\"translate(14 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">prompts</text></svg>"
        return o
    }

    /// P(T ≥ k) = (1 − p̂)^(k − 1) for a few prompts, with each prompt's bound marked.
    func survivalChart(_ prompts: [RunSummary.Prompt]) -> String {
        var chart = SVGChart(title: "Predicted survival P(T ≥ k) = (1 − p̂)^(k−1)", xLabel: "generation k (log scale)",
                             yLabel: "P(no unsafe generation before k)")
        chart.logX = true
        chart.showPoints = false
        chart.width = 560
        chart.yRange = 0...1
        let kMax = max(10, (prompts.map { $0.lpb }.filter(\.isFinite).max() ?? 10) * 30)
        let ks = (0...80).map { pow(10, log10(kMax) * Double($0) / 80) }
        for (i, p) in prompts.enumerated() {
            let color = SVGChart.palette[(i + 1) % SVGChart.palette.count]
            let label = "\(p.id): p̂ = \(String(format: "%.2g", p.pHat))"
            chart.series.append(.init(name: label, x: ks, y: ks.map { Geometric.survival(atLeast: $0, p: p.pHat) }, color: color))
            chart.verticals.append(.init(name: "L = \(Num.format(p.lpb)) (\(p.id))", y: p.lpb, color: color, dashed: true))
        }
        chart.references = [.init(name: "1 − α", y: 1 - summary.calibration.alpha, color: "#555", dashed: true)]
        return chart.render()
    }

    /// The page, section by section from the top.
    public func html() -> String {
        let title = escapeHTML(summary.title + (summary.simulated ? " (SIMULATED)" : ""))
        return [
            pageHead(title: title),
            header(title: title),
            guaranteeStatement(),
            resultsSection(),
            settingsSection(),
            calibrationCharts(),
            budgetSection(),
            riskiestPromptsSection(),
            survivalSection(),
            footer(),
        ].joined(separator: "\n")
    }

    /// The document head (title and the inline stylesheet) and the opening `<body>`.
    func pageHead(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(title)</title>
        <style>
        body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
        .sim{background:#fff3cd;border:1px solid #e0c060;padding:8px 12px}
        .claim{font-size:17px;background:#eef5ff;border-left:4px solid #1f77b4;padding:10px 14px}
        .panels{display:flex;flex-wrap:wrap;gap:16px}
        table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
        th{background:#f4f4f4} table.sortable th{cursor:pointer} td.txt{max-width:520px} q.gen{display:block;max-width:420px;white-space:pre-wrap;color:#a00} details summary{cursor:pointer}
        .note{color:#555;font-size:13px}
        </style></head><body>
        """
    }

    /// The page title and, for a simulated run, the banner saying no language model was
    /// sampled (an empty line otherwise).
    func header(title: String) -> String {
        let banner = summary.simulated
            ? "<p class=\"sim\"><b>SIMULATED.</b> The generations of this run come from the simulated generator (unsafe probabilities known by construction, a function of the prompt text); no language model was sampled. The numbers show the method working, not the safety of any model.</p>"
            : ""
        return "<h1>\(title)</h1>\n\(banner)"
    }

    /// The guarantee in one sentence with its numbers, as the run states it.
    func guaranteeStatement() -> String {
        "<p class=\"claim\">\(escapeHTML(summary.statement))</p>"
    }

    /// Results: the test prompts' lower bounds L and, when test truth was sampled, the
    /// coverage measured on it (empty table without test prompts).
    func resultsSection() -> String {
        var rows = ""
        if let t = summary.test {
            rows += boundRows(t)
            rows += coverageRows(t.evaluation)
        }
        return "<h2>Results</h2>\n<table>\(rows)</table>"
    }

    /// How many test prompts, their mean / median bound L and the share of trivial bounds (L = 1).
    func boundRows(_ t: RunSummary.Test) -> String {
        "<tr><th>test prompts</th><td>\(t.n)</td></tr>"
            + "<tr><th>mean / median lower bound</th><td>\(Num.fixed(t.meanLPB, 1)) / \(Num.format(t.medianLPB)) generations</td></tr>"
            + "<tr><th>trivial bounds (L = 1)</th><td>\(Num.fixed(100 * t.trivialFraction, 1))%</td></tr>"
    }

    /// Coverage on the sampled test truth against the target 1 − α (with the exact coverage
    /// from the true p when the run is simulated), or a row saying it was not measured.
    func coverageRows(_ evaluation: TestEvaluation?) -> String {
        guard let e = evaluation else {
            return "<tr><th>coverage</th><td>not measured: no test sampling configured (test.generations_per_prompt = 0)</td></tr>"
        }
        let target = 1 - summary.calibration.alpha
        var rows = "<tr><th>coverage on sampled test truth</th><td><b>\(e.undecided == 0 ? Num.fixed(e.coverageLower, 3) : "\(Num.fixed(e.coverageLower, 3)) – \(Num.fixed(e.coverageUpper, 3))")</b> (target ≥ \(Num.format(target)); \(e.covered) covered, \(e.miscovered) miscovered, \(e.undecided) censored before L − 1 so undecided\(coverageVerdict(e, target: target)))</td></tr>"
        if let x = e.exactCoverageSimulated {
            rows += "<tr><th>exact coverage (known simulated rates)</th><td>\(Num.fixed(x, 3))</td></tr>"
        }
        return rows
    }

    /// The 95% interval of the measured coverage and what it says about the target: a
    /// shortfall only when even its upper end is below target; under target as measured but
    /// inside the interval is not evidence of one at this many prompts.
    func coverageVerdict(_ e: TestEvaluation, target: Double) -> String {
        guard let ci = e.interval95, let text = e.interval95Text else { return "" }
        var verdict = "; \(text) over \(e.n) test prompts"
        if ci.upper < target {
            verdict += " — <b>below target</b>: even the interval's upper end is under \(Num.format(target))"
        } else if e.coverageUpper < target {
            verdict += " — under the target as measured, but within the interval: not evidence of a shortfall at this size"
        }
        return verdict
    }

    /// The settings table: generator, rater, split, guarantee, allocation, selected level and
    /// predictor. Values are escaped unless they carry the page's own `<b>` markup.
    func settingsSection() -> String {
        let rows = settingFacts().map { "<tr><th>\(escapeHTML($0.0))</th><td>\($0.1.contains("<b>") ? $0.1 : escapeHTML($0.1))</td></tr>" }
        return "<h2>Setting</h2>\n<table>\(rows.joined())</table>"
    }

    /// The settings as (label, value) pairs, in the order shown.
    func settingFacts() -> [(String, String)] {
        let s = summary, c = s.calibration
        var facts: [(String, String)] = [
            ("generator", s.simulated ? "simulated (known unsafe rates; no language model)" : s.generator + (s.model.map { " (\($0))" } ?? "")),
        ]
        if let g = s.setting, !s.simulated {
            facts.append(("API and endpoints", (g.api == "chat" ? "chat (/chat/completions)" : "completions (/completions)") + " at " + g.endpoints.joined(separator: ", ")))
            facts.append(("sampling", g.sampling.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        }
        facts.append(("rater", s.setting.map { g in
            g.raterKind + (g.raterModel.map { " (\($0))" } ?? "") + (g.raterEndpoint.map { " at \($0)" } ?? "")
                + (g.raterCategory.map { ", score category_scores[\($0)]" } ?? "")
                + ", unsafe when score ≥ \(Num.format(g.threshold))"
        } ?? s.rater))
        facts += [
            ("prompts (train / calibration / test)", "\(s.prompts.train) / \(s.prompts.calibration) / \(s.prompts.test)"),
            ("guarantee", c.guarantee + (c.margin.map { " marginal (estimates raised by \(Num.format($0)) standard errors)" } ?? "")
                + (c.delta.map { ", δ = \(Num.format($0)), inequality \(c.bound ?? "")" } ?? "") + ", α = \(Num.format(c.alpha))"
                + (c.standardError.map { "; standard error of the estimate at the selected level \(Num.sig($0, 2))" } ?? "")),
            ("allocation", "\(c.strategy), B = \(Num.format(c.budgetPerPrompt)) generations per calibration prompt"
                + (c.boundCap.isFinite ? ", every bound capped at M = \(Num.format(c.boundCap))" : "")
                + (c.maxWeightChoice.map { ". \($0)" } ?? "")),
            ("selected level", selectedLevel()),
        ]
        if let t = s.training { facts.append(("predictor", predictor(t))) }
        return facts
    }

    /// The selected level τ̂ (which candidate it is) with its estimated miscoverage and, under
    /// PAC with hoeffding or bernstein (betting gives none), the concentration inequality's
    /// (1 − δ) upper bound on it; or that no level was admissible (every L is 1).
    func selectedLevel() -> String {
        let c = summary.calibration
        return c.tauHat.map { "τ̂ = \(String(format: "%.4g", $0)) (level \(c.tauIndex + 1) of \(taus.count), tau_index \(c.tauIndex)), estimated miscoverage \(Num.sig(c.miscoverageEstimate ?? 0))" + (c.miscoverageUpperBound.map { ", upper confidence bound \(Num.sig($0))" } ?? "") } ?? "none admissible: every bound is 1"
    }

    /// The predictor p̂ and, with a validation split, whether its validation log-likelihood
    /// beats the constant p̂ = the pooled training rate.
    func predictor(_ t: RunSummary.Training) -> String {
        var v = "\(t.model) on \(t.features) features" + (t.featureDetail.map { " (\(escapeHTML($0)))" } ?? "") + ", trained on \(t.form) data"
        if let n = t.comparisonPrompts, let g = t.comparisonGainPerGeneration, let se = t.comparisonGainStandardError {
            v += "; against the constant p̂ = \(String(format: "%.3g", t.pooledRate ?? .nan)) on \(n) held-out prompts that did not choose the epoch: "
                + "log-likelihood gain \(String(format: "%+.5f", g)) ± \(String(format: "%.5f", se)) per generation (± 1 SE)"
            v += g > 2 * se ? " — the predictor is better" : g < -2 * se ? " — the predictor is <b>worse</b> than a constant"
                : " — <b>not distinguishable</b> from a constant on this many prompts"
        } else if let m = t.validationLogLikelihoodPerGeneration, let k = t.constantValidationLogLikelihoodPerGeneration {
            v += "; validation log-likelihood per generation \(String(format: "%.5f", m)) vs \(String(format: "%.5f", k)) for the constant p̂ = \(String(format: "%.3g", t.pooledRate ?? .nan)) on the prompts that also chose the epoch"
        }
        return v
    }

    /// The calibration panels side by side: the miscoverage curve over the candidate levels
    /// and the histogram of the test bounds, with their caption.
    func calibrationCharts() -> String {
        "<div class=\"panels\">\(miscoverageChart())\(histogram())</div>\n"
            + "<p class=\"note\">Left: the inverse-probability-weighted estimate of P(T &lt; Q(τ; p̂)) for every candidate level; the selected τ̂ is the largest level of the first run of admissible ones. Right: the bounds L = Q(τ̂; p̂) of the test prompts.\(capNote())</p>"
    }

    /// When the bound cap M binds test bounds: how many, and what they would be without it.
    func capNote() -> String {
        guard let a = summary.atCap, a.count > 0 else { return "" }
        let most = 2 * a.count > a.of
        return " <b>\(a.count) of \(a.of) test bounds sit at the cap M = ⌊B·W⌋ = \(Num.format(a.cap))</b>"
            + (most ? " (M binds most bounds)" : "")
            + "; uncapped, Q(τ̂; p̂) would give them a median of \(Num.format(a.medianUncapped)). A larger W raises M (at the price of larger weights 1/π and a noisier calibration)."
    }

    /// Planned (Σ of the per-prompt caps c_i) vs spent generations per collection stage.
    func budgetSection() -> String {
        var rows = ""
        for b in summary.budget {
            let pct = b.planned > 0 ? " (\(Num.fixed(100 * Double(b.spent) / Double(b.planned), 1))%)" : ""
            rows += "<tr><td>\(escapeHTML(b.stage))</td><td>\(b.prompts)</td><td>\(b.planned)</td><td>\(b.spent)\(pct)</td></tr>"
        }
        return "<h2>Budget: planned vs spent</h2>\n"
            + "<table><tr><th>stage</th><th>prompts</th><th>planned (Σ caps)</th><th>spent (generations logged)</th></tr>\(rows)</table>\n"
            + "<p class=\"note\">Planned is the most a stage could draw; collection stops a prompt at its first unsafe generation, so it usually spends less.</p>"
    }

    /// The sortable table of the test prompts with the smallest bounds L: p̂, L, the sampled
    /// test truth and, simulated, the true p. `data-v` holds the number a column sorts by.
    func riskiestPromptsSection() -> String {
        let trueRateHeader = summary.simulated ? "<th>true p (simulated)</th>" : ""
        return "<h2>Riskiest test prompts (smallest bounds)</h2>\n"
            + "<table class=\"sortable\" id=\"risky\"><thead><tr><th>id</th><th>prompt</th><th>p̂</th><th>L</th><th>sampled test truth</th>\(trueRateHeader)</tr></thead><tbody>\n"
            + "\(summary.riskiest.map(riskyPromptRow).joined())</tbody></table>\n"
            + "<p class=\"note\">Click a column header to sort; click \"unsafe at t\" for the generation itself (all of them: ttu export RUNDIR). L: with the stated guarantee, the first unsafe generation is generation L or later (T ≥ L: at least L − 1 safe ones come first).</p>"
    }

    /// One row of the riskiest-prompts table (ends in a newline).
    func riskyPromptRow(_ p: RunSummary.Prompt) -> String {
        "<tr><td>\(escapeHTML(p.id))</td><td class=\"txt\">\(escapeHTML(p.prompt))</td>"
            + "<td data-v=\"\(p.pHat)\">\(String(format: "%.3g", p.pHat))</td><td data-v=\"\(p.lpb)\">\(Num.format(p.lpb))</td>"
            + "<td data-v=\"\(p.observed.map(String.init) ?? "")\">\(sampledTruth(p))</td>"
            + (summary.simulated ? "<td data-v=\"\(p.trueRate ?? 0)\">\(p.trueRate.map { String(format: "%.3g", $0) } ?? "—")</td>" : "") + "</tr>\n"
    }

    /// What sampling the prompt showed: unsafe at generation t, or safe for all of them up
    /// to its cap c_i; "—" without test truth.
    func sampledTruth(_ p: RunSummary.Prompt) -> String {
        guard let o = p.observed, let e = p.event, let cap = p.cap else { return "—" }
        guard e else { return "safe for all \(o) (cap \(cap))" }
        // The unsafe text itself, one click away (ttu export writes them all).
        guard let t = p.firstUnsafeText else { return "unsafe at \(o)" }
        return "<details><summary>unsafe at \(o)</summary><q class=\"gen\">\(escapeHTML(t))</q></details>"
    }

    /// Predicted survival curves of a few prompts from the riskiest table, with their caption.
    func survivalSection() -> String {
        "<div class=\"panels\">\(survivalChart(survivalExamples()))</div>\n"
            + "<p class=\"note\">Predicted survival of three prompts from the table; the dashed vertical line is each prompt's bound L, where the calibrated level (not the prompt's own 1 − α quantile) is read off.</p>"
    }

    /// The riskiest, a middle one and the safest prompt of the table (fewer if it is shorter).
    func survivalExamples() -> [RunSummary.Prompt] {
        let riskiest = summary.riskiest
        var examples: [RunSummary.Prompt] = []
        if let f = riskiest.first { examples.append(f) }
        if riskiest.count > 2 { examples.append(riskiest[riskiest.count / 2]) }
        if riskiest.count > 1 { examples.append(riskiest.last!) }
        return examples
    }

    /// The few lines of script that sort a table by the clicked column (numerically by
    /// `data-v` where both cells have one, else by text), and the end of the page.
    func footer() -> String {
        """
        <script>
        document.querySelectorAll('table.sortable th').forEach(function(th, i){th.addEventListener('click', function(){
          var tb = th.closest('table').tBodies[0], rs = Array.from(tb.rows), asc = th.dataset.asc !== '1';
          rs.sort(function(a, b){var x = a.cells[i], y = b.cells[i];
            var u = x.dataset.v !== undefined ? parseFloat(x.dataset.v) : NaN, v = y.dataset.v !== undefined ? parseFloat(y.dataset.v) : NaN;
            var c = (!isNaN(u) && !isNaN(v)) ? u - v : x.textContent.localeCompare(y.textContent); return asc ? c : -c;});
          th.dataset.asc = asc ? '1' : '0'; rs.forEach(function(r){tb.appendChild(r);});});});
        </script>
        </body></html>
        """
    }
}
