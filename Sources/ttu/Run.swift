import ArgumentParser
import Foundation
import TTUPipeline

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "From prompts to calibrated bounds and a report: every stage, resumable, from one YAML config.",
        usage: "ttu run --config FILE [--out DIR] [--dry-run] [--quiet]\nttu run --example-config",
        discussion: """
        Stages (each writes into the run folder and is skipped on a rerun when
        its inputs — the settings it reads and its input files — are unchanged):
          split            split/{train,calibration,test}.jsonl (.csv for CSV
                           prompts; seeded; every record as the input has it)
          train_counts     N generations per training prompt → train_counts.csv
          train            model.json (p̂; validation vs a constant p̂)
          predict          predictions_calibration.csv, predictions_test.csv
          plan             plan.csv + plan.json (budget allocation)
          calibration_obs  collect the plan → calibration_obs.csv
          calibrate        calibration.json
          bound            lpb_test.csv
          test_obs         test truth → test_obs.csv (if test sampling is on)
          evaluate         evaluation.json (coverage with censoring)
        then summary.json and report.html. Collection stages log every
        generation (and its text: ttu export RUNDIR) in <stage>.sqlite: a run
        killed at any moment resumes exactly when rerun. Every key:
        examples/ttu.yaml (or --example-config).
        """)

    @Option(help: "YAML config (see examples/ttu.yaml).") var config: String?
    @Option(help: "Run folder (overrides run_dir in the config).") var out: String?
    @Flag(help: "Less output (no collection progress lines).") var quiet = false
    @Flag(name: .customLong("example-config"), help: "Print the documented config with every key and its default, and exit.")
    var exampleConfig = false
    @Flag(name: .customLong("dry-run"), help: "Print each collection stage's expected and largest number of generations, and exit (nothing is sampled or written).")
    var dryRun = false

    func validate() throws {
        if !exampleConfig && config == nil { throw ValidationError("give --config FILE (see examples/ttu.yaml)") }
    }

    func run() async throws {
        if exampleConfig { return Terminal.outRaw(RunConfig.exampleYAML()) }
        let cfg = try RunConfig(path: config!)
        let console = Console.cli(quiet: quiet)
        for note in cfg.notes { console.say("note: " + note) }
        let dir = out.map { URL(fileURLWithPath: $0) }
            ?? cfg.runDir.map { URL(fileURLWithPath: $0) }
            ?? cfg.baseDir.appendingPathComponent("runs").appendingPathComponent(
                URL(fileURLWithPath: config!).deletingPathExtension().lastPathComponent)
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(settings: cfg.settings, layout: RunLayout(dir: dir), console: console)
        } catch let e as SettingError {
            throw cfg.fail(e.key, e.message)
        }
        if dryRun {
            let rows = try pipeline.dryRun()
            printCosts(rows)
            if let line = pipeline.batchPricing(rows) { Terminal.out(line) }
            return
        }
        try await pipeline.run()
    }

    /// The dry run's table (stdout).
    func printCosts(_ rows: [Pipeline.StageCost]) {
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(1, w - s.count)) + s }
        let fmt = { (x: Double) in Num.format(x.rounded()) }
        Terminal.out("stage          " + pad("prompts", 9) + pad("expected", 12) + pad("max", 12) + "  basis")
        for r in rows {
            Terminal.out(r.stage.padding(toLength: 15, withPad: " ", startingAt: 0) + pad(String(r.prompts), 9)
                + pad(r.expected.map(fmt) ?? "?", 12) + pad(r.max.map(fmt) ?? "?", 12) + "  " + r.basis)
        }
        let known = rows.allSatisfy { $0.expected != nil }
        Terminal.out("total          " + pad("", 9) + pad(known ? fmt(rows.compactMap(\.expected).reduce(0, +)) : "?", 12)
            + pad(rows.contains { $0.max == nil } ? "?" : fmt(rows.compactMap(\.max).reduce(0, +)), 12))
    }
}
