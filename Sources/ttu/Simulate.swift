import ArgumentParser
import Foundation
import TTUCore
import TTUModel
import TTUFiles
import TTUReport

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce the paper's synthetic experiment (METHOD §6) end to end. All data simulated.",
        discussion: """
        Builds the synthetic population (known p), trains the paper's MLP on 500 simulated
        generations per training prompt, then for each strategy × budget × repetition plans
        the calibration, draws the calibration observations from the true p, calibrates,
        bounds the test prompts and scores their exact coverage (1 − p)^(L − 1).
        Writes DIR/simulate.csv (one row per calibration) and DIR/simulate.html (the paper's
        three panels as inline SVG).
        """)

    @Option(help: "Number of synthetic prompts (10% test, the rest half training, half calibration).") var n: Int = 100_000
    @Option(help: "Comma-separated budgets B (default: the paper's 10, 1120, …, 10000).")
    var budgets: String = CalibrationStudy.paperBudgets.map { Num.format($0) }.joined(separator: ",")
    @Option(help: "Repetitions of the calibration draw per strategy and budget.") var reps: Int = 20
    @Option(help: "Comma-separated strategies: naive, basic, trimmed, optimized (the paper's, the default) and adaptive (two-stage, beyond the paper).")
    var strategies: String = AllocationStrategy.paper.map(\.rawValue).joined(separator: ",")
    @Option(help: "α: allowed miscoverage.") var alpha: Double = 0.1
    @Option(help: "marginal or pac.") var guarantee: Calibrate.GuaranteeKind = .marginal
    @Option(help: "δ for pac.") var delta: Double = 0.05
    @Option(help: "Concentration bound for pac: hoeffding, bernstein or betting.") var bound: ConcentrationBound = .bernstein
    @Option(name: .customLong("max-weight"), help: "W: largest inverse-probability weight.") var maxWeight: Double = 100
    @Option(help: "Training epochs of the MLP (the paper: 10).") var epochs: Int = 10
    @Flag(name: .customLong("save-predictions"), help: "Also write the predictor's p_hat and the true p of the calibration and test prompts (DIR/predictions_{calibration,test}.csv, DIR/true_rates_{calibration,test}.csv), to run plan/calibrate/bound on them by hand. Simulated.")
    var savePredictions = false
    @Flag(help: "Compare strategies on the same data, seeds and budgets: each strategy's mean LPB divided by optimized's, coverage mean and sd, generations drawn, under the marginal and the PAC guarantee (--bound, --delta). Default strategies: optimized, trimmed, adaptive. Writes DIR/compare.csv.")
    var compare = false
    @Flag(name: .customLong("adaptive-worst-case"), help: "adaptive: allocate the final stage by worst-case cost (the cap) instead of expected cost.")
    var adaptiveWorstCase = false
    @Option(help: "Seed of every draw (population, noise, training, calibration).") var seed: UInt64 = 1
    @Option(help: "Output folder.") var out: String = "out/simulate"

    func validate() throws {
        guard n >= 100 else { throw ValidationError("--n must be at least 100") }
        guard reps >= 1 else { throw ValidationError("--reps must be at least 1") }
        guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1), got \(alpha)") }
        guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1), got \(delta)") }
        _ = try parsedBudgets()
        _ = try parsedStrategies()
    }

    func parsedBudgets() throws -> [Double] {
        let b = budgets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !b.isEmpty, b.allSatisfy({ $0 != nil && $0! > 0 && $0!.isFinite }) else {
            throw ValidationError("--budgets must be comma-separated positive numbers, got '\(budgets)'")
        }
        return b.map { $0! }
    }

    func parsedStrategies() throws -> [AllocationStrategy] {
        try strategies.split(separator: ",").map {
            let s = $0.trimmingCharacters(in: .whitespaces)
            guard let st = AllocationStrategy(rawValue: s) else {
                throw ValidationError("--strategies: unknown strategy '\(s)' (choose from \(AllocationStrategy.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return st
        }
    }

    func run() throws {
        if compare { return try runComparison() }
        try runStage {
            var clock = Stopwatch()
            let g: Guarantee = guarantee == .marginal ? .marginal : .pac(delta: delta, bound: bound)
            let setup = try SyntheticSetup.make(n: n, seed: seed, trainGenerations: 500, epochs: epochs)
            let last = setup.trainingReport.epochs.last
            log("[simulated] \(n) prompts: \(setup.split.train.count) training, \(setup.split.calibration.count) calibration, \(setup.split.test.count) test")
            log("trained MLP 4×32 in \(Num.fixed(setup.seconds.training, 1)) s (\(setup.trainingReport.steps) AdamW steps; final training loss \(Num.fixed(last?.trainLoss ?? .nan, 5)))")
            var settings = CalibrationStudy.Settings(strategies: try parsedStrategies(), budgets: try parsedBudgets(),
                                                     repetitions: reps, alpha: alpha, guarantee: g, maxWeight: maxWeight,
                                                     tauGrid: .default, seed: seed)
            settings.twoStage.byExpectedCost = !adaptiveWorstCase
            _ = clock.lap()
            let rows = try setup.study.run(settings)
            let tCal = clock.lap()
            log("\(rows.count) calibrations in \(Num.fixed(tCal, 1)) s")
            let unc = setup.study.uncalibrated(alpha: alpha)
            let cells = StudyCell.aggregate(rows, alpha: alpha)

            var csv = CSVWriter(columns: ["strategy", "budget", "rep", "coverage", "mean_lpb", "median_lpb", "mean_generations", "tau_hat",
                                          "mean_cap", "tau_index", "max_weight"])
            for r in rows {
                csv.row([r.strategy.rawValue, Num.format(r.budget), String(r.rep), Num.format(r.coverage), Num.format(r.meanLPB),
                         Num.format(r.medianLPB), Num.format(r.meanGenerations), Num.format(r.tauHat), Num.format(r.meanCap), String(r.tauIndex), Num.format(r.maxWeight)])
            }
            let gText = guarantee == .marginal ? "marginal" : "PAC (\(bound.rawValue), δ = \(delta))"
            let report = SimulationReport(
                title: "ttu simulate — the paper's synthetic experiment (simulated)",
                settingsLines: ["\(n) simulated prompts, seed \(seed); α = \(alpha), \(gText) guarantee; W = \(Num.format(maxWeight)); \(reps) repetitions per strategy and budget",
                                "predictor: MLP 4×32 ReLU, AdamW lr 1e-4, wd 1e-5, batch 100, \(epochs) epochs on 500 simulated generations per training prompt",
                                "candidate grid: 300 levels log-spaced on [1e-3, 10^-0.75]"],
                cells: cells, alpha: alpha, uncalibratedCoverage: unc.coverage, uncalibratedLPB: unc.meanLPB)
            try csv.write(to: out + "/simulate.csv")
            if savePredictions {
                let st = setup.study
                for (name, rows, pHat, p) in [("calibration", setup.split.calibration, st.calibrationPHat, st.calibrationP),
                                              ("test", setup.split.test, st.testPHat, st.testP)] {
                    let ids = rows.map { "s\($0)" }
                    try Predictions(ids: ids, pHat: pHat).write(to: out + "/predictions_\(name).csv")
                    var w = CSVWriter(columns: ["id", "p"])
                    for k in ids.indices { w.row([ids[k], Num.format(p[k])]) }
                    try w.write(to: out + "/true_rates_\(name).csv")
                }
            }
            try writeAtomically(report.html(), to: out + "/simulate.html")

            print("ttu simulate — SIMULATED data (METHOD §6), α = \(alpha), \(gText), \(reps) reps")
            print(pad("strategy", 10) + pad("budget", 8, right: true) + pad("coverage mean ± sd", 22, right: true)
                + pad("P(cov<1-α)", 12, right: true) + pad("mean LPB", 12, right: true) + pad("gen drawn", 11, right: true)
                + pad("planned", 10, right: true))
            for c in cells {
                print(pad(c.strategy.rawValue, 10) + pad(Num.format(c.budget), 8, right: true)
                    + pad("\(Num.fixed(c.coverageMean, 4)) ± \(Num.fixed(c.coverageSD, 4))", 22, right: true)
                    + pad(Num.fixed(c.belowTarget, 2), 12, right: true)
                    + pad(Num.fixed(c.lpbMean, 1), 12, right: true) + pad(Num.fixed(c.generationsMean, 1), 11, right: true)
                    + pad(Num.fixed(c.capMean, 1), 10, right: true))
            }
            print("uncalibrated L = Q(α; p̂): coverage \(Num.fixed(unc.coverage, 4)), mean LPB \(Num.fixed(unc.meanLPB, 1))")
            print("wrote \(out)/simulate.csv and \(out)/simulate.html")
        }
    }
}

func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
    let n = s.count
    if n >= w { return right ? " " + s : s + " " }
    let sp = String(repeating: " ", count: w - n)
    return right ? sp + s : s + sp
}

