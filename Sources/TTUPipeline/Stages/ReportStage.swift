import Foundation
import TTUCore
import TTUModel
import TTUFiles
import TTUReport
import TTUSampling

/// The run report: `summary.json` and a self-contained `report.html` from what `ttu run`
/// left in a run folder.
public enum ReportStage {
    /// Writes summary.json and report.html into `runDir`; returns the summary.
    @discardableResult
    public static func run(runDir: String, console: Console = .silent) throws -> RunSummary {
        let layout = RunLayout(dir: URL(fileURLWithPath: runDir))
        let summary = try ReportBuilder(layout: layout).write()
        console.say("wrote \(layout.summary)")
        console.say("report: \(layout.report)")
        return summary
    }
}

/// Gathers a run folder's files into a `RunSummary` and renders `RunReport`.
struct ReportBuilder {
    let layout: RunLayout

    func exists(_ p: String) -> Bool { FileManager.default.fileExists(atPath: p) }

    func collectSummary(_ csv: String) throws -> CollectSummary? {
        let p = CollectSummary.path(for: csv)
        return exists(p) ? try readJSON(CollectSummary.self, from: p) : nil
    }

    func build() throws -> (RunSummary, RunReport) {
        var L = layout
        let cal = try readJSON(CalibrationFile.self, from: L.calibration)
        let info = exists(L.info) ? try readJSON(RunInfo.self, from: L.info) : nil
        L.promptExtension = info?.promptFile ?? "jsonl"
        let format = info?.promptFormat ?? .standard
        func count(_ p: String) -> Int { (try? PromptFile.read(p, format: format).count) ?? 0 }
        let testPrompts = exists(L.testPrompts) ? try PromptFile.read(L.testPrompts, format: format) : []
        var text: [String: String] = [:]
        for p in testPrompts { text[p.id] = p.prompt }

        var budget: [RunSummary.BudgetRow] = []
        var simulated = info?.simulated ?? false
        for (stage, csv) in [("training counts", L.trainCounts), ("calibration", L.calibrationObservations), ("test truth", L.testObservations)] {
            if let s = try collectSummary(csv) {
                budget.append(.init(stage: stage, prompts: s.prompts, planned: s.plannedBudget, spent: s.generationsLogged))
                simulated = simulated || s.simulated
            }
        }

        var training: RunSummary.Training? = nil
        if exists(L.model), let m = try? ModelFile.read(from: URL(fileURLWithPath: L.model)), let r = m.report {
            let form = (try? SurvivalDataFile.read(L.trainCounts).form.rawValue) ?? "?"
            training = .init(form: form, model: m.kind.rawValue, features: m.featurizer["kind"] ?? "?",
                             pooledRate: r.pooledTrainingRate,
                             validationLogLikelihoodPerGeneration: r.selectedValidationLogLikelihoodPerGeneration,
                             constantValidationLogLikelihoodPerGeneration: r.constantValidationLogLikelihoodPerGeneration,
                             selectedEpoch: r.selectedEpoch, epochsRun: r.epochs.count)
            training?.comparisonPrompts = r.comparison?.prompts
            training?.comparisonGainPerGeneration = r.comparison?.gainPerGeneration
            training?.comparisonGainStandardError = r.comparison?.gainStandardError
            let f = m.featurizer
            switch f["kind"] {
            case "embeddings": training?.featureDetail = "model \(f["model"] ?? "?"), \(f["dimension"] ?? "?") dimensions"
                + (f["endpoint"].map { $0.isEmpty ? "" : " from \($0)" } ?? "")
            case "fields": training?.featureDetail = f["names"].map { "fields \($0)" }
            default: break
            }
        }

        let rates = simulated && exists(L.rates) ? try RatesFile.read(L.rates) : nil
        var test: RunSummary.Test? = nil
        var riskiest: [RunSummary.Prompt] = []
        var lpbValues: [Double] = [], lpbPHat: [Double] = []
        if exists(L.lpb) {
            let lpb = try LPBFile.read(L.lpb)
            lpbValues = lpb.lpb
            lpbPHat = lpb.pHat
            var evaluation: TestEvaluation? = nil
            var truth: [String: Observation] = [:]
            if exists(L.testObservations) {
                let obs = try ObservationsFile.read(L.testObservations)
                evaluation = try TestEvaluation.compute(lpb: lpb, lpbPath: L.lpb, truth: obs, truthPath: L.testObservations, trueRates: rates)
                for (id, o) in zip(obs.ids, obs.rows) { truth[id] = o }
            }
            test = .init(n: lpb.ids.count, meanLPB: Evaluation.mean(lpb.lpb), medianLPB: Evaluation.median(lpb.lpb),
                         trivialFraction: Double(lpb.lpb.filter { $0 == 1 }.count) / Double(lpb.lpb.count), evaluation: evaluation)
            let order = lpb.ids.indices.sorted { (lpb.lpb[$0], -lpb.pHat[$0], lpb.ids[$0]) < (lpb.lpb[$1], -lpb.pHat[$1], lpb.ids[$1]) }
            // The first unsafe text of each riskiest prompt, from the test log (when texts were kept).
            let testLog = L.path("test_obs.sqlite")
            let log = exists(testLog) ? try? SampleLog(path: testLog, mustExist: true) : nil
            for i in order.prefix(info?.riskiest ?? 25) {
                let id = lpb.ids[i], o = truth[id]
                let unsafeText = o.flatMap { o in o.event ? try? log?.text(promptID: id, index: o.observed) : nil }
                riskiest.append(.init(id: id, prompt: text[id] ?? "", pHat: lpb.pHat[i], lpb: lpb.lpb[i], cap: o?.cap,
                                      observed: o?.observed, event: o?.event, trueRate: rates?[id], firstUnsafeText: unsafeText))
            }
        }

        var calibration = RunSummary.Calibration(
            alpha: cal.alpha, guarantee: cal.guarantee, delta: cal.delta, bound: cal.bound, strategy: cal.strategy.rawValue,
            budgetPerPrompt: cal.budget, boundCap: cal.boundCap, tauHat: cal.tauHat, tauIndex: cal.tauIndex,
            miscoverageEstimate: cal.miscoverageEstimate, miscoverageUpperBound: cal.miscoverageUpperBound, n: cal.n,
            sampledPrompts: cal.sampledPrompts, meanGenerations: cal.meanGenerations)
        calibration.margin = cal.margin
        calibration.standardError = cal.standardError
        if exists(PlanFile.settingsPath(for: L.plan)) {
            /// plan.json's weight_choice alone (the plan's rows are not needed here).
            struct ChoiceOnly: Decodable {
                var weightChoice: WeightChoice?
                enum CodingKeys: String, CodingKey { case weightChoice = "weight_choice" }
            }
            calibration.maxWeightChoice = try readJSON(ChoiceOnly.self, from: PlanFile.settingsPath(for: L.plan)).weightChoice?.reason
        }
        let statement = (simulated ? "SIMULATED: " : "") + cal.statement
        var summary = RunSummary(
            simulated: simulated, title: info?.title ?? "ttu run", generator: info?.generator ?? (simulated ? "simulated" : "?"),
            model: info?.model, rater: info?.rater ?? "?", statement: statement, calibration: calibration,
            prompts: .init(train: count(L.trainPrompts), calibration: cal.n, test: testPrompts.count),
            training: training, budget: budget, test: test, riskiest: riskiest)
        summary.setting = info?.setting
        summary.atCap = atCap(cal, lpbValues: lpbValues, pHat: lpbPHat)
        return (summary, RunReport(summary: summary, taus: cal.tauGrid.taus, miscoverage: cal.miscoverageCurve, testLPB: lpbValues))
    }

    /// Test bounds sitting at the bound cap M and the median of their uncapped Q(τ̂; p̂).
    func atCap(_ cal: CalibrationFile, lpbValues: [Double], pHat: [Double]) -> RunSummary.AtCap? {
        let m = cal.boundCap
        guard m.isFinite, let tau = cal.tauHat, !lpbValues.isEmpty else { return nil }
        let capped = lpbValues.indices.filter { lpbValues[$0] >= m }
        guard !capped.isEmpty else { return RunSummary.AtCap(cap: m, count: 0, of: lpbValues.count, medianUncapped: m) }
        let uncapped = capped.map { Geometric.quantile(tau, p: pHat[$0]) }
        return RunSummary.AtCap(cap: m, count: capped.count, of: lpbValues.count, medianUncapped: Evaluation.median(uncapped))
    }

    /// Writes summary.json and report.html; returns the summary.
    func write() throws -> RunSummary {
        let (summary, report) = try build()
        try writeAtomically(try encodeJSON(summary, snakeCaseKeys: true), to: layout.summary)
        try writeAtomically(report.html(), to: layout.report)
        return summary
    }
}
