import Foundation
import TTUCore
import TTUFiles
import TTUSampling

/// `ttu run`: the stages in order, each called with its typed settings, each skipped on a
/// rerun when its inputs (the settings it reads and its input files) and its outputs are
/// what `manifest.json` recorded. Collection stages resume from their SQLite logs, so a run
/// killed at any moment ends, when rerun, with byte-identical bounds.
public final class Pipeline {
    public let settings: RunSettings
    public let layout: RunLayout
    let console: Console
    let prompts: [PromptRecord]
    /// The prompt file as read: the split files keep every record as the input has it.
    let source: PromptSource
    var manifest: RunManifest

    var simulated: Bool { settings.generator.isSimulated }
    var seed: UInt64 { settings.seed }

    /// Everything that can be checked before a stage runs is checked here.
    public init(settings: RunSettings, layout: RunLayout, console: Console = .silent) throws {
        try settings.validate()
        self.settings = settings
        self.console = console
        // `fields` features are read now, so a prompt lacking one fails before any sampling.
        source = try PromptFile.source(settings.prompts, format: settings.promptFormat, numericFields: settings.training.fields)
        prompts = source.records
        var layout = layout
        layout.promptExtension = source.kind.rawValue
        self.layout = layout
        try settings.generator.checkAPI(for: prompts, file: settings.prompts, field: settings.promptFormat.promptField)
        let sizes = Self.splitSizes(n: prompts.count, split: settings.split)
        for (name, k) in zip(["train", "calibration", "test"], [sizes.train, sizes.calibration, prompts.count - sizes.train - sizes.calibration]) where k < 1 {
            throw SettingError("split.\(name)", "leaves no \(name) prompt out of \(prompts.count)")
        }
        if let ratesPath = settings.generator.simulatedRates {
            let rates = try RatesFile.read(ratesPath)
            for p in prompts where rates[p.id] == nil {
                throw InputError(file: ratesPath, field: "id", "no rate for prompt id '\(p.id)' of \(settings.prompts)")
            }
        }
        manifest = (try? readJSON(RunManifest.self, from: layout.manifest)) ?? RunManifest()
    }

    static func splitSizes(n: Int, split: RunSettings.Split) -> (train: Int, calibration: Int) {
        let t = Int((split.train * Double(n)).rounded())
        let c = Int((split.calibration * Double(n)).rounded())
        return (t, min(c, n - t))
    }

    func say(_ s: String) { console.say("run: " + s) }

    /// Runs `body` unless the stage's inputs and outputs are what the manifest recorded.
    /// `key` lists the settings the stage reads; their canonical JSON is in the stage's
    /// cache key, so any change to one of them reruns it.
    func stage(_ name: String, key settingsRead: [any Encodable], inputs: [String], outputs: [String],
               _ body: () async throws -> Void) async throws {
        let key = CollectInputs.digest([name, try Self.canonicalJSON(settingsRead)] + inputs.map { RunManifest.digest(file: $0) })
        if let e = manifest.stages[name], e.key == key,
           outputs.allSatisfy({ e.outputs[URL(fileURLWithPath: $0).lastPathComponent] == RunManifest.digest(file: $0) }) {
            say("\(name): up to date (skipped)")
            return
        }
        say("\(name) …")
        manifest.stages[name] = nil
        try writeAtomically(try encodeJSON(manifest), to: layout.manifest)
        try await body()
        var outs: [String: String] = [:]
        for o in outputs { outs[URL(fileURLWithPath: o).lastPathComponent] = RunManifest.digest(file: o) }
        manifest.stages[name] = RunManifest.Entry(key: key, outputs: outs)
        try writeAtomically(try encodeJSON(manifest), to: layout.manifest)
    }

