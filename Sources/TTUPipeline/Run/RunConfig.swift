import Foundation
import TTUCore
import TTUFiles
import TTUFiles
import TTUSampling
import Yams

/// The `ttu run` configuration: a YAML file whose every key has a documented default
/// (`RunConfig.schema`; `examples/ttu.yaml` lists them all). It is read into a flat
/// `section.key → value` table, so unknown keys, wrong types and bad values are refused
/// at start with the file, line and key, before any stage runs.
public struct RunConfig {
    enum Kind {
        case string, int, double, list
        case choice([String])
    }

    struct Key {
        var name: String
        /// nil: no default (optional, or required where `RunConfig.validate` says so).
        var defaultValue: String?
        var kind: Kind
        var doc: String
    }

    /// Every key, in the order of `examples/ttu.yaml`.
    static let schema: [Key] = [
        Key(name: "prompts", defaultValue: nil, kind: .string, doc: "JSONL prompt file ({\"id\", \"prompt\"} per line), relative to this file. Required."),
        Key(name: "run_dir", defaultValue: nil, kind: .string, doc: "Run folder, relative to this file (default: runs/<config name>); `ttu run --out` overrides it."),
        Key(name: "title", defaultValue: "ttu run", kind: .string, doc: "Title of the report."),
        Key(name: "seed", defaultValue: "1", kind: .int, doc: "Seeds the split, training, the calibration draw and every generation."),
        Key(name: "split.train", defaultValue: "0.4", kind: .double, doc: "Fraction of prompts for training the predictor."),
        Key(name: "split.calibration", defaultValue: "0.4", kind: .double, doc: "Fraction for calibration."),
        Key(name: "split.test", defaultValue: "0.2", kind: .double, doc: "Fraction for test (bounds are reported for these). The three must sum to 1."),
        Key(name: "generator.kind", defaultValue: "openai", kind: .choice(["openai", "simulated"]), doc: "openai (an OpenAI-compatible server) or simulated (known rates; labelled SIMULATED everywhere)."),
        Key(name: "generator.endpoints", defaultValue: nil, kind: .list, doc: "API root(s), e.g. [http://127.0.0.1:8081/v1]. Required for openai."),
        Key(name: "generator.model", defaultValue: nil, kind: .string, doc: "Model name sent to the server. Required for openai."),
        Key(name: "generator.api", defaultValue: "completions", kind: .choice(["completions", "chat"]), doc: "completions (/v1/completions) or chat (/v1/chat/completions)."),
        Key(name: "generator.max_tokens", defaultValue: "30", kind: .int, doc: "max_tokens per generation."),
        Key(name: "generator.temperature", defaultValue: "1", kind: .double, doc: "Sampling temperature."),
        Key(name: "generator.top_p", defaultValue: nil, kind: .double, doc: "Nucleus sampling top_p (omitted when not set)."),
        Key(name: "generator.stop", defaultValue: nil, kind: .list, doc: "Stop sequences."),
        Key(name: "generator.extra_body", defaultValue: nil, kind: .string, doc: "Extra request fields, a JSON object merged into every request, e.g. '{\"top_k\": 0, \"min_p\": 0, \"repeat_penalty\": 1}' for llama-cpp-python (whose sampling defaults are not OpenAI's)."),
        Key(name: "generator.n", defaultValue: "1", kind: .int, doc: "Generations per request."),
        Key(name: "generator.api_key_env", defaultValue: "OPENAI_API_KEY", kind: .string, doc: "Environment variable holding the API key (the key itself never goes in a file)."),
        Key(name: "generator.concurrency", defaultValue: "8", kind: .string, doc: "Requests in flight per endpoint, or auto (found by AIMD: +1 per round of successes, halved on 429/503/timeouts, Retry-After honoured)."),
        Key(name: "generator.max_concurrency", defaultValue: "64", kind: .int, doc: "auto: the most requests in flight per endpoint."),
        Key(name: "generator.timeout", defaultValue: "60", kind: .double, doc: "Seconds one request may take."),
        Key(name: "generator.max_retries", defaultValue: "6", kind: .int, doc: "Retries per request before a prompt is incomplete."),
        Key(name: "generator.simulated_rates", defaultValue: nil, kind: .string, doc: "simulated: CSV id,p of the true unsafe probabilities, relative to this file."),
        Key(name: "generator.simulated_rate_function", defaultValue: nil, kind: .choice(["demo"]), doc: "simulated: instead of a file, p from the prompt text (demo: base rate × word multipliers, 1e-4…0.2)."),
        Key(name: "generator.simulated_latency", defaultValue: "0", kind: .double, doc: "simulated: seconds per request (to watch or interrupt a run)."),
        Key(name: "rater.kind", defaultValue: "lexicon", kind: .choice(RaterSettings.Kind.allCases.map(\.rawValue)), doc: "lexicon (offline word list), moderation (/v1/moderations), judge (an LLM), guard (a Llama-Guard-style classifier; the score is P(unsafe) from its logprobs) or command (a local program)."),
        Key(name: "rater.endpoint", defaultValue: nil, kind: .string, doc: "API root for moderation/judge/guard (default: the first generator endpoint)."),
        Key(name: "rater.model", defaultValue: nil, kind: .string, doc: "Model of the judge or guard (required) or moderation (optional)."),
        Key(name: "rater.category", defaultValue: nil, kind: .string, doc: "moderation: use category_scores[NAME] instead of flagged."),
        Key(name: "rater.categories", defaultValue: nil, kind: .list, doc: "guard: the categories that count, e.g. [S1, S10] (default: all); an unsafe verdict naming only others scores 0."),
        Key(name: "rater.judge_template", defaultValue: nil, kind: .string, doc: "judge: prompt template file ({prompt}, {completion})."),
        Key(name: "rater.command", defaultValue: nil, kind: .string, doc: "command: shell command speaking JSONL ({\"text\"} in, {\"score\"} out)."),
        Key(name: "rater.lexicon", defaultValue: nil, kind: .string, doc: "lexicon: word list file instead of the shipped one."),
        Key(name: "rater.threshold", defaultValue: "0.5", kind: .double, doc: "A generation is unsafe when its score ≥ threshold."),
        Key(name: "training.generations_per_prompt", defaultValue: "200", kind: .int, doc: "N: generations drawn for every training prompt (all N, no early stop; labels are id,n,k)."),
        Key(name: "training.features", defaultValue: "hashed", kind: .choice(["hashed", "embeddings", "fields"]), doc: "hashed (word and character n-grams, built in), embeddings (/v1/embeddings, cached in RUN/embeddings.sqlite) or fields (numeric keys of the prompt records, standardised)."),
        Key(name: "training.fields", defaultValue: nil, kind: .list, doc: "fields: the prompt records' numeric keys to use, e.g. [prompt_toxicity]. Required for fields."),
        Key(name: "training.buckets", defaultValue: "4096", kind: .int, doc: "hashed: number of hash buckets (features)."),
        Key(name: "training.word_ngrams", defaultValue: "1-2", kind: .string, doc: "hashed: word n-gram lengths MIN-MAX (0-0: none)."),
        Key(name: "training.char_ngrams", defaultValue: "3-5", kind: .string, doc: "hashed: character n-gram lengths MIN-MAX (0-0: none)."),
        Key(name: "training.embedding_endpoint", defaultValue: nil, kind: .string, doc: "embeddings: API root (default: the first generator endpoint)."),
        Key(name: "training.embedding_model", defaultValue: nil, kind: .string, doc: "embeddings: model name. Required for embeddings."),
        Key(name: "training.model", defaultValue: "logistic", kind: .choice(["logistic", "mlp"]), doc: "logistic regression or a small MLP."),
        Key(name: "training.hidden_layers", defaultValue: "32", kind: .list, doc: "mlp: hidden layer widths."),
        Key(name: "training.learning_rate", defaultValue: nil, kind: .double, doc: "AdamW learning rate (default 0.01 for logistic, 0.003 for mlp)."),
        Key(name: "training.epochs", defaultValue: "300", kind: .int, doc: "Most epochs (early stopping usually ends sooner)."),
        Key(name: "training.batch_size", defaultValue: "32", kind: .int, doc: "Prompts per optimiser step."),
        Key(name: "training.weight_decay", defaultValue: "0.0001", kind: .double, doc: "AdamW weight decay."),
        Key(name: "training.validation_fraction", defaultValue: "0.2", kind: .double, doc: "Training prompts held out to pick the epoch and to compare with a constant predictor."),
        Key(name: "training.patience", defaultValue: "20", kind: .int, doc: "Stop after this many epochs without a better validation loss."),
        Key(name: "calibration.alpha", defaultValue: "0.1", kind: .double, doc: "α: allowed miscoverage, in (0, 1)."),
        Key(name: "calibration.guarantee", defaultValue: "corrected", kind: .choice(GuaranteeSettings.Kind.allCases.map(\.rawValue)), doc: "corrected (marginal, each level's estimate raised by margin standard errors against the optimism of selection at finite n), marginal (the paper's rule) or pac (holds for this run with probability ≥ 1 − δ). docs/method.md §4."),
        Key(name: "calibration.margin", defaultValue: Num.format(GuaranteeSettings.defaultMargin), kind: .double, doc: "corrected: standard errors added to each level's estimated miscoverage."),
        Key(name: "calibration.delta", defaultValue: "0.05", kind: .double, doc: "pac: δ."),
        Key(name: "calibration.inequality", defaultValue: "bernstein", kind: .choice(["bernstein", "betting", "hoeffding"]), doc: "pac: the concentration inequality (bernstein recommended: docs/method.md §4). The old name calibration.bound is read too, for one release."),
        Key(name: "calibration.strategy", defaultValue: "optimized", kind: .choice(AllocationStrategy.allCases.map(\.rawValue)), doc: "Budget allocation: naive, basic, trimmed, optimized (docs/method.md §3; see ttu plan --help)."),
        Key(name: "calibration.budget", defaultValue: "100", kind: .double, doc: "B: expected generations per calibration prompt."),
        Key(name: "calibration.max_weight", defaultValue: "auto", kind: .string, doc: "W: largest inverse-probability weight; every bound L is capped at M = ⌊B·W⌋. auto: chosen from the calibration predictions, α, B and the guarantee by simulating the calibration under p̂ (docs/method.md §3; the choice and its reason are in plan.json)."),
        Key(name: "calibration.tau_grid", defaultValue: "auto", kind: .string, doc: "Candidate levels τ_j: auto (300 levels up to where the largest candidate bound reaches M for 90% of the prompts) or MINLOG10,MAXLOG10,COUNT (log-spaced; the paper's: -3,-0.75,300)."),
        Key(name: "calibration.tokens_per_generation", defaultValue: nil, kind: .double, doc: "Tokens one generation costs (prompt + completion): the plan then states its expected and worst-case tokens."),
        Key(name: "calibration.price_per_million_tokens", defaultValue: nil, kind: .double, doc: "Price of a million tokens: the plan then states its expected and worst-case cost (needs tokens_per_generation)."),
        Key(name: "test.generations_per_prompt", defaultValue: "0", kind: .int, doc: "Cap on generations per test prompt to sample test truth and measure coverage (0: no test sampling)."),
        Key(name: "report.riskiest", defaultValue: "25", kind: .int, doc: "Rows in the report's table of riskiest test prompts."),
    ]