/// Progress and timing go to stderr so stdout stays the result.
func log(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

extension Simulate {
    /// `--compare`: the same population, predictor, seeds and latent first-unsafe times for
    /// every strategy (common random numbers), under both guarantees.
    func runComparison() throws {
        try runStage {
            let setup = try SyntheticSetup.make(n: n, seed: seed, trainGenerations: 500, epochs: epochs)
            var chosen = try parsedStrategies()
            if strategies == AllocationStrategy.paper.map(\.rawValue).joined(separator: ",") { chosen = [.optimized, .trimmed, .adaptive] }
            if !chosen.contains(.optimized) { chosen.insert(.optimized, at: 0) }
            var csv = CSVWriter(columns: ["guarantee", "strategy", "budget", "reps", "coverage_mean", "coverage_sd", "below_target",
                                          "mean_lpb", "lpb_ratio_to_optimized", "mean_generations", "mean_generations_optimized"])
            print("ttu simulate --compare — SIMULATED data (METHOD §6), α = \(alpha), \(reps) reps, same seeds for every strategy")
            for g in [Guarantee.marginal, .pac(delta: delta, bound: bound)] {
                var settings = CalibrationStudy.Settings(strategies: chosen, budgets: try parsedBudgets(), repetitions: reps, alpha: alpha,
                                                         guarantee: g, maxWeight: maxWeight, tauGrid: .default, seed: seed)
                settings.twoStage.byExpectedCost = !adaptiveWorstCase
                let cells = StudyCell.aggregate(try setup.study.run(settings), alpha: alpha)
                let label = g == .marginal ? "marginal" : "pac (\(bound.rawValue), δ = \(delta))"
                print("\n\(label)" + (g == .marginal ? "" : "; optimized uses its i.i.d. variant (λ fitted on the training prompts)"))
                print(pad("strategy", 10) + pad("budget", 8, right: true) + pad("coverage mean ± sd", 22, right: true)
                    + pad("P(cov<1-α)", 12, right: true) + pad("mean LPB", 11, right: true) + pad("× optimized", 13, right: true)
                    + pad("gen drawn", 11, right: true) + pad("(optimized)", 12, right: true))
                for c in cells {
                    guard let ref = cells.first(where: { $0.strategy == .optimized && $0.budget == c.budget }) else { continue }
                    let ratio = c.lpbMean / ref.lpbMean
                    print(pad(c.strategy.rawValue, 10) + pad(Num.format(c.budget), 8, right: true)
                        + pad("\(Num.fixed(c.coverageMean, 4)) ± \(Num.fixed(c.coverageSD, 4))", 22, right: true)
                        + pad(Num.fixed(c.belowTarget, 2), 12, right: true) + pad(Num.fixed(c.lpbMean, 1), 11, right: true)
                        + pad(Num.fixed(ratio, 2), 13, right: true) + pad(Num.fixed(c.generationsMean, 1), 11, right: true)
                        + pad(Num.fixed(ref.generationsMean, 1), 12, right: true))
                    csv.row([g.name, c.strategy.rawValue, Num.format(c.budget), String(c.reps), Num.format(c.coverageMean),
                             Num.format(c.coverageSD), Num.format(c.belowTarget), Num.format(c.lpbMean), Num.format(ratio),
                             Num.format(c.generationsMean), Num.format(ref.generationsMean)])
                }
            }
            try csv.write(to: out + "/compare.csv")
            print("\nwrote \(out)/compare.csv")
        }
    }
}
