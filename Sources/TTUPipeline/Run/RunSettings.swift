import Foundation
import TTUCore
import TTUFiles

/// Everything `ttu run` needs, as the stages' own settings types: the run config (YAML) is
/// decoded into these, and a Swift program can build them directly.
public struct RunSettings: Sendable {
    public struct Split: Sendable, Equatable, Codable {
        public var train = 0.4, calibration = 0.4, test = 0.2
    }

    /// The prompt file: JSONL, or CSV (by its name).
    public var prompts: String
    /// Where its records keep prompt and id (`prompt_field`, `id_field`).
    public var promptFormat = PromptFormat.standard
    /// The run folder (nil: `runs/<config name>`); `ttu run --out` overrides it.
    public var runDir: String?
    public var title = "ttu run"
    /// Seeds the split, training, the calibration draw and every generation.
    public var seed: UInt64 = 1
    public var split = Split()
    public var generator = GeneratorSettings()
    /// Keep every generation's text in the sample logs (`ttu export` reads them back).
    public var storeText = true
    /// Online requests or rounds of batches (not in any cache key: the same generations).
    public var batch = BatchSettings()
    /// simulated: p from the prompt text instead of a rates file ("demo").
    public var simulatedRateFunction: String?
    public var rater = RaterSettings()
    /// N: generations drawn for every training prompt (all N, no early stop).
    public var trainingGenerations = 200
    /// The predictor's settings; data, prompts and output are the run folder's files.
    public var training = TrainStage.Settings(data: "", prompts: "", out: "")
    /// Budget allocation (strategy, B, W, τ grid); predictions and output are the run's.
    public var plan = PlanStage.Settings.defaults
    public var alpha = 0.1
    public var guarantee = GuaranteeSettings()
    /// How test prompts are sampled to measure coverage (none, N per prompt, or to each bound).
    public var testSampling = TestSampling.none
    /// Rows in the report's table of riskiest test prompts.
    public var riskiest = 25

    public init(prompts: String) { self.prompts = prompts }

    public func validate() throws {
        try generator.validate(ratesGiven: simulatedRateFunction != nil, offlineBatch: batch.isOffline)
        if generator.isSimulated, (generator.simulatedRates == nil) == (simulatedRateFunction == nil) {
            throw SettingError("generator.simulated_rates", "the simulated generator needs exactly one of simulated_rates (a CSV id,p) or simulated_rate_function")
        }
        try batch.validate(generator)
        try rater.validate(generatorEndpoints: generator.endpoints)
        try checkDeclared()
        try promptFormat.validate()
        let sum = split.train + split.calibration + split.test
        if abs(sum - 1) > 1e-9 { throw SettingError("split", "train + calibration + test = \(Num.format(sum)), must be 1") }
        if split.train == 0 { throw SettingError("split.train", "the training split must not be empty") }
        if split.calibration == 0 { throw SettingError("split.calibration", "the calibration split must not be empty") }
        try training.validate()
        var plan = self.plan
        plan.alpha = alpha
        try plan.validate()
        if plan.strategy == .adaptive { throw SettingError("calibration.strategy", "adaptive runs in two steps: use ttu plan (see its --help)") }
        try guarantee.validate()
    }

    /// The generator without the settings that only change speed (concurrency, timeout,
    /// retries, simulated latency) or name a file whose content is hashed instead: what
    /// a collection stage's cache key holds, so changing those reruns nothing.
    var generatorIdentity: GeneratorSettings {
        var g = generator
        g.concurrency = 0; g.timeout = 0; g.maxRetries = 0; g.simulatedLatency = 0; g.simulatedRates = nil
        g.adaptiveConcurrency = false; g.maxConcurrency = 0
        return g
    }
}

extension RunSettings: DeclaredSettings {
    public static var defaults: RunSettings { RunSettings(prompts: "") }

    /// Every key of the run config, in the order of `examples/ttu.yaml`: the run's own, then
    /// each stage's declarations lifted into the run.
    public static let declarations: [Setting<RunSettings>] = {
        let fraction: (Double) -> String? = { $0 >= 0 && $0 <= 1 ? nil : "\(Num.format($0)) is not a fraction in [0, 1]" }
        var generator = GeneratorSettings.declarations.map { $0.lifted(\RunSettings.generator) }
        let rates = generator.firstIndex { $0.key == "generator.simulated_rates" }! + 1
        generator.insert(.optional("generator.simulated_rate_function", \.simulatedRateFunction,
                                   doc: "simulated: instead of a file, p from the prompt text (demo: base rate × word multipliers, 1e-4…0.2).",
                                   check: { $0 == "demo" ? nil : "'\($0)' is not one of demo" }), at: rates)
        generator.append(.value("generator.store_text", \.storeText,
                                doc: "Keep every generation's text in the sample logs (ttu export writes them out; the report links the riskiest prompts to theirs). false keeps scores only."))
        let guarantee = GuaranteeSettings.declarations.map { $0.lifted(\RunSettings.guarantee) }
        let plan = PlanStage.Settings.declarations.map { $0.lifted(\RunSettings.plan) }
        let training = TrainStage.Settings.declarations.map { $0.lifted(\RunSettings.training) }
        var all: [Setting<RunSettings>] = [
            .path("prompts", \.prompts, doc: "Prompt file, relative to this file: JSONL ({\"id\", \"prompt\"} per line) or CSV (a header naming the columns; by the .csv name). Required."),
        ] + PromptFormat.declarations.map { $0.lifted(\RunSettings.promptFormat) } + [
            .path("run_dir", \.runDir, flag: "--out", doc: "Run folder, relative to this file (default: runs/<config name>); `ttu run --out` overrides it."),
            .value("title", \.title, doc: "Title of the report."),
            .value("seed", \.seed, doc: "Seeds the split, training, the calibration draw and every generation."),
            .value("split.train", \.split.train, doc: "Fraction of prompts for training the predictor.", check: fraction),
            .value("split.calibration", \.split.calibration, doc: "Fraction for calibration.", check: fraction),
            .value("split.test", \.split.test, doc: "Fraction for test (bounds are reported for these). The three must sum to 1.", check: fraction),
        ]
        all += generator
        all += BatchSettings.declarations.map { $0.lifted(\RunSettings.batch) }
        all += RaterSettings.declarations.map { $0.lifted(\RunSettings.rater) }
        all.append(.value("training.generations_per_prompt", \.trainingGenerations,
                          doc: "N: generations drawn for every training prompt (all N, no early stop; labels are id,n,k).", check: SettingRule.positive))
        all += training
        all.append(.value("calibration.alpha", \.alpha, doc: "α: allowed miscoverage, in (0, 1).",
                          check: { $0 > 0 && $0 < 1 ? nil : "must be in (0, 1), got \(Num.format($0))" }))
        all += guarantee + plan
        all.append(.value("test.generations_per_prompt", \.testSampling,
                          doc: "Test truth to measure coverage: bound (each prompt to its first unsafe generation or L − 1 safe ones: decides T ≥ L for every prompt at the least cost), N (at most N per prompt; a prompt with L > N + 1 that stays safe is undecided) or 0 (no test sampling)."))
        all.append(.value("report.riskiest", \.riskiest, doc: "Rows in the report's table of riskiest test prompts.", check: SettingRule.nonNegative))
        return all
    }()
}
