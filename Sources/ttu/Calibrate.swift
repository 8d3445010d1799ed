import ArgumentParser
import TTUPipeline

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Select the calibrated level τ̂ from a plan and its observations (docs/method.md §2, §4).",
        usage: "ttu calibrate --plan plan.csv --observations obs.csv\n              --out calibration.json [--alpha A]\n              [--guarantee marginal|pac] [<options>]",
        discussion: """
        Reads plan.csv (plan.json beside it) and observations
        (id,cap,observed,event): observed = generations drawn = min(T, c);
        event = 1 if the last one was unsafe. Every sampled prompt (cap > 0)
        needs an observation with the plan's cap; unsampled ones may be
        omitted. Estimates the miscoverage of every candidate level by
        inverse-probability weighting and selects the largest admissible one:
          marginal  α̂_j < α for all levels up to j (the paper's estimator);
          pac       fixed-sequence tests of α_j ≥ α at level δ with a
                    concentration inequality (--inequality).
        Writes calibration.json (tau_hat null, tau_index −1 if none passes).
        """)

    @Option(help: "plan.csv written by `ttu plan` (plan.json must be beside it).") var plan: String
    @Option(help: "Observations CSV with columns id,cap,observed,event.") var observations: String
    @Option(help: "α: allowed miscoverage, in (0, 1).") var alpha = 0.1
    @OptionGroup(title: "Guarantee") var guarantee: GuaranteeOptions
    @Option(help: "A sampled prompt without an observation: error, or miscovered (at every level: conservative).")
    var missing: CalibrateStage.MissingPolicy = .error
    @Option(help: "Seed of the betting test's random order (default: the plan's seed).") var seed: UInt64?
    @Option(help: "Output calibration.json.") var out: String

    func validate() throws { try validating { try settings.validate() } }

    var settings: CalibrateStage.Settings {
        var s = CalibrateStage.Settings(plan: plan, observations: observations, out: out, alpha: alpha)
        (s.guarantee, s.missing, s.seed) = (guarantee.settings, missing, seed)
        return s
    }

    func run() throws { try CalibrateStage.run(settings, console: .cli()) }
}
