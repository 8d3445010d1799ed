import ArgumentParser
import Foundation
import TTUCore
import TTUFiles
import TTUReport
import TTUSampling

/// The files of a run folder (README: "ttu run").
struct RunLayout {
    let dir: URL
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    var trainPrompts: String { path("split/train.jsonl") }
    var calibrationPrompts: String { path("split/calibration.jsonl") }
    var testPrompts: String { path("split/test.jsonl") }
    var rates: String { path("simulated_rates.csv") }
    var trainCounts: String { path("train_counts.csv") }
    var model: String { path("model.json") }
    var predictionsCalibration: String { path("predictions_calibration.csv") }
    var predictionsTest: String { path("predictions_test.csv") }
    var plan: String { path("plan.csv") }
    var calibrationObservations: String { path("calibration_obs.csv") }
    var calibration: String { path("calibration.json") }
    var lpb: String { path("lpb_test.csv") }
    var testObservations: String { path("test_obs.csv") }
    var evaluation: String { path("evaluation.json") }
    var info: String { path("run.json") }
    var summary: String { path("summary.json") }
    var report: String { path("report.html") }
    var manifest: String { path("manifest.json") }
}

/// What the report needs to know about how the run was made (no secrets: the API key
/// is only ever named by its environment variable).
struct RunInfo: Codable {
    var title: String
    var generator: String
    var model: String?
    var rater: String
    var simulated: Bool
    var riskiest: Int
}

/// Per stage: the hash of its inputs (config subset + input files) and of its outputs.
/// A stage whose inputs hash and outputs are unchanged is skipped on a rerun.
struct RunManifest: Codable {
    struct Entry: Codable { var key: String; var outputs: [String: String] }
    var stages: [String: Entry] = [:]
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "From prompts to calibrated bounds and a report: every stage, resumable, from one YAML config.",
        discussion: """
        Stages (each writes into the run folder and is skipped on a rerun when its inputs
        — the config keys it reads and its input files — did not change):
          split            split/{train,calibration,test}.jsonl (seeded)
          train_counts     collect N generations per training prompt → train_counts.csv (id,n,k)
          train            model.json (the predictor p̂; validation vs a constant p̂)
          predict          predictions_calibration.csv, predictions_test.csv
          plan             plan.csv + plan.json (budget allocation)
          calibration_obs  collect the plan → calibration_obs.csv
          calibrate        calibration.json
          bound            lpb_test.csv
          test_obs         if test.generations_per_prompt > 0: test truth → test_obs.csv
          evaluate         evaluation.json (coverage with censoring)
        then summary.json and report.html. Collection stages log every generation in
        <stage>.sqlite in the run folder: a run killed at any moment resumes exactly
        when rerun. Every key, its default and meaning: examples/ttu.yaml
        (or `ttu run --example-config`).
        """)

    @Option(help: "YAML config (see examples/ttu.yaml).") var config: String?
    @Option(help: "Run folder (overrides run_dir in the config).") var out: String?
    @Flag(help: "Less output (no collection progress lines).") var quiet = false
    @Flag(name: .customLong("example-config"), help: "Print the documented config with every key and its default, and exit.")
    var exampleConfig = false

    func validate() throws {
        if !exampleConfig && config == nil { throw ValidationError("give --config FILE (see examples/ttu.yaml)") }
    }

    func run() async throws {
        if exampleConfig { print(RunConfig.exampleYAML(), terminator: ""); return }
        try await runStage {
            let cfg = try RunConfig(path: config!)
            let dir = out.map { URL(fileURLWithPath: $0) }
                ?? cfg.file("run_dir").map { URL(fileURLWithPath: $0) }
                ?? cfg.baseDir.appendingPathComponent("runs").appendingPathComponent(
                    URL(fileURLWithPath: config!).deletingPathExtension().lastPathComponent)
            let runner = try RunPipeline(config: cfg, layout: RunLayout(dir: dir), quiet: quiet)
            try await runner.run()
        }
    }
}

/// Runs the stages of `ttu run` in order, each through the same code as its own
/// subcommand (the arguments are built from the config and parsed by that command).
final class RunPipeline {
    let cfg: RunConfig
    let layout: RunLayout
    let quiet: Bool
    let prompts: [PromptRecord]
    /// Each prompt's JSON line as read: the split files keep every key of the input.
    let promptLines: [String]
    var manifest: RunManifest

    var simulated: Bool { cfg.string("generator.kind") == "simulated" }
    var seed: UInt64 { UInt64(truncatingIfNeeded: cfg.int("seed")) }

