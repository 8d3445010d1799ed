import Foundation
import TTUFiles

/// `ttu demo`: the whole pipeline on the built-in prompts with a SIMULATED generator (each
/// prompt's unsafe probability a known function of its text) and the offline lexicon
/// rater. Nothing is sampled from a model and nothing is downloaded.
public enum DemoStage {
    /// The config the demo runs (see examples/ttu.yaml for every key).
    public static let config = """
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
          budget: 200
        test:
          generations_per_prompt: 5000
        report:
          riskiest: 25

        """

    /// Writes the prompts and the config into `out`, then runs the pipeline there.
    @discardableResult
    public static func run(out: String, console: Console = .silent) async throws -> RunSummary {
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try writeAtomically(Data(DemoPrompts.jsonl), to: dir.appendingPathComponent("prompts.jsonl").path)
        let configPath = dir.appendingPathComponent("ttu.yaml").path
        try writeAtomically(config, to: configPath)
        console.say("ttu demo: SIMULATED generator (known unsafe rates from the prompt text; no language model is sampled)")
        let start = Date()
        let pipeline = try Pipeline(settings: try RunConfig(path: configPath).settings, layout: RunLayout(dir: dir), console: console)
        let summary = try await pipeline.run()
        console.say(String(format: "ttu demo: done in %.1f s. Open the report: %@", Date().timeIntervalSince(start),
                           dir.appendingPathComponent("report.html").path))
        return summary
    }
}
