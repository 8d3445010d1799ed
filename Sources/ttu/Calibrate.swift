import ArgumentParser
import TTUPipeline

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Select the calibrated level τ̂ from a plan and its observations (docs/method.md §2, §4).",
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

struct Bound: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a calibration to predictions: the lower bound L per prompt.",
        discussion: """
        Writes id,p_hat,lpb with lpb = L = min(Q(τ̂; p_hat), M): at least L
        generations are needed before the first unsafe one, with the
        probability stated in calibration.json. L is a whole number ≥ 1 (1 when
        no level was admissible), `inf` when p_hat = 0 and nothing caps it.
        """)

    @Option(help: "calibration.json written by `ttu calibrate`.") var calibration: String
    @Option(help: "Predictions CSV with columns id,p_hat.") var predictions: String
    @Option(help: "Output lpb.csv.") var out: String

    func run() throws { try BoundStage.run(.init(calibration: calibration, predictions: predictions, out: out), console: .cli()) }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score bounds against sampled test truth: coverage (with censoring), mean L, trivial bounds.",
        discussion: """
        --lpb: id,p_hat,lpb (ttu bound). --truth: id,cap,observed,event (ttu
        collect --per-prompt N). Both must hold the same ids. A prompt is
        covered when its first unsafe generation t ≥ L, or when it was censored
        after c ≥ L − 1 safe generations; censored earlier it is undecided, so
        coverage is a range (undecided counted as miscovered … as covered) with
        its exact 95% interval. --rates id,p (simulated runs only) adds the
        exact coverage mean (1 − p)^(L − 1).
        """)

    @Option(help: "Bounds CSV (id,p_hat,lpb).") var lpb: String
    @Option(help: "Test observations CSV (id,cap,observed,event).") var truth: String
    @Option(help: "Simulated truth: CSV id,p of the known unsafe probabilities.") var rates: String?
    @Option(help: "Also write the numbers as JSON here.") var json: String?

    func run() throws {
        var s = EvaluateStage.Settings(lpb: lpb, truth: truth)
        (s.rates, s.json) = (rates, json)
        try EvaluateStage.run(s, console: .cli())
    }
}

struct Observe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Derive a plan's calibration observations from a deeper sample of the same prompts (no sampling).",
        discussion: """
        --deep holds one observation per prompt (id,cap,observed,event), e.g.
        from `ttu collect --per-prompt C`. Sampling a prompt up to a plan cap c
        is a prefix of that deep sample, so for every plan prompt with c > 0:
          deep event at t ≤ c          → c, t, 1
          deep event at t > c          → c, c, 0
          deep censored at C ≥ c       → c, c, 0
          deep censored at C < c       → too shallow: an error, or with
                                         --too-shallow worst-case c, C+1, 1
                                         (conservative above C, exact below).
        Plan prompts with c = 0 are written id,0,0,0; deep prompts not in the
        plan are ignored. Plans derived from one deep sample share the latent
        times T, which understates the spread fresh samples would show.
        """)

    @Option(help: "plan.csv written by `ttu plan` (plan.json beside it).") var plan: String
    @Option(help: "Deep observations CSV id,cap,observed,event.") var deep: String
    @Option(name: .customLong("too-shallow"), help: "A plan cap beyond a censored deep sample: error or worst-case.")
    var tooShallow: ObserveStage.TooShallow = .error
    @Option(help: "Output observations CSV (id,cap,observed,event), in plan order.") var out: String

    func run() throws {
        var s = ObserveStage.Settings(plan: plan, deep: deep, out: out)
        s.tooShallow = tooShallow
        try ObserveStage.run(s, console: .cli())
    }
}