    /// Everything that can be checked before a stage runs is checked here.
    init(config: RunConfig, layout: RunLayout, quiet: Bool) throws {
        cfg = config
        self.layout = layout
        self.quiet = quiet
        // `fields` features are read now, so a prompt lacking one fails before any sampling.
        (prompts, _, promptLines) = try PromptFile.readLines(config.file("prompts")!, numericFields: config.list("training.fields"))
        let sizes = RunPipeline.splitSizes(n: prompts.count, config: config)
        for (name, k) in zip(["train", "calibration", "test"], [sizes.train, sizes.calibration, prompts.count - sizes.train - sizes.calibration]) where k < 1 {
            throw config.fail("split.\(name)", "leaves no \(name) prompt out of \(prompts.count)")
        }
        if let ratesPath = config.file("generator.simulated_rates") {
            let rates = try RatesFile.read(ratesPath)
            for p in prompts where rates[p.id] == nil {
                throw InputError(file: ratesPath, field: "id", "no rate for prompt id '\(p.id)' of \(config.file("prompts")!)")
            }
        }
        manifest = (try? readJSON(RunManifest.self, from: layout.manifest)) ?? RunManifest()
    }

    static func splitSizes(n: Int, config: RunConfig) -> (train: Int, calibration: Int) {
        let t = Int((config.double("split.train") * Double(n)).rounded())
        let c = Int((config.double("split.calibration") * Double(n)).rounded())
        return (t, min(c, n - t))
    }

    func say(_ s: String) { print("run: " + s) }

    static func digest(file path: String) -> String {
        guard let d = FileManager.default.contents(atPath: path) else { return "missing" }
        return CollectInputs.digest([String(decoding: d, as: UTF8.self)])
    }

    /// Runs `body` unless the stage's inputs and outputs are what the manifest recorded.
    func stage(_ name: String, config keys: [String], inputs: [String], outputs: [String],
                        _ body: () async throws -> Void) async throws {
        let key = CollectInputs.digest([name, cfg.fingerprint(keys)] + inputs.map { Self.digest(file: $0) })
        if let e = manifest.stages[name], e.key == key,
           outputs.allSatisfy({ e.outputs[URL(fileURLWithPath: $0).lastPathComponent] == Self.digest(file: $0) }) {
            say("\(name): up to date (skipped)")
            return
        }
        say("\(name) …")
        manifest.stages[name] = nil
        try writeAtomically(try encodeJSON(manifest), to: layout.manifest)
        try await body()
        var outs: [String: String] = [:]
        for o in outputs { outs[URL(fileURLWithPath: o).lastPathComponent] = Self.digest(file: o) }
        manifest.stages[name] = RunManifest.Entry(key: key, outputs: outs)
        try writeAtomically(try encodeJSON(manifest), to: layout.manifest)
    }

    /// The `ttu collect` flags for this config's generator and rater.
    func collectArguments(prompts: String, mode: [String], seed: UInt64, db: String, out: String) -> [String] {
        var a = ["--prompts", prompts] + mode + ["--seed", String(seed), "--db", db, "--out", out,
                                                 "--generator", cfg.string("generator.kind")!]
        if simulated {
            a += ["--simulated-rates", cfg.file("generator.simulated_rates") ?? layout.rates,
                  "--simulated-latency", cfg.string("generator.simulated_latency")!]
        } else {
            for e in cfg.list("generator.endpoints") { a += ["--endpoint", e] }
            a += ["--model", cfg.string("generator.model")!, "--api", cfg.string("generator.api")!,
                  "--max-tokens", cfg.string("generator.max_tokens")!, "--temperature", cfg.string("generator.temperature")!,
                  "--n", cfg.string("generator.n")!, "--api-key-env", cfg.string("generator.api_key_env")!]
            if let t = cfg.string("generator.top_p") { a += ["--top-p", t] }
            if let e = cfg.string("generator.extra_body") { a += ["--extra-body", e] }
            for s in cfg.list("generator.stop") { a += ["--stop", s] }
        }
        a += ["--concurrency", cfg.string("generator.concurrency")!, "--timeout", cfg.string("generator.timeout")!,
              "--max-retries", cfg.string("generator.max_retries")!]
        a += ["--rater", cfg.string("rater.kind")!, "--threshold", cfg.string("rater.threshold")!]
        if let v = cfg.string("rater.endpoint") { a += ["--rater-endpoint", v] }
        if let v = cfg.string("rater.model") { a += ["--rater-model", v] }
        if let v = cfg.string("rater.category") { a += ["--category", v] }
        if let v = cfg.file("rater.judge_template") { a += ["--judge-template", v] }
        if let v = cfg.string("rater.command") { a += ["--rater-command", v] }
        if let v = cfg.file("rater.lexicon") { a += ["--lexicon", v] }
        if quiet { a.append("--quiet") }
        return a
    }

