import ArgumentParser
import TTUPipeline

private typealias P = PlanStage.Settings

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Allocate the calibration budget over prompts (docs/method.md §3).",
        usage: "ttu plan --predictions pred.csv --budget B --out plan.csv [<options>]",
        discussion: """
        Reads predictions (id,p_hat) and writes plan.csv
        (id,p_hat,prior_quantile,pi,cap) and plan.json beside it. `cap` is the
        prompt's cap c: generations to draw (0 = not sampled); for naive it is
        the prompt's Geometric(1/B) draw. `pi` is the sampling probability
        (empty for naive). `prior_quantile` is q_m(x), the largest candidate
        level's bound (capped at M = ⌊B·W⌋ for trimmed and optimized; `inf`
        when p_hat = 0 and nothing caps it). The draw is reproducible (--seed).
        Cost, before sampling (printed, and in plan.json):
        expected_generations = Σ over sampled prompts of E[min(T, c)] under p̂,
        (1 − (1 − p̂)^c)/p̂ (c when p̂ = 0); max_generations = Σ c. With
        --tokens-per-generation (and --price-per-million-tokens) also tokens
        (and money).

        adaptive (two stages, beyond the paper) is planned in two steps:
          1. ttu plan --strategy adaptive --predictions cal.csv --budget B
                      --alpha A --out pilot.csv
             a pilot on a random 20% of the prompts; collect it. (If the
             pilot would expect fewer than \(Num.format(P.defaultMinPilotMisses)) miscovered prompts among those
             it samples, α·Σπ — about \(Num.format(P.defaultMinPilotMisses / 0.1)) sampled pilot prompts at α = 0.1
             — it is too small to choose from: step 1 then writes the
             optimized plan of every prompt and there is no step 2.)
          2. ttu plan --strategy adaptive --predictions cal.csv --budget B
                      --alpha A --pilot pilot.csv
                      --pilot-observations pilot_obs.csv --out plan.csv
             the final plan for the other prompts, with W, the cap level and
             the allocation chosen from the pilot; collect it and calibrate
             on it alone (the guarantee does not depend on the pilot).
        The budget B covers both stages.
        """)

    @Option(help: "Predictions CSV with columns id,p_hat.") var predictions: String
    @Option(help: "B: expected generations per calibration prompt (> 0).") var budget: Double
    @Option(help: "naive, basic, trimmed, optimized or adaptive. (default: \(P.defaults.strategy.rawValue))") var strategy = P.defaults.strategy
    @Option(P.option(\.maxWeight)) var maxWeight: Double?
    @OptionGroup(title: "Guarantee the calibration will give (auto W simulates it)") var guarantee: GuaranteeOptions
    @Option(help: "Seed of the sampling draw.") var seed: UInt64 = 1
    @Option(P.option(\.tauGrid)) var tauGrid: TauGridChoice
    @Option(name: .customLong("fit-on"), help: "optimized (and adaptive's fallback): fit the allocation on these held-out predictions and apply it pointwise, so the weighted terms are i.i.d. as --guarantee pac assumes.")
    var fitOn: String?
    @Option(help: "adaptive, step 2: the pilot plan written by step 1.") var pilot: String?
    @Option(name: .customLong("pilot-observations"), help: "adaptive, step 2: the pilot's observations.") var pilotObservations: String?
    @Option(help: "adaptive: the α of the calibration (step 1: whether a pilot can choose; step 2: the level it predicts).") var alpha = 0.1
    @Option(name: .customLong("min-pilot-misses"), help: "adaptive, step 1: the fewest miscovered prompts the pilot must expect among those it samples (α·Σπ) to choose from; below it, the optimized plan of every prompt. (default: 400)")
    var minPilotMisses: Double?
    @Option(P.option(\.tokensPerGeneration)) var tokensPerGeneration: Double?
    @Option(P.option(\.pricePerMillionTokens)) var pricePerMillionTokens: Double?
    @Option(P.option(\.batchPriceFactor)) var batchPriceFactor: Double?
    @Option(help: "Output plan.csv (plan.json is written beside it).") var out: String

    func validate() throws { try validating { try settings.validate() } }

    var settings: PlanStage.Settings {
        var s = PlanStage.Settings(predictions: predictions, out: out, budget: budget, strategy: strategy)
        (s.maxWeight, s.tauGrid, s.seed, s.fitOn, s.guarantee) = (maxWeight, tauGrid, seed, fitOn, guarantee.settings)
        (s.pilot, s.pilotObservations, s.alpha, s.minPilotMisses) = (pilot, pilotObservations, alpha, minPilotMisses)
        (s.tokensPerGeneration, s.pricePerMillionTokens, s.batchPriceFactor) = (tokensPerGeneration, pricePerMillionTokens, batchPriceFactor)
        return s
    }

    func run() throws { try PlanStage.run(settings, console: .cli()) }
}
