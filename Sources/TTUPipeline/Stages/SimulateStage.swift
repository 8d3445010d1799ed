import Foundation
import TTUCore
import TTUFiles
import TTUReport

/// The paper's synthetic experiment end to end (docs/method.md §6). All data simulated:
/// population with known p, the paper's MLP on 500 simulated generations per training
/// prompt, then per strategy × budget × repetition: plan, draw, calibrate, bound the test
/// prompts and score their exact coverage (1 − p)^(L − 1).
public enum SimulateStage {
    public struct Settings: Sendable {
        /// Synthetic prompts (10% test, the rest half training, half calibration).
        public var n = 100_000
        public var budgets = CalibrationStudy.paperBudgets
        public var reps = 20
        public var strategies = AllocationStrategy.paper
        public var alpha = 0.1
        /// The paper's rule by default, so the paper's figure is reproduced as it was;
        /// `corrected` is ttu calibrate's default.
        public var guarantee: GuaranteeSettings = { var g = GuaranteeSettings(); g.kind = .marginal; return g }()
        /// W; nil = auto (chosen from each repetition's p̂, as ttu plan does by default).
        public var maxWeight: Double? = 100.0
        /// Candidate levels: the paper's grid by default, or auto (from each repetition's p̂ and M).
        public var autoGrid = false
        /// Calibration prompts per repetition, drawn anew each repetition from the
        /// calibration half; nil = all of it (the paper's 45,000 at n = 100,000).
        public var calibrationSize: Int?
        /// The predictor: the paper's MLP, or a noisy oracle p̂ = p·e^{σZ} (`sigma`).
        public enum Predictor: String, CaseIterable, Sendable { case mlp, oracle }
        public var predictor = Predictor.mlp
        /// oracle: σ of the log-normal noise on p.
        public var sigma = 0.5
        /// MLP training epochs (the paper: 10).
        public var epochs = 10
        /// Also write p̂ and the true p of the calibration and test prompts.
        public var savePredictions = false
        /// adaptive: allocate the final stage by worst-case cost instead of expected cost.
        public var adaptiveWorstCase = false
        public var seed: UInt64 = 1
        public var out = "out/simulate"
        public init() {}

        var strategiesAreDefault: Bool { strategies == AllocationStrategy.paper }

        /// The study's settings for these strategies and guarantee.
        func studySettings(strategies: [AllocationStrategy], guarantee g: Guarantee) -> CalibrationStudy.Settings {
            var st = CalibrationStudy.Settings(strategies: strategies, budgets: budgets, repetitions: reps, alpha: alpha,
                                               guarantee: g, maxWeight: maxWeight ?? PlanStage.Settings.fallbackMaxWeight,
                                               tauGrid: .default, seed: seed)
            st.twoStage.byExpectedCost = !adaptiveWorstCase
            st.calibrationSize = calibrationSize
            st.autoMaxWeight = maxWeight == nil
            st.autoGrid = autoGrid
            return st
        }

        func calibrationLine(_ setup: SyntheticSetup) -> String {
            calibrationSize.map { "\($0) calibration prompts per repetition (drawn anew from \(setup.split.calibration.count))" }
                ?? "\(setup.split.calibration.count) calibration prompts"
        }

        var weightLine: String { maxWeight.map { "W = \(Num.format($0))" } ?? "W auto (chosen from each repetition's p̂)" }

        var predictorLine: String {
            switch predictor {
            case .mlp: return "predictor: MLP 4×32 ReLU, AdamW lr 1e-4, wd 1e-5, batch 100, \(epochs) epochs on 500 simulated generations per training prompt"
            case .oracle: return "predictor: noisy oracle p̂ = p·e^{σZ}, σ = \(Num.format(sigma)) (no training: calibration judged apart from the predictor)"
            }
        }

        public func validate() throws {
            if n < 100 { throw SettingError("n", "must be at least 100") }
            if reps < 1 { throw SettingError("reps", "must be at least 1") }
            if budgets.isEmpty || !budgets.allSatisfy({ $0 > 0 && $0.isFinite }) { throw SettingError("budgets", "must be positive numbers") }
            if strategies.isEmpty { throw SettingError("strategies", "name at least one strategy") }
            try validateAlpha(alpha, key: "alpha")
            try guarantee.validate()
            if let w = maxWeight, !(w >= 1) { throw SettingError("max_weight", "must be auto or ≥ 1") }
            if let c = calibrationSize, c < 10 { throw SettingError("calibration_size", "must be at least 10") }
            if !(sigma.isFinite && sigma >= 0) { throw SettingError("sigma", "must be a number ≥ 0") }
        }
    }

