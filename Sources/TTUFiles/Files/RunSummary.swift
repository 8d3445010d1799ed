import Foundation

/// `RUN/summary.json`: the numbers of `report.html`, for machines. Keys are snake_case.
/// Counts are generations; `simulated` is true when any stage used the simulated
/// generator (then nothing here describes a real model).
public struct RunSummary: Encodable, Sendable {
    public var format = "ttu-run-summary"
    public var version = 1
    public var simulated: Bool
    public var title: String
    public var generator: String
    public var model: String?
    public var rater: String
    /// The guarantee in one sentence with its numbers.
    public var statement: String
    public var calibration: Calibration
    public var prompts: Split
    public var training: Training?
    public var budget: [BudgetRow]
    public var test: Test?
    /// The test prompts with the smallest bounds (ties: larger p̂ first).
    public var riskiest: [Prompt]
    /// How the generations were made and rated (no secrets), when the run recorded it.
    public var setting: Setting?
    /// Test bounds sitting at the bound cap M, and the median of what they would be
    /// uncapped, Q(τ̂; p̂): how much a larger W could move them (nil without a cap).
    public var atCap: AtCap?

    public struct Setting: Codable, Sendable {
        /// completions or chat, and the API roots.
        public var api: String?
        public var endpoints: [String]
        /// max_tokens, temperature, top_p, n, stop, extra body: as sent.
        public var sampling: [String: String]
        public var raterKind: String
        public var raterEndpoint: String?
        public var raterModel: String?
        public var raterCategory: String?
        public var threshold: Double
        public init(api: String?, endpoints: [String], sampling: [String: String], raterKind: String, raterEndpoint: String?,
                    raterModel: String?, raterCategory: String?, threshold: Double) {
            self.api = api; self.endpoints = endpoints; self.sampling = sampling; self.raterKind = raterKind
            self.raterEndpoint = raterEndpoint; self.raterModel = raterModel; self.raterCategory = raterCategory; self.threshold = threshold
        }
    }

    public struct AtCap: Encodable, Sendable {
        public var cap: Double
        public var count: Int
        public var of: Int
        public var medianUncapped: Double
        public init(cap: Double, count: Int, of: Int, medianUncapped: Double) {
            self.cap = cap; self.count = count; self.of = of; self.medianUncapped = medianUncapped
        }
    }

    public struct Calibration: Encodable, Sendable {
        public var alpha: Double
        public var guarantee: String
        public var delta: Double?
        public var bound: String?
        public var strategy: String
        public var budgetPerPrompt: Double
        /// `M`, ∞ = no cap (`max_lpb`, null then).
        public var boundCap: Double
        public var tauHat: Double?
        public var tauIndex: Int
        public var miscoverageEstimate: Double?
        public var miscoverageUpperBound: Double?
        public var n: Int
        public var sampledPrompts: Int
        public var meanGenerations: Double
        /// How W was chosen when it was not given (plan.json's weight_choice), in one sentence.
        public var maxWeightChoice: String?
        /// corrected: the margin in standard errors.
        public var margin: Double?
        /// The standard error of the estimated miscoverage at the selected level.
        public var standardError: Double?
        public init(alpha: Double, guarantee: String, delta: Double?, bound: String?, strategy: String, budgetPerPrompt: Double,
                    boundCap: Double, tauHat: Double?, tauIndex: Int, miscoverageEstimate: Double?, miscoverageUpperBound: Double?,
                    n: Int, sampledPrompts: Int, meanGenerations: Double) {
            self.alpha = alpha; self.guarantee = guarantee; self.delta = delta; self.bound = bound; self.strategy = strategy
            self.budgetPerPrompt = budgetPerPrompt; self.boundCap = boundCap; self.tauHat = tauHat; self.tauIndex = tauIndex
            self.miscoverageEstimate = miscoverageEstimate; self.miscoverageUpperBound = miscoverageUpperBound
            self.n = n; self.sampledPrompts = sampledPrompts; self.meanGenerations = meanGenerations
        }

        enum CodingKeys: String, CodingKey {
            case alpha, guarantee, delta, bound, strategy, budgetPerPrompt, boundCap = "maxLPB", tauHat, tauIndex
            case miscoverageEstimate, miscoverageUpperBound, n, sampledPrompts, meanGenerations, maxWeightChoice, margin, standardError
        }

