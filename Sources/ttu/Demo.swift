import ArgumentParser
import Foundation
import TTUFiles
import TTUPipeline

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole pipeline on built-in prompts with a SIMULATED generator: prompts → bounds → report.",
        discussion: """
        Writes the built-in prompt set (350 short sentence prefixes, from
        Sources/ttu/Resources/demo_prompts.jsonl) and a config to --out, then runs
        `ttu run` on them. The generator is simulated: each prompt's unsafe probability is
        a known function of its text (base rate × multipliers for heated or calm words,
        1e-4 … 0.2), and the offline lexicon rater flags the unsafe generations. No model
        is sampled and nothing is downloaded; everything is labelled SIMULATED. Rerunning
        reuses what is already there.
        """)

    @Option(help: "Run folder.") var out = "runs/demo"
    @Flag(help: "Less output.") var quiet = false

    static let config = """
        # The config `ttu demo` runs (see examples/ttu.yaml for every key).
        title: ttu demo — simulated generator, built-in prompts
        prompts: prompts.jsonl
        run_dir: .
        seed: 1
        split: {train: 0.4, calibration: 0.4, test: 0.2}
        generator:
          kind: simulated
          simulated_rate_function: demo
        rater:
          kind: lexicon
        training:
          generations_per_prompt: 300
          features: hashed
          model: logistic
        calibration:
          alpha: 0.1
          guarantee: marginal
          strategy: optimized
          budget: 200
        test:
          generations_per_prompt: 5000
        report:
          riskiest: 25

        """

    func run() async throws {
        try await runStage {
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try writeAtomically(Data(DemoPrompts.jsonl), to: dir.appendingPathComponent("prompts.jsonl").path)
            let configPath = dir.appendingPathComponent("ttu.yaml").path
            try writeAtomically(Self.config, to: configPath)
            print("ttu demo: SIMULATED generator (known unsafe rates from the prompt text; no language model is sampled)")
            let start = Date()
            let pipeline = try RunPipeline(config: try RunConfig(path: configPath), layout: RunLayout(dir: dir), quiet: quiet)
            try await pipeline.run()
            print(String(format: "ttu demo: done in %.1f s. Open the report: %@", Date().timeIntervalSince(start), dir.appendingPathComponent("report.html").path))
        }
    }
}