    /// One run: a table on `table` (stdout in the CLI), progress on the console, and
    /// simulate.csv and simulate.html in `out`.
    public static func run(_ s: Settings, console: Console = .silent, table: (String) -> Void) throws {
        try s.validate()
        try FileManager.default.createDirectory(atPath: s.out, withIntermediateDirectories: true)
        var clock = Stopwatch()
        let g = s.guarantee.guarantee
        let setup = try makeSetup(s, console: console)
        let settings = s.studySettings(strategies: s.strategies, guarantee: g)
        _ = clock.lap()
        let rows = try setup.study.run(settings)
        let tCal = clock.lap()
        console.say("\(rows.count) calibrations in \(Num.fixed(tCal, 1)) s")
        let unc = setup.study.uncalibrated(alpha: s.alpha)
        let oracle = setup.study.oracle(alpha: s.alpha, grid: settings.tauGrid)
        let cells = StudyCell.aggregate(rows, alpha: s.alpha)

        var csv = CSVWriter(columns: ["strategy", "budget", "rep", "coverage", "mean_lpb", "median_lpb", "mean_generations", "tau_hat",
                                      "mean_cap", "tau_index", "max_weight", "oracle_mean_lpb", "fraction_of_oracle"])
        for r in rows {
            csv.row([r.strategy.rawValue, Num.format(r.budget), String(r.rep), Num.format(r.coverage), Num.format(r.meanLPB),
                     Num.format(r.medianLPB), Num.format(r.meanGenerations), Num.format(r.tauHat), Num.format(r.meanCap), String(r.tauIndex), Num.format(r.maxWeight),
                     Num.format(oracle.meanLPB), Num.format(r.meanLPB / oracle.meanLPB)])
        }
        let gText = s.guarantee.label
        let report = SimulationReport(
            title: "ttu simulate — the paper's synthetic experiment (simulated)",
            settingsLines: ["\(s.n) simulated prompts, seed \(s.seed); \(s.calibrationLine(setup)); α = \(s.alpha), \(gText) guarantee; \(s.weightLine); \(s.reps) repetitions per strategy and budget",
                            s.predictorLine,
                            s.autoGrid ? "candidate grid: auto (300 levels from 1e-3, top chosen from each repetition's p̂, M and B)" : "candidate grid: 300 levels log-spaced on [1e-3, 10^-0.75]"],
            cells: cells, alpha: s.alpha, uncalibratedCoverage: unc.coverage, uncalibratedLPB: unc.meanLPB, oracle: oracle)
        try csv.write(to: s.out + "/simulate.csv")
        if s.savePredictions { try savePredictions(setup, out: s.out) }
        try writeAtomically(report.html(), to: s.out + "/simulate.html")

        table("ttu simulate — SIMULATED data (docs/method.md §6), α = \(s.alpha), \(gText), \(s.reps) reps, \(s.calibrationLine(setup)), \(s.weightLine)")
        if let w = predictorWarning(setup, s) { table(w) }
        table(TextTable.pad("strategy", 10) + TextTable.pad("budget", 8, right: true) + TextTable.pad("coverage mean ± sd", 22, right: true)
            + TextTable.pad("P(cov<1-α)", 12, right: true) + TextTable.pad("mean LPB", 12, right: true) + TextTable.pad("× oracle", 10, right: true)
            + TextTable.pad("gen drawn", 11, right: true) + TextTable.pad("planned", 10, right: true))
        for c in cells {
            table(TextTable.pad(c.strategy.rawValue, 10) + TextTable.pad(Num.format(c.budget), 8, right: true)
                + TextTable.pad("\(Num.fixed(c.coverageMean, 4)) ± \(Num.fixed(c.coverageSD, 4))", 22, right: true)
                + TextTable.pad(Num.fixed(c.belowTarget, 2), 12, right: true)
                + TextTable.pad(Num.fixed(c.meanLPB, 1), 12, right: true) + TextTable.pad(Num.fixed(c.meanLPB / oracle.meanLPB, 3), 10, right: true)
                + TextTable.pad(Num.fixed(c.generationsMean, 1), 11, right: true) + TextTable.pad(Num.fixed(c.capMean, 1), 10, right: true))
        }
        if let note = fallbackNote(rows, settings.twoStage) { table(note) }
        if let note = gridTopNote(rows, gridCount: settings.tauGrid.count, auto: s.autoGrid) { table(note) }
        table("uncalibrated L = Q(α; p̂): coverage \(Num.fixed(unc.coverage, 4)), mean LPB \(Num.fixed(unc.meanLPB, 1))")
        table(oracleLine(oracle, gridCount: settings.tauGrid.count))
        table("wrote \(s.out)/simulate.csv and \(s.out)/simulate.html" + (s.savePredictions ? " (and the predictions and true rates)" : ""))
    }