    func collect(_ args: [String]) async throws {
        let c = try stageCommand(Collect.self, args)
        do {
            try await c.collect()
        } catch let e as FatalSamplingError {
            FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
            throw ExitCode(1)
        }
    }

    static let collectKeys = ["seed", "generator", "rater"]

    /// A stage's command from the arguments the pipeline built; a value the command refuses
    /// (it came from the config) is a one-line error, not a usage dump.
    func stageCommand<C: ParsableCommand>(_ type: C.Type, _ args: [String]) throws -> C {
        do {
            return try C.parse(args)
        } catch {
            throw InputError(file: cfg.path, "\(C._commandName): \(C.message(for: error))")
        }
    }

    func run() async throws {
        try FileManager.default.createDirectory(at: layout.dir.appendingPathComponent("split"), withIntermediateDirectories: true)
        let L = layout
        if simulated { say("SIMULATED generator: unsafe generations are drawn from known rates; no language model is sampled") }
        say("\(prompts.count) prompts → \(L.dir.path)")
        let ratesInputs = simulated ? [cfg.file("generator.simulated_rates") ?? L.rates] : []

        try await stage("split", config: ["seed", "split", "generator.simulated_rate_function"], inputs: [cfg.file("prompts")!],
                        outputs: [L.trainPrompts, L.calibrationPrompts, L.testPrompts] + (cfg.string("generator.simulated_rate_function") != nil ? [L.rates] : [])) {
            try writeSplit()
        }
        try await stage("train_counts", config: Self.collectKeys + ["training.generations_per_prompt"],
                        inputs: [L.trainPrompts] + ratesInputs, outputs: [L.trainCounts]) {
            try await collect(collectArguments(prompts: L.trainPrompts,
                                               mode: ["--per-prompt", cfg.string("training.generations_per_prompt")!, "--no-early-stop"],
                                               seed: StableHash.combine(seed, 1), db: L.path("train_counts.sqlite"), out: L.trainCounts))
        }
        try await stage("train", config: ["seed", "training"], inputs: [L.trainCounts, L.trainPrompts], outputs: [L.model]) {
            var a = ["--data", L.trainCounts, "--prompts", L.trainPrompts, "--out", L.model, "--seed", String(seed),
                     "--features", cfg.string("training.features")!, "--model", cfg.string("training.model")!,
                     "--buckets", cfg.string("training.buckets")!, "--word-ngrams", cfg.string("training.word_ngrams")!,
                     "--char-ngrams", cfg.string("training.char_ngrams")!, "--hidden", cfg.list("training.hidden_layers").joined(separator: ","),
                     "--epochs", cfg.string("training.epochs")!, "--batch-size", cfg.string("training.batch_size")!,
                     "--weight-decay", cfg.string("training.weight_decay")!, "--validation-fraction", cfg.string("training.validation_fraction")!,
                     "--patience", cfg.string("training.patience")!]
            if !cfg.list("training.fields").isEmpty { a += ["--fields", cfg.list("training.fields").joined(separator: ",")] }
            if let lr = cfg.string("training.learning_rate") { a += ["--learning-rate", lr] }
            a += embeddingArguments(model: true)
            _ = try await stageCommand(Train.self, a).execute()
        }
        try await stage("predict", config: ["training.embedding_endpoint"], inputs: [L.model, L.calibrationPrompts, L.testPrompts],
                        outputs: [L.predictionsCalibration, L.predictionsTest]) {
            for (p, o) in [(L.calibrationPrompts, L.predictionsCalibration), (L.testPrompts, L.predictionsTest)] {
                try await stageCommand(Predict.self, ["--model", L.model, "--prompts", p, "--out", o] + embeddingArguments(model: false)).execute()
            }
        }
        try await stage("plan", config: ["seed", "calibration.strategy", "calibration.budget", "calibration.max_weight", "calibration.tau_grid"],
                        inputs: [L.predictionsCalibration], outputs: [L.plan, PlanFile.settingsPath(for: L.plan)]) {
            try stageCommand(Plan.self, ["--predictions", L.predictionsCalibration, "--budget", cfg.string("calibration.budget")!,
                            "--strategy", cfg.string("calibration.strategy")!, "--max-weight", cfg.string("calibration.max_weight")!,
                            "--tau-grid=" + cfg.string("calibration.tau_grid")!, "--seed", String(seed), "--out", L.plan]).run()
        }
        try await stage("calibration_obs", config: Self.collectKeys, inputs: [L.plan, L.calibrationPrompts] + ratesInputs,
                        outputs: [L.calibrationObservations]) {
            try await collect(collectArguments(prompts: L.calibrationPrompts, mode: ["--plan", L.plan],
                                               seed: StableHash.combine(seed, 2), db: L.path("calibration_obs.sqlite"),
                                               out: L.calibrationObservations))
        }
        try await stage("calibrate", config: ["calibration.alpha", "calibration.guarantee", "calibration.delta", "calibration.bound"],
                        inputs: [L.plan, PlanFile.settingsPath(for: L.plan), L.calibrationObservations], outputs: [L.calibration]) {
            try stageCommand(Calibrate.self, ["--plan", L.plan, "--observations", L.calibrationObservations, "--alpha", cfg.string("calibration.alpha")!,
                                 "--guarantee", cfg.string("calibration.guarantee")!, "--delta", cfg.string("calibration.delta")!,
                                 "--bound", cfg.string("calibration.bound")!, "--out", L.calibration]).run()
        }
        try await stage("bound", config: [], inputs: [L.calibration, L.predictionsTest], outputs: [L.lpb]) {
            try stageCommand(Bound.self, ["--calibration", L.calibration, "--predictions", L.predictionsTest, "--out", L.lpb]).run()
        }
        let testN = cfg.int("test.generations_per_prompt")
        if testN > 0 {
            try await stage("test_obs", config: Self.collectKeys + ["test.generations_per_prompt"], inputs: [L.testPrompts] + ratesInputs,
                            outputs: [L.testObservations]) {
                try await collect(collectArguments(prompts: L.testPrompts, mode: ["--per-prompt", String(testN)],
                                                   seed: StableHash.combine(seed, 3), db: L.path("test_obs.sqlite"), out: L.testObservations))
            }
            try await stage("evaluate", config: [], inputs: [L.lpb, L.testObservations] + ratesInputs, outputs: [L.evaluation]) {
                try stageCommand(Evaluate.self, ["--lpb", L.lpb, "--truth", L.testObservations, "--json", L.evaluation]
                                   + (simulated ? ["--rates", ratesInputs[0]] : [])).run()
            }
        } else {
            try? FileManager.default.removeItem(atPath: L.evaluation)
        }
        let info = RunInfo(title: cfg.string("title")!, generator: cfg.string("generator.kind")!, model: cfg.string("generator.model"),
                           rater: cfg.string("rater.kind")!, simulated: simulated, riskiest: cfg.int("report.riskiest"))
        try writeAtomically(try encodeJSON(info), to: L.info)
        let summary = try ReportBuilder(layout: L).write()
        if let t = summary.test {
            say("test: mean LPB \(Num.fixed(t.meanLPB, 1)), median \(Num.format(t.medianLPB))"
                + (t.evaluation.map { e in
                    ", coverage \(Num.fixed(e.coverageLower, 3))–\(Num.fixed(e.coverageUpper, 3))"
                        + (e.interval95Text.map { " (\($0))" } ?? "")
                } ?? ""))
        }
        say("wrote \(L.summary)")
        say("report: \(L.report)" + (simulated ? "  (SIMULATED)" : ""))
    }

