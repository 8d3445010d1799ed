import ArgumentParser
import TTUPipeline

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce the paper's synthetic experiment end to end (docs/method.md §6). All data simulated.",
        discussion: """
        Builds the synthetic population (known p), trains the paper's MLP on
        500 simulated generations per training prompt, then for each strategy ×
        budget × repetition plans the calibration, draws the calibration
        observations from the true p, calibrates, bounds the test prompts and
        scores their exact coverage (1 − p)^(L − 1). Writes DIR/simulate.csv
        (one row per calibration) and DIR/simulate.html (the paper's three
        panels as inline SVG). The table goes to stdout, progress to stderr.
        """)

    @Option(help: "Synthetic prompts (10% test, the rest half training, half calibration).") var n = 100_000
    @Option(help: "Comma-separated budgets B (default: the paper's 10, 1120, …, 10000).")
    var budgets = CalibrationStudy.paperBudgets.map { Num.format($0) }.joined(separator: ",")
    @Option(help: "Repetitions of the calibration draw per strategy and budget.") var reps = 20
    @Option(help: "Comma-separated strategies: naive, basic, trimmed, optimized (the paper's, the default) and adaptive.")
    var strategies = AllocationStrategy.paper.map(\.rawValue).joined(separator: ",")
    @Option(help: "α: allowed miscoverage.") var alpha = 0.1
    @OptionGroup(title: "Guarantee") var guarantee: GuaranteeOptions
    @Option(name: .customLong("max-weight"), help: "W: largest inverse-probability weight, or auto (chosen from each repetition's p̂ as ttu plan does).")
    var maxWeight = MaxWeightChoice.fixed(100)
    @Option(name: .customLong("calibration-size"), help: "Calibration prompts per repetition, drawn anew each repetition (default: all of the calibration half, 45,000 at --n 100000).")
    var calibrationSize: Int?
    @Option(help: "mlp (the paper's) or oracle (a noisy oracle p̂ = p·e^{σZ}: calibration judged apart from training).")
    var predictor: SimulateStage.Settings.Predictor = .mlp
    @Option(help: "oracle: σ of the noise on log p.") var sigma = 0.5
    @Option(name: .customLong("tau-grid"), help: "Candidate levels: paper (300 on [1e-3, 10^-0.75]) or auto (as ttu plan: from each repetition's p̂, M and B).")
    var tauGrid = "paper"
    @Option(help: "Training epochs of the MLP (the paper: 10).") var epochs = 10
    @Flag(name: .customLong("save-predictions"), help: "Also write p̂ and the true p of the calibration and test prompts (simulated), to run plan/calibrate/bound on them by hand.")
    var savePredictions = false
    @Flag(help: "Compare strategies on the same data, seeds and budgets, under both guarantees (default strategies: optimized, trimmed, adaptive). Writes DIR/compare.csv.")
    var compare = false
    @Flag(name: .customLong("adaptive-worst-case"), help: "adaptive: allocate the final stage by worst-case cost (the cap) instead of expected cost.")
    var adaptiveWorstCase = false
    @Option(help: "Seed of every draw (population, noise, training, calibration).") var seed: UInt64 = 1
    @Option(help: "Output folder.") var out = "out/simulate"

    func validate() throws { try validating { try settings().validate() } }

    func settings() throws -> SimulateStage.Settings {
        var s = SimulateStage.Settings()
        let b = budgets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard b.allSatisfy({ $0 != nil }) else { throw SettingError("budgets", "'\(budgets)' is not comma-separated numbers") }
        s.budgets = b.map { $0! }
        s.strategies = try SettingParse.names(strategies).map {
            guard let st = AllocationStrategy(rawValue: $0) else {
                throw SettingError("strategies", "unknown strategy '\($0)' (choose from \(AllocationStrategy.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return st
        }
        (s.n, s.reps, s.alpha, s.guarantee, s.maxWeight, s.epochs) = (n, reps, alpha, simulateGuarantee, nil, epochs)
        (s.savePredictions, s.adaptiveWorstCase, s.seed, s.out) = (savePredictions, adaptiveWorstCase, seed, out)
        (s.maxWeight, s.calibrationSize, s.predictor, s.sigma) = (maxWeight.value, calibrationSize, predictor, sigma)
        guard tauGrid == "paper" || tauGrid == "auto" else { throw SettingError("tau_grid", "'\(tauGrid)' is neither paper nor auto") }
        s.autoGrid = tauGrid == "auto"
        return s
    }

    /// simulate's guarantee: the paper's marginal rule unless --guarantee says otherwise.
    var simulateGuarantee: GuaranteeSettings {
        var g = guarantee.settings
        if guarantee.guarantee == nil { g.kind = .marginal }
        return g
    }

    func run() throws {
        let s = try settings()
        if compare { try SimulateStage.compare(s, console: .cli(), table: Terminal.out) } else {
            try SimulateStage.run(s, console: .cli(), table: Terminal.out)
        }
    }
}
extension SimulateStage.Settings.Predictor: ExpressibleByArgument {}