    /// The population, split and predictor of a run: the paper's MLP, or the noisy oracle.
    static func makeSetup(_ s: Settings, console: Console) throws -> SyntheticSetup {
        let setup: SyntheticSetup
        switch s.predictor {
        case .mlp:
            setup = try SyntheticSetup.make(n: s.n, seed: s.seed, trainGenerations: 500, epochs: s.epochs)
        case .oracle:
            setup = SyntheticSetup.makeNoisyOracle(n: s.n, seed: s.seed, sigma: s.sigma)
        }
        console.say("[simulated] \(s.n) prompts: \(setup.split.train.count) training, \(setup.split.calibration.count) calibration, \(setup.split.test.count) test")
        if s.predictor == .mlp {
            let last = setup.trainingReport?.epochs.last
            console.say("trained MLP 4×32 in \(Num.fixed(setup.seconds.training, 1)) s (\(setup.trainingReport?.steps ?? 0) AdamW steps; final training loss \(Num.fixed(last?.trainLoss ?? .nan, 5)))")
        }
        if let w = predictorWarning(setup, s) { console.say(w) }
        return setup
    }

    /// A warning when the predictor is no better than a constant: then every bound is
    /// about the same, and the oracle level sits wherever the constant puts it.
    static func predictorWarning(_ setup: SyntheticSetup, _ s: Settings) -> String? {
        guard s.predictor == .mlp else { return nil }
        let (gain, constant) = setup.gainOverConstant()
        guard gain <= 0.01 * abs(constant * log(constant) + (1 - constant) * log1p(-constant)) else { return nil }
        let versus = gain < 0 ? "\(Num.sig(-gain, 3)) below" : "only \(Num.sig(gain, 3)) above (under 1% of its magnitude)"
        return "warning: the trained MLP is no better than a constant on the test prompts (its expected log-likelihood per generation is "
            + "\(versus) the constant p̄ = \(Num.sig(constant, 3))'s): with \(setup.split.train.count) training prompts "
            + "it did not learn, so its bounds say little about calibration — add --predictor oracle --sigma 0.5 to judge calibration apart from training"
    }

    /// A warning when the grid's top level was selected in most repetitions of a cell: the
    /// grid, not the calibration data, then limits the bounds (and coverage sits above 1 − α).
    static func gridTopNote(_ rows: [CalibrationStudy.Row], gridCount: Int, auto: Bool) -> String? {
        let cells = Dictionary(grouping: rows) { "\($0.strategy.rawValue) at B = \(Num.format($0.budget))" }
        let hit = cells.filter { _, rs in 2 * rs.filter { $0.tauIndex == gridCount - 1 }.count > rs.count }.keys.sorted()
        guard !hit.isEmpty else { return nil }
        return "warning: the grid's top level was selected in most repetitions of \(hit.joined(separator: ", ")): the grid, not the data, "
            + "limits those bounds (their coverage sits above 1 − α)" + (auto ? "" : " — try --tau-grid auto")
    }

    /// The oracle's line of the tables (docs/method.md §5).
    /// Where `adaptive` fell back to `optimized` (its rows there are optimized's), if anywhere.
    static func fallbackNote(_ rows: [CalibrationStudy.Row], _ twoStage: TwoStage.Settings) -> String? {
        let budgets = CalibrationStudy.fallbackBudgets(rows)
        guard !budgets.isEmpty else { return nil }
        return "adaptive fell back to optimized at B = \(budgets.map { Num.format($0) }.joined(separator: ", ")): "
            + "its pilot would expect fewer than \(Num.format(twoStage.minPilotMisses)) miscovered prompts (docs/method.md §3)"
    }

    static func oracleLine(_ o: OracleLevel, gridCount: Int) -> String {
        let level = o.tauHat.map { "level \(o.tauIndex + 1) of \(gridCount), τ = \(Num.sig($0, 5))" } ?? "no level (bound 1)"
        return "oracle (true p of the test prompts, no bound cap M): \(level), coverage \(Num.fixed(o.coverage, 4)), mean LPB \(Num.fixed(o.meanLPB, 1))"
            + (o.nextMiscoverage.map { "; the next level would cover \(Num.fixed(1 - $0, 4))" } ?? "")
    }