    func embeddingArguments(model: Bool) -> [String] {
        guard cfg.string("training.features") == "embeddings" else { return [] }
        var a = ["--embedding-endpoint", cfg.string("training.embedding_endpoint") ?? cfg.list("generator.endpoints")[0],
                 "--embedding-cache", layout.path("embeddings.sqlite"), "--api-key-env", cfg.string("generator.api_key_env")!]
        if model { a += ["--embedding-model", cfg.string("training.embedding_model")!] }
        return a
    }

    /// Seeded split of the prompts (each split keeps the file's order), and the simulated
    /// rates when they come from the text.
    func writeSplit() throws {
        var rng = SeededRNG(seed: seed).derived(0x73706c6974)  // "split"
        let perm = rng.permutation(prompts.count)
        let sizes = Self.splitSizes(n: prompts.count, config: cfg)
        let parts = [Array(perm[0..<sizes.train]), Array(perm[sizes.train..<(sizes.train + sizes.calibration)]),
                     Array(perm[(sizes.train + sizes.calibration)...])]
        for (rows, path) in zip(parts, [layout.trainPrompts, layout.calibrationPrompts, layout.testPrompts]) {
            try writeAtomically(rows.sorted().map { promptLines[$0] + "\n" }.joined(), to: path)
        }
        if cfg.string("generator.simulated_rate_function") == "demo" {
            var w = CSVWriter(columns: ["id", "p"])
            for p in prompts { w.row([p.id, Num.format(TextRates.demo(p.prompt))]) }
            try w.write(to: layout.rates)
        }
        say("split: \(parts[0].count) train, \(parts[1].count) calibration, \(parts[2].count) test")
    }
}