    static let sections = ["split", "generator", "rater", "training", "calibration", "test", "report"]

    public let path: String
    /// The folder relative paths are read from.
    public let baseDir: URL
    /// Old key names still read, for one release: old → new.
    static let deprecatedKeys = ["calibration.bound": "calibration.inequality"]
    /// Deprecation notes for old key names this config used.
    public private(set) var notes: [String] = []
    private(set) var values: [String: String] = [:]
    private(set) var lists: [String: [String]] = [:]
    private(set) var lines: [String: Int] = [:]
    /// Every stage's typed settings, validated.
    public private(set) var settings = RunSettings(prompts: "")

    public init(path: String, text: String? = nil) throws {
        self.path = path
        baseDir = URL(fileURLWithPath: path).deletingLastPathComponent()
        let source: String
        if let text {
            source = text
        } else {
            guard let d = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "cannot read file (missing or unreadable)") }
            source = String(decoding: d, as: UTF8.self)
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: source)
        } catch let e as YamlError {
            throw InputError(file: path, "not valid YAML: \(Self.describe(e))")
        } catch {
            throw InputError(file: path, "not valid YAML: \(error)")
        }
        if let node {
            guard let top = node.mapping else { throw InputError(file: path, line: node.mark?.line, "expected a mapping of keys (see examples/ttu.yaml)") }
            try read(top, prefix: "")
        }
        for k in Self.schema where values[k.name] == nil && lists[k.name] == nil {
            if let d = k.defaultValue {
                if case .list = k.kind { lists[k.name] = d.split(separator: ",").map(String.init) } else { values[k.name] = d }
            }
        }
        try validate()
    }

    static func describe(_ e: YamlError) -> String {
        "\(e)".replacingOccurrences(of: "\n", with: " ")
    }

    private mutating func read(_ map: Node.Mapping, prefix: String) throws {
        for (k, v) in map {
            guard let key = k.scalar?.string else {
                throw InputError(file: path, line: k.mark?.line, "keys must be plain names")
            }
            var full = prefix.isEmpty ? key : prefix + "." + key
            let line = k.mark?.line
            if let new = Self.deprecatedKeys[full] {
                notes.append("\(path):\(line ?? 0): '\(full)' is deprecated, use '\(new)'")
                full = new
            }
            if prefix.isEmpty, Self.sections.contains(key) {
                guard let m = v.mapping else {
                    if v.scalar?.string.isEmpty ?? false || v.scalar?.string == "null" { continue }
                    throw InputError(file: path, line: line, field: key, "must be a mapping of keys")
                }
                try read(m, prefix: key)
                continue
            }
            guard let spec = Self.schema.first(where: { $0.name == full }) else {
                let known = Self.schema.map(\.name).filter { prefix.isEmpty ? !$0.contains(".") : $0.hasPrefix(prefix + ".") }
                    .map { prefix.isEmpty ? $0 : String($0.dropFirst(prefix.count + 1)) }
                let sectionsHint = prefix.isEmpty ? " and sections " + Self.sections.joined(separator: ", ") : ""
                throw InputError(file: path, line: line, field: full,
                                 "unknown key (known\(prefix.isEmpty ? "" : " in '\(prefix)'"): \(known.joined(separator: ", "))\(sectionsHint))")
            }
            if lines[full] != nil { throw InputError(file: path, line: line, field: full, "given twice") }
            lines[full] = line
            if let s = v.scalar, s.string == "null" || s.string == "~" || (s.string.isEmpty && s.style == .plain) { continue }
            if case .list = spec.kind {
                if let seq = v.sequence {
                    var items: [String] = []
                    for item in seq {
                        guard let s = item.scalar?.string else {
                            throw InputError(file: path, line: item.mark?.line ?? line, field: full, "list items must be plain values")
                        }
                        items.append(s)
                    }
                    lists[full] = items
                } else if let s = v.scalar?.string {
                    lists[full] = [s]
                } else {
                    throw InputError(file: path, line: line, field: full, "expected a value or a list")
                }
                continue
            }
            guard let s = v.scalar?.string else {
                throw InputError(file: path, line: line, field: full, "expected a single value, not a list or mapping")
            }
            values[full] = s
            try check(full, s, spec.kind)
        }
    }

    private func check(_ key: String, _ s: String, _ kind: Kind) throws {
        let line = lines[key]
        switch kind {
        case .string, .list: break
        case .int:
            guard Int(s) != nil else { throw InputError(file: path, line: line, field: key, "'\(s)' is not a whole number") }
        case .double:
            guard let x = Double(s), x.isFinite else { throw InputError(file: path, line: line, field: key, "'\(s)' is not a number") }
        case .choice(let options):
            guard options.contains(s) else {
                throw InputError(file: path, line: line, field: key, "'\(s)' is not one of \(options.joined(separator: ", "))")
            }
        }
    }

    // MARK: access

    func string(_ k: String) -> String? { values[k] }
    func int(_ k: String) -> Int { Int(values[k]!)! }
    func double(_ k: String) -> Double { Double(values[k]!)! }
    func optionalDouble(_ k: String) -> Double? { values[k].flatMap(Double.init) }
    /// `calibration.max_weight`: auto (nil) or a number.
    func maxWeightSetting() throws -> Double? {
        let v = string("calibration.max_weight")!.trimmingCharacters(in: .whitespaces)
        if v == "auto" { return nil }
        guard let w = Double(v), w.isFinite else { throw fail("calibration.max_weight", "'\(v)' is neither auto nor a number") }
        return w
    }
    func list(_ k: String) -> [String] { lists[k] ?? [] }
    /// A path key resolved against the config's folder.
    public func file(_ k: String) -> String? {
        values[k].map { $0.hasPrefix("/") ? $0 : baseDir.appendingPathComponent($0).path }
    }

    public func fail(_ key: String, _ message: String) -> InputError {
        InputError(file: path, line: lines[key] ?? lines[key.split(separator: ".").first.map(String.init) ?? ""], field: key, message)
    }

    /// Cross-key rules, checked before anything runs: the typed settings are built and
    /// validated by the same `validate()` the subcommands use, and a `SettingError` becomes
    /// this file's `line: field` error.
    private mutating func validate() throws {
        guard values["prompts"] != nil else { throw fail("prompts", "missing: the prompt file (JSONL) is required") }
        let fr = ["split.train", "split.calibration", "split.test"].map(double)
        for (k, f) in zip(["split.train", "split.calibration", "split.test"], fr) where !(f >= 0 && f <= 1) {
            throw fail(k, "\(f) is not a fraction in [0, 1]")
        }
        if abs(fr.reduce(0, +) - 1) > 1e-9 {
            throw InputError(file: path, line: lines["split.train"] ?? lines["split.calibration"] ?? lines["split.test"], field: "split",
                             "train + calibration + test = \(Num.format(fr.reduce(0, +))), must be 1")
        }
        guard fr[0] > 0 else { throw fail("split.train", "the training split must not be empty") }
        guard fr[1] > 0 else { throw fail("split.calibration", "the calibration split must not be empty") }
        do {
            settings = try makeSettings()
            try settings.validate()
        } catch let e as SettingError {
            throw fail(e.key, e.message)
        }
    }

    /// The typed settings of every stage, from the key table.
    private func makeSettings() throws -> RunSettings {
        var r = RunSettings(prompts: file("prompts")!)
        r.title = string("title")!
        r.seed = UInt64(truncatingIfNeeded: int("seed"))
        r.split = .init(train: double("split.train"), calibration: double("split.calibration"), test: double("split.test"))
        r.simulatedRateFunction = string("generator.simulated_rate_function")
        r.generator = generatorSettings()
        r.rater = raterSettings()
        r.trainingGenerations = int("training.generations_per_prompt")
        r.training = try trainingSettings()
        r.plan.strategy = AllocationStrategy(rawValue: string("calibration.strategy")!)!
        r.plan.budget = double("calibration.budget")
        r.plan.maxWeight = try maxWeightSetting()
        r.plan.tauGrid = try TauGridChoice.parse(string("calibration.tau_grid")!)
        r.plan.tokensPerGeneration = optionalDouble("calibration.tokens_per_generation")
        r.plan.pricePerMillionTokens = optionalDouble("calibration.price_per_million_tokens")
        r.alpha = double("calibration.alpha")
        r.guarantee.kind = GuaranteeSettings.Kind(rawValue: string("calibration.guarantee")!)!
        r.guarantee.delta = double("calibration.delta")
        r.guarantee.margin = double("calibration.margin")
        r.guarantee.inequality = ConcentrationBound(rawValue: string("calibration.inequality")!)!
        r.testGenerations = int("test.generations_per_prompt")
        r.riskiest = int("report.riskiest")
        return r
    }

    private func generatorSettings() -> GeneratorSettings {
        var g = GeneratorSettings()
        g.kind = GeneratorSettings.Kind(rawValue: string("generator.kind")!)!
        g.endpoints = list("generator.endpoints")
        g.model = string("generator.model")
        g.api = SamplingSettings.API(rawValue: string("generator.api")!)!
        g.maxTokens = int("generator.max_tokens")
        g.temperature = double("generator.temperature")
        g.topP = optionalDouble("generator.top_p")
        g.stop = list("generator.stop")
        g.n = int("generator.n")
        g.extraBody = string("generator.extra_body")
        g.apiKey = APIKeySource(environmentVariable: string("generator.api_key_env")!)
        if string("generator.concurrency") == "auto" {
            g.adaptiveConcurrency = true
        } else {
            g.concurrency = Int(string("generator.concurrency")!) ?? 0   // not a number: refused by validate
        }
        g.maxConcurrency = int("generator.max_concurrency")
        g.timeout = double("generator.timeout")
        g.maxRetries = int("generator.max_retries")
        g.simulatedRates = file("generator.simulated_rates")
        g.simulatedLatency = double("generator.simulated_latency")
        return g
    }

    private func raterSettings() -> RaterSettings {
        var r = RaterSettings()
        r.kind = RaterSettings.Kind(rawValue: string("rater.kind")!)!
        r.endpoint = string("rater.endpoint")
        r.model = string("rater.model")
        r.category = string("rater.category")
        r.categories = list("rater.categories")
        r.judgeTemplate = file("rater.judge_template")
        r.command = string("rater.command")
        r.lexicon = file("rater.lexicon")
        r.threshold = double("rater.threshold")
        return r
    }

    /// Training settings; the data, prompt and output paths are the run folder's.
    private func trainingSettings() throws -> TrainStage.Settings {
        var t = TrainStage.Settings(data: "", prompts: "", out: "")
        t.features = TrainStage.Features(rawValue: string("training.features")!)!
        t.fields = list("training.fields")
        t.model = TrainStage.ModelKind(rawValue: string("training.model")!)!
        t.buckets = int("training.buckets")
        t.wordNgrams = try SettingParse.range(string("training.word_ngrams")!, key: "training.word_ngrams")
        t.charNgrams = try SettingParse.range(string("training.char_ngrams")!, key: "training.char_ngrams")
        t.embedding.endpoint = string("training.embedding_endpoint") ?? list("generator.endpoints").first
        t.embedding.model = string("training.embedding_model")
        t.embedding.apiKey = APIKeySource(environmentVariable: string("generator.api_key_env")!)
        t.hiddenLayers = try list("training.hidden_layers").map {
            guard let w = Int($0), w >= 1 else { throw SettingError("training.hidden_layers", "'\($0)' is not a positive width") }
            return w
        }
        t.learningRate = optionalDouble("training.learning_rate")
        t.epochs = int("training.epochs")
        t.batchSize = int("training.batch_size")
        t.weightDecay = double("training.weight_decay")
        t.validationFraction = double("training.validation_fraction")
        t.patience = int("training.patience")
        t.seed = UInt64(truncatingIfNeeded: int("seed"))
        return t
    }

    /// The documented YAML with every key and its default (what examples/ttu.yaml holds).
    public static func exampleYAML() -> String {
        var o = "# ttu run --config ttu.yaml — every key, with its default and what it means.\n"
        o += "# Unknown keys are an error. Paths are relative to this file.\n"
        var section = ""
        for k in schema {
            let parts = k.name.split(separator: ".").map(String.init)
            let indent = parts.count > 1 ? "  " : ""
            if parts.count > 1, parts[0] != section {
                section = parts[0]; o += "\n\(section):\n"
            } else if parts.count == 1, !section.isEmpty {
                section = ""
            }
            o += "\(indent)# \(k.doc)\n"
            let v: String
            switch k.kind {
            case .list: v = k.defaultValue.map { "[\($0)]" } ?? "[]"
            default: v = k.defaultValue ?? "null"
            }
            o += "\(indent)\(parts.last!): \(v)\n"
        }
        return o
    }
}