    /// p̂ and the true p of the calibration and test prompts (`--save-predictions`).
    static func savePredictions(_ setup: SyntheticSetup, out: String) throws {
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

    /// The strategies compared on the same population, predictor, seeds and latent
    /// first-unsafe times (common random numbers), under both guarantees: compare.csv.
    public static func compare(_ s: Settings, console: Console = .silent, table: (String) -> Void) throws {
        try s.validate()
        try FileManager.default.createDirectory(atPath: s.out, withIntermediateDirectories: true)
        let setup = try makeSetup(s, console: console)
        var chosen = s.strategies
        if s.strategiesAreDefault { chosen = [.optimized, .trimmed, .adaptive] }
        if !chosen.contains(.optimized) { chosen.insert(.optimized, at: 0) }
        let oracle = setup.study.oracle(alpha: s.alpha, grid: .default)
        var csv = CSVWriter(columns: ["guarantee", "strategy", "budget", "reps", "coverage_mean", "coverage_sd", "below_target",
                                      "mean_lpb", "lpb_ratio_to_optimized", "mean_generations", "mean_generations_optimized",
                                      "oracle_mean_lpb", "fraction_of_oracle", "lpb_ratio_at_equal_generations"])
        table("ttu simulate --compare — SIMULATED data (docs/method.md §6), α = \(s.alpha), \(s.reps) reps, same seeds for every strategy")
        table(oracleLine(oracle, gridCount: TauGrid.default.count))
        var fellBack: String?
        for g in [Guarantee.marginal, .pac(delta: s.guarantee.delta, bound: s.guarantee.inequality)] {
            let settings = s.studySettings(strategies: chosen, guarantee: g)
            let rows = try setup.study.run(settings)
            let cells = StudyCell.aggregate(rows, alpha: s.alpha)
            if g == .marginal { fellBack = fallbackNote(rows, settings.twoStage) }
            // optimized's mean bound against its generations drawn, one point per budget.
            let optimizedCurve = cells.filter { $0.strategy == .optimized }.map { (generations: $0.generationsMean, meanLPB: $0.meanLPB) }
            let label = g == .marginal ? "marginal" : "pac (\(s.guarantee.inequality.rawValue), δ = \(s.guarantee.delta))"
            table("\n\(label)" + (g == .marginal ? "" : "; optimized uses its i.i.d. variant (λ fitted on the training prompts)"))
            table(TextTable.pad("strategy", 10) + TextTable.pad("budget", 8, right: true) + TextTable.pad("coverage mean ± sd", 22, right: true)
                + TextTable.pad("P(cov<1-α)", 12, right: true) + TextTable.pad("mean LPB", 11, right: true) + TextTable.pad("× optimized", 13, right: true)
                + TextTable.pad("gen drawn", 11, right: true) + TextTable.pad("(optimized)", 12, right: true)
                + TextTable.pad("× oracle", 10, right: true) + TextTable.pad("× opt. at equal gen", 21, right: true))
            for c in cells {
                guard let ref = cells.first(where: { $0.strategy == .optimized && $0.budget == c.budget }) else { continue }
                let ratio = c.meanLPB / ref.meanLPB
                let fraction = c.meanLPB / oracle.meanLPB
                let atEqual = EqualSpend.interpolate(at: c.generationsMean, curve: optimizedCurve).map { c.meanLPB / $0 }
                table(TextTable.pad(c.strategy.rawValue, 10) + TextTable.pad(Num.format(c.budget), 8, right: true)
                    + TextTable.pad("\(Num.fixed(c.coverageMean, 4)) ± \(Num.fixed(c.coverageSD, 4))", 22, right: true)
                    + TextTable.pad(Num.fixed(c.belowTarget, 2), 12, right: true) + TextTable.pad(Num.fixed(c.meanLPB, 1), 11, right: true)
                    + TextTable.pad(Num.fixed(ratio, 2), 13, right: true) + TextTable.pad(Num.fixed(c.generationsMean, 1), 11, right: true)
                    + TextTable.pad(Num.fixed(ref.generationsMean, 1), 12, right: true)
                    + TextTable.pad(Num.fixed(fraction, 3), 10, right: true) + TextTable.pad(atEqual.map { Num.fixed($0, 2) } ?? "—", 21, right: true))
                csv.row([g.name, c.strategy.rawValue, Num.format(c.budget), String(c.reps), Num.format(c.coverageMean),
                         Num.format(c.coverageSD), Num.format(c.belowTarget), Num.format(c.meanLPB), Num.format(ratio),
                         Num.format(c.generationsMean), Num.format(ref.generationsMean),
                         Num.format(oracle.meanLPB), Num.format(fraction), Num.format(atEqual)])
            }
        }
        if let note = fellBack { table("\n" + note) }
        try csv.write(to: s.out + "/compare.csv")
        if s.savePredictions { try savePredictions(setup, out: s.out) }
        table("\n× oracle: mean LPB / the oracle's; × opt. at equal gen: mean LPB / optimized's mean LPB at the same generations drawn "
            + "(log-log interpolation between optimized's budgets; — outside the range optimized draws)")
        table("wrote \(s.out)/compare.csv" + (s.savePredictions ? " and the predictions and true rates" : ""))
    }
}
