import ArgumentParser
import TTUPipeline

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score bounds against sampled test truth: coverage (with censoring), mean L, trivial bounds.",
        usage: "ttu evaluate --lpb lpb.csv --truth obs.csv [--rates rates.csv]\n             [--json FILE]",
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