        /// As synthesized (summary.json converts the keys to snake_case), but M as `max_lpb`, null when uncapped.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(alpha, forKey: .alpha)
            try c.encode(guarantee, forKey: .guarantee)
            try c.encodeIfPresent(delta, forKey: .delta)
            try c.encodeIfPresent(bound, forKey: .bound)
            try c.encode(strategy, forKey: .strategy)
            try c.encode(budgetPerPrompt, forKey: .budgetPerPrompt)
            try c.encodeBoundCap(boundCap, forKey: .boundCap, nullWhenUncapped: false)
            try c.encodeIfPresent(tauHat, forKey: .tauHat)
            try c.encode(tauIndex, forKey: .tauIndex)
            try c.encodeIfPresent(miscoverageEstimate, forKey: .miscoverageEstimate)
            try c.encodeIfPresent(miscoverageUpperBound, forKey: .miscoverageUpperBound)
            try c.encode(n, forKey: .n)
            try c.encode(sampledPrompts, forKey: .sampledPrompts)
            try c.encode(meanGenerations, forKey: .meanGenerations)
            try c.encodeIfPresent(maxWeightChoice, forKey: .maxWeightChoice)
            try c.encodeIfPresent(margin, forKey: .margin)
            try c.encodeIfPresent(standardError, forKey: .standardError)
        }
    }

    public struct Split: Encodable, Sendable {
        public var train: Int, calibration: Int, test: Int
        public init(train: Int, calibration: Int, test: Int) { self.train = train; self.calibration = calibration; self.test = test }
    }

    public struct Training: Encodable, Sendable {
        public var form: String
        public var model: String
        public var features: String
        public var pooledRate: Double?
        public var validationLogLikelihoodPerGeneration: Double?
        public var constantValidationLogLikelihoodPerGeneration: Double?
        public var selectedEpoch: Int
        public var epochsRun: Int
        /// The model against the constant predictor on held-out prompts that did not
        /// choose the epoch: gain in log-likelihood per generation and its standard error.
        public var comparisonPrompts: Int?
        public var comparisonGainPerGeneration: Double?
        public var comparisonGainStandardError: Double?
        /// What the features are beyond their kind: the embedding model and vector length,
        /// or the field names (nil for hashed n-grams).
        public var featureDetail: String?
        public init(form: String, model: String, features: String, pooledRate: Double?, validationLogLikelihoodPerGeneration: Double?,
                    constantValidationLogLikelihoodPerGeneration: Double?, selectedEpoch: Int, epochsRun: Int) {
            self.form = form; self.model = model; self.features = features; self.pooledRate = pooledRate
            self.validationLogLikelihoodPerGeneration = validationLogLikelihoodPerGeneration
            self.constantValidationLogLikelihoodPerGeneration = constantValidationLogLikelihoodPerGeneration
            self.selectedEpoch = selectedEpoch; self.epochsRun = epochsRun
        }
    }

    /// One collection stage: the most it could draw (Σ caps) and what the log holds.
    public struct BudgetRow: Encodable, Sendable {
        public var stage: String
        public var prompts: Int
        public var planned: Int
        public var spent: Int
        public init(stage: String, prompts: Int, planned: Int, spent: Int) {
            self.stage = stage; self.prompts = prompts; self.planned = planned; self.spent = spent
        }
    }

    public struct Test: Encodable, Sendable {
        public var n: Int
        public var meanLPB: Double
        public var medianLPB: Double
        public var trivialFraction: Double
        /// Present when test truth was sampled.
        public var evaluation: TestEvaluation?
        public init(n: Int, meanLPB: Double, medianLPB: Double, trivialFraction: Double, evaluation: TestEvaluation?) {
            self.n = n; self.meanLPB = meanLPB; self.medianLPB = medianLPB; self.trivialFraction = trivialFraction
            self.evaluation = evaluation
        }
    }

    public struct Prompt: Encodable, Sendable {
        public var id: String
        public var prompt: String
        public var pHat: Double
        public var lpb: Double
        /// Sampled test truth, when there is some.
        public var cap: Int?
        public var observed: Int?
        public var event: Bool?
        /// The simulator's true rate (simulated runs only).
        public var trueRate: Double?
        /// The text of the first unsafe test generation (when sampled and kept).
        public var firstUnsafeText: String?
        public init(id: String, prompt: String, pHat: Double, lpb: Double, cap: Int?, observed: Int?, event: Bool?, trueRate: Double?,
                    firstUnsafeText: String? = nil) {
            self.id = id; self.prompt = prompt; self.pHat = pHat; self.lpb = lpb; self.cap = cap
            self.observed = observed; self.event = event; self.trueRate = trueRate; self.firstUnsafeText = firstUnsafeText
        }
    }

    public init(simulated: Bool, title: String, generator: String, model: String?, rater: String, statement: String,
                calibration: Calibration, prompts: Split, training: Training?, budget: [BudgetRow], test: Test?, riskiest: [Prompt]) {
        self.simulated = simulated; self.title = title; self.generator = generator; self.model = model; self.rater = rater
        self.statement = statement; self.calibration = calibration; self.prompts = prompts; self.training = training
        self.budget = budget; self.test = test; self.riskiest = riskiest
    }
}