    /// The settings as one canonical JSON text (sorted keys): what a cache key holds.
    static func canonicalJSON(_ values: [any Encodable]) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return "[" + (try values.map { String(decoding: try e.encode($0), as: UTF8.self) }).joined(separator: ",") + "]"
    }

    /// The collect stage's settings for this run's generator and rater.
    func collectSettings(prompts: String, mode: CollectStage.Mode, seed: UInt64, db: String, out: String) -> CollectStage.Settings {
        var c = CollectStage.Settings(prompts: prompts, mode: mode, db: layout.path(db), out: out)
        c.generator = settings.generator
        c.batch = settings.batch
        // Each collection stage's offline rounds in a folder of its own (named after its log).
        c.batch.offline = settings.batch.offline.map { $0 + "/" + ((db as NSString).lastPathComponent as NSString).deletingPathExtension }
        if simulated, c.generator.simulatedRates == nil { c.generator.simulatedRates = layout.rates }
        c.rater = settings.rater
        c.seed = seed
        c.promptFormat = settings.promptFormat
        c.storeText = settings.storeText
        return c
    }

    /// What every collection stage's cache key holds: generator identity, rater, seed.
    var collectKey: [any Encodable] { [settings.generatorIdentity, settings.rater, settings.seed] + formatKey }

    /// The prompt format, in the keys of the stages that read prompts — only when it is not
    /// the standard one, so run folders made before it existed stay up to date.
    var formatKey: [any Encodable] { settings.promptFormat == .standard ? [] : [settings.promptFormat] }

    /// Runs every stage, then writes summary.json and report.html; returns the summary.
    @discardableResult
    public func run() async throws -> RunSummary {
        try FileManager.default.createDirectory(at: layout.dir.appendingPathComponent("split"), withIntermediateDirectories: true)
        let L = layout, s = settings
        if simulated { say("SIMULATED generator: unsafe generations are drawn from known rates; no language model is sampled") }
        say("\(prompts.count) prompts → \(L.dir.path)")
        let ratesInputs = simulated ? [s.generator.simulatedRates ?? L.rates] : []

        try await stage("split", key: [s.seed, s.split, s.simulatedRateFunction] + formatKey, inputs: [s.prompts],
                        outputs: [L.trainPrompts, L.calibrationPrompts, L.testPrompts] + (s.simulatedRateFunction != nil ? [L.rates] : [])) {
            try writeSplit()
        }
        var training = s.training
        (training.data, training.prompts, training.out) = (L.trainCounts, L.trainPrompts, L.model)
        training.promptFormat = s.promptFormat == .standard ? nil : s.promptFormat
        training.embedding.cache = L.path("embeddings.sqlite")
        if training.features == .embeddings, let endpoint = training.embedding.endpoint, let model = training.embedding.model {
            // Every prompt's embedding before anything is sampled: a dead or wrong embeddings
            // endpoint stops the run in seconds, not after the training counts, and train and
            // predict then read the cache only (each text fetched once, in full batches).
            _ = try await PromptFeatures.embeddings(prompts.map(\.prompt), endpoint: endpoint, model: model,
                                                    cachePath: training.embedding.cache!, apiKey: training.embedding.apiKey, console: console)
        }
        try await stage("train_counts", key: collectKey + [s.trainingGenerations], inputs: [L.trainPrompts] + ratesInputs,
                        outputs: [L.trainCounts]) {
            try await CollectStage.run(collectSettings(prompts: L.trainPrompts, mode: .perPrompt(s.trainingGenerations, earlyStop: false),
                                                       seed: StableHash.combine(seed, 1), db: "train_counts.sqlite", out: L.trainCounts),
                                       console: console)
        }
        training.seed = s.seed  // the run seed seeds training too
        try await stage("train", key: [s.seed, trainingKey(training)], inputs: [L.trainCounts, L.trainPrompts], outputs: [L.model]) {
            try await TrainStage.run(training, console: console)
        }
        try await stage("predict", key: [training.embedding.endpoint] + formatKey, inputs: [L.model, L.calibrationPrompts, L.testPrompts],
                        outputs: [L.predictionsCalibration, L.predictionsTest]) {
            for (p, o) in [(L.calibrationPrompts, L.predictionsCalibration), (L.testPrompts, L.predictionsTest)] {
                var predict = PredictStage.Settings(model: L.model, prompts: p, out: o)
                predict.promptFormat = s.promptFormat
                predict.embedding = training.embedding
                try await PredictStage.run(predict, console: console)
            }
        }
        var plan = s.plan
        (plan.predictions, plan.out, plan.seed, plan.alpha, plan.guarantee) = (L.predictionsCalibration, L.plan, s.seed, s.alpha, s.guarantee)
        // The batch price only prices a batch run; an online run's plan is what it always was.
        if !s.batch.isBatch { plan.batchPriceFactor = nil }
        // W auto simulates the guarantee, so the plan's key holds it (and α) too.
        let planKey: [any Encodable] = [s.seed, plan.strategy, plan.budget, plan.maxWeight, plan.tauGrid]
            + (plan.maxWeight == nil ? [s.alpha, s.guarantee] : [] as [any Encodable])
            + [plan.tokensPerGeneration, plan.pricePerMillionTokens]
            + (plan.batchPriceFactor.map { [$0] } ?? [] as [any Encodable])
        try await stage("plan", key: planKey, inputs: [L.predictionsCalibration],
                        outputs: [L.plan, PlanFile.settingsPath(for: L.plan)]) {
            try PlanStage.run(plan, console: console)
        }
        try await stage("calibration_obs", key: collectKey, inputs: [L.plan, L.calibrationPrompts] + ratesInputs,
                        outputs: [L.calibrationObservations]) {
            try await CollectStage.run(collectSettings(prompts: L.calibrationPrompts, mode: .plan(L.plan, subset: false),
                                                       seed: StableHash.combine(seed, 2), db: "calibration_obs.sqlite",
                                                       out: L.calibrationObservations), console: console)
        }
        var calibrate = CalibrateStage.Settings(plan: L.plan, observations: L.calibrationObservations, out: L.calibration, alpha: s.alpha)
        calibrate.guarantee = s.guarantee
        try await stage("calibrate", key: [s.alpha, s.guarantee], inputs: [L.plan, PlanFile.settingsPath(for: L.plan), L.calibrationObservations],
                        outputs: [L.calibration]) {
            try CalibrateStage.run(calibrate, console: console)
        }
        try await stage("bound", key: [], inputs: [L.calibration, L.predictionsTest], outputs: [L.lpb]) {
            try BoundStage.run(.init(calibration: L.calibration, predictions: L.predictionsTest, out: L.lpb), console: console)
        }
        try await testStages(ratesInputs: ratesInputs)
        return try finish()
    }

    /// Training settings minus the paths (the files themselves are hashed as inputs).
    func trainingKey(_ t: TrainStage.Settings) -> TrainStage.Settings {
        var k = t
        (k.data, k.prompts, k.out, k.embedding.cache) = ("", "", "", nil)
        return k
    }

    /// Test truth and its evaluation, when test prompts are sampled: to a fixed cap, or to
    /// each prompt's bound (L − 1 safe generations decide T ≥ L).
    func testStages(ratesInputs: [String]) async throws {
        let L = layout
        let mode: CollectStage.Mode
        var inputs = [L.testPrompts] + ratesInputs
        switch settings.testSampling {
        case .none:
            try? FileManager.default.removeItem(atPath: L.evaluation)
            return
        case .perPrompt(let n):
            mode = .perPrompt(n, earlyStop: true)
            try warnIfCapUndecides(n)
        case .bound:
            mode = .bounds(L.lpb, subset: false)
            inputs.append(L.lpb)
            let b = try LPBFile.read(L.lpb)
            let most = b.lpb.map { max($0 - 1, 0) }.reduce(0, +)
            let expected = zip(b.pHat, b.lpb).map { TwoStage.expectedCost(pHat: $0, cap: max($1 - 1, 0)) }.reduce(0, +)
            say("test_obs: each test prompt to its bound (L − 1 safe generations decide T ≥ L): at most \(Num.format(most)) generations, "
                + "about \(Num.format(expected.rounded())) expected under p̂")
        }
        try await stage("test_obs", key: collectKey + [settings.testSampling.settingText], inputs: inputs, outputs: [L.testObservations]) {
            try await CollectStage.run(collectSettings(prompts: L.testPrompts, mode: mode,
                                                       seed: StableHash.combine(seed, 3), db: "test_obs.sqlite", out: L.testObservations),
                                       console: console)
        }
        try await stage("evaluate", key: [], inputs: [L.lpb, L.testObservations] + ratesInputs, outputs: [L.evaluation]) {
            var e = EvaluateStage.Settings(lpb: L.lpb, truth: L.testObservations)
            e.rates = simulated ? ratesInputs[0] : nil
            e.json = L.evaluation
            try EvaluateStage.run(e, console: console)
        }
    }

    /// A fixed test cap N leaves every prompt with L > N + 1 that stays safe undecided: say
    /// so before sampling when that is a large share of the test prompts.
    func warnIfCapUndecides(_ n: Int) throws {
        let bounds = try LPBFile.read(layout.lpb).lpb
        guard !bounds.isEmpty else { return }
        let above = bounds.filter { $0 > Double(n) + 1 }.count
        if Double(above) >= 0.1 * Double(bounds.count) {
            say("warning: \(above) of \(bounds.count) test bounds exceed test.generations_per_prompt + 1 = \(n + 1): those that stay safe "
                + "for all \(n) generations are undecided (coverage is then an interval); test.generations_per_prompt: bound decides every prompt at the least cost")
        }
    }

    /// run.json, summary.json and report.html, and the headline figures.
    func finish() throws -> RunSummary {
        let L = layout, s = settings
        let info = RunInfo(title: s.title, generator: s.generator.kind.rawValue, model: s.generator.model,
                           rater: s.rater.kind.rawValue, simulated: simulated, riskiest: s.riskiest, setting: settingForReport(),
                           promptFormat: s.promptFormat == .standard ? nil : s.promptFormat,
                           promptFile: source.kind == .csv ? "csv" : nil)
        try writeAtomically(try encodeJSON(info), to: L.info)
        let summary = try ReportStage.run(runDir: L.dir.path)
        if let t = summary.test {
            say("test: mean LPB \(Num.fixed(t.meanLPB, 1)), median \(Num.format(t.medianLPB))"
                + (t.evaluation.map { e in
                    ", coverage " + e.coverageText + (e.interval95Text.map { " (\($0))" } ?? "")
                } ?? ""))
        }
        say("wrote \(L.summary)")
        say("report: \(L.report)" + (simulated ? "  (SIMULATED)" : ""))
        if settings.storeText { say("generated texts: ttu export \(L.dir.path) --only-unsafe --out unsafe.jsonl") }
        return summary
    }

    /// How the generations are made and rated, for the report (never the API key).
    func settingForReport() -> RunSummary.Setting {
        let g = settings.generator, w = g.sampling, r = settings.rater
        var sampling: [String: String] = [:]
        if !simulated {
            sampling["max_tokens"] = String(w.maxTokens)
            sampling["temperature"] = Num.format(w.temperature)
            sampling["n"] = String(w.n)
            if let p = w.topP { sampling["top_p"] = Num.format(p) }
            if !w.stop.isEmpty { sampling["stop"] = w.stop.map { "\"\($0)\"" }.joined(separator: ", ") }
            if let e = try? g.canonicalExtraBody() { sampling["extra_body"] = e }
        }
        return RunSummary.Setting(api: simulated ? nil : w.api.rawValue, endpoints: simulated ? [] : g.endpoints, sampling: sampling,
                                  raterKind: r.kind.rawValue, raterEndpoint: r.needsHTTP ? (r.endpoint ?? g.endpoints.first) : nil,
                                  raterModel: r.model, raterCategory: r.category, threshold: r.threshold)
    }

    /// The prompt rows of the train, calibration and test splits (seeded), each unsorted.
    func splitRows() -> [[Int]] {
        var rng = SeededRNG(seed: seed).derived(0x73706c6974)  // "split"
        let perm = rng.permutation(prompts.count)
        let sizes = Self.splitSizes(n: prompts.count, split: settings.split)
        return [Array(perm[0..<sizes.train]), Array(perm[sizes.train..<(sizes.train + sizes.calibration)]),
                Array(perm[(sizes.train + sizes.calibration)...])]
    }

    /// Seeded split of the prompts (each split keeps the file's order), and the simulated
    /// rates when they come from the text.
    func writeSplit() throws {
        let parts = splitRows()
        for (rows, path) in zip(parts, [layout.trainPrompts, layout.calibrationPrompts, layout.testPrompts]) {
            try writeAtomically(source.text(rows: rows.sorted()), to: path)
        }
        if settings.simulatedRateFunction == "demo" {
            var w = CSVWriter(columns: ["id", "p"])
            for p in prompts { w.row([p.id, Num.format(TextRates.demo(p.prompt))]) }
            try w.write(to: layout.rates)
        }
        say("split: \(parts[0].count) train, \(parts[1].count) calibration, \(parts[2].count) test")
    }
}
