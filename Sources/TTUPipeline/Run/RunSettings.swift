import Foundation
import TTUCore
import TTUFiles

/// Everything `ttu run` needs, as the stages' own settings types: the run config (YAML) is
/// decoded into these, and a Swift program can build them directly.
public struct RunSettings: Sendable {
    public struct Split: Sendable, Equatable {
        public var train = 0.4, calibration = 0.4, test = 0.2
    }

    /// JSONL prompt file.
    public var prompts: String
    public var title = "ttu run"
    /// Seeds the split, training, the calibration draw and every generation.
    public var seed: UInt64 = 1
    public var split = Split()
    public var generator = GeneratorSettings()
    /// simulated: p from the prompt text instead of a rates file ("demo").
    public var simulatedRateFunction: String?
    public var rater = RaterSettings()
    /// N: generations drawn for every training prompt (all N, no early stop).
    public var trainingGenerations = 200
    /// The predictor's settings; data, prompts and output are the run folder's files.
    public var training = TrainStage.Settings(data: "", prompts: "", out: "")
    /// Budget allocation (strategy, B, W, τ grid); predictions and output are the run's.
    public var plan = PlanStage.Settings(predictions: "", out: "", budget: 100, strategy: .optimized)
    public var alpha = 0.1
    public var guarantee = GuaranteeSettings()
    /// Cap on generations per test prompt to sample test truth (0: none).
    public var testGenerations = 0
    /// Rows in the report's table of riskiest test prompts.
    public var riskiest = 25

    public init(prompts: String) { self.prompts = prompts }

    public func validate() throws {
        try generator.validate(ratesGiven: simulatedRateFunction != nil)
        if generator.isSimulated, (generator.simulatedRates == nil) == (simulatedRateFunction == nil) {
            throw SettingError("generator.simulated_rates", "the simulated generator needs exactly one of simulated_rates (a CSV id,p) or simulated_rate_function")
        }
        try rater.validate(generatorEndpoints: generator.endpoints)
        if trainingGenerations < 1 { throw SettingError("training.generations_per_prompt", "must be > 0") }
        try training.validate()
        var plan = self.plan
        plan.alpha = alpha
        try plan.validate()
        if plan.strategy == .adaptive { throw SettingError("calibration.strategy", "adaptive runs in two steps: use ttu plan (see its --help)") }
        try validateAlpha(alpha)
        try guarantee.validate()
        if testGenerations < 0 { throw SettingError("test.generations_per_prompt", "must be ≥ 0") }
        if riskiest < 0 { throw SettingError("report.riskiest", "must be ≥ 0") }
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
