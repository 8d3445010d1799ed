import ArgumentParser
import TTUPipeline

struct Observe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Derive a plan's calibration observations from a deeper sample of the same prompts (no sampling).",
        usage: "ttu observe --plan plan.csv --deep deep_obs.csv --out obs.csv\n            [--too-shallow error|worst-case]",
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
