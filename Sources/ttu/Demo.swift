import ArgumentParser
import Foundation
import TTUPipeline

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole pipeline on built-in prompts with a SIMULATED generator: prompts → bounds → report.",
        discussion: """
        Writes the built-in prompt set (350 short sentence prefixes) and a
        config to --out, then runs `ttu run` on them. The generator is
        simulated: each prompt's unsafe probability is a known function of its
        text (base rate × multipliers for heated or calm words, 1e-4 … 0.2), and
        the offline lexicon rater flags the unsafe generations. No model is
        sampled and nothing is downloaded; everything is labelled SIMULATED.
        Rerunning reuses what is already there.
        """)

    @Option(help: "Run folder.") var out = "runs/demo"
    @Flag(help: "Less output.") var quiet = false

    func run() async throws { try await DemoStage.run(out: out, console: .cli(quiet: quiet)) }
}
