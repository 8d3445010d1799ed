import Foundation
import TTUCore
import TTUFiles
import TTUModel

/// Fits the predictor p̂(x) of a prompt's unsafe probability by maximum likelihood on
/// survival data (docs/method.md §2), and compares it with the constant predictor.
public enum TrainStage {
    public enum Features: String, CaseIterable, Sendable, Codable, SettingChoice { case hashed, embeddings, fields }
    public enum ModelKind: String, CaseIterable, Sendable, Codable, SettingChoice { case logistic, mlp }

    public struct Settings: Sendable, Codable {
        /// `id,n,k` counts or `id,observed,event` first-unsafe times.
        public var data: String
        public var prompts: String
        /// Where the prompt file keeps prompt and id; nil: the standard `id`, `prompt`.
        public var promptFormat: PromptFormat?
        public var out: String
        public var features = Features.hashed
        /// fields: numeric keys of the prompt records.
        public var fields: [String] = []
        public var model = ModelKind.logistic
        public var buckets = 4096
        public var wordNgrams = 1...2
        public var charNgrams = 3...5
        public var embedding = EmbeddingSettings()
        public var hiddenLayers = [32]
        /// Default 0.01 for logistic, 0.003 for mlp.
        public var learningRate: Double?
        public var epochs = 300
        public var batchSize = 32
        public var weightDecay = 1e-4
        public var validationFraction = 0.2
        public var patience = 20
        public var seed: UInt64 = 1

        public init(data: String, prompts: String, out: String) {
            self.data = data
            self.prompts = prompts
            self.out = out
        }

        public func validate() throws {
            try checkDeclared()
            try promptFormat?.validate()
            if features == .embeddings, embedding.model == nil { throw SettingError("training.embedding_model", "embedding features need a model name") }
            if features == .embeddings, embedding.endpoint == nil { throw SettingError("training.embedding_endpoint", "embedding features need an endpoint") }
            if features == .fields, fields.isEmpty { throw SettingError("training.fields", "fields features need the keys to use, e.g. prompt_toxicity") }
            if features != .fields, !fields.isEmpty { throw SettingError("training.fields", "goes with features: fields") }
        }
    }

    /// Trains, writes the model file and says how it compares with the constant predictor.
    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) async throws -> ModelFile {
        try s.validate()
        let (survival, texts, labels, fieldRows) = try readTrainingData(s)
        let (spec, x) = try await featurize(s, texts: texts, fieldRows: fieldRows, console: console)
        let file = try fit(s, x: x, labels: labels, spec: spec)
        try writeAtomically(try file.jsonData(), to: s.out)
        let r = file.report!
        let gens = survival.generations.reduce(0, +), unsafe = survival.unsafe.reduce(0, +)
        console.say("train: \(survival.ids.count) prompts (\(survival.form.rawValue) data, \(gens) generations, \(unsafe) unsafe); "
            + "\(s.model.rawValue) on \(s.features.rawValue) features (\(x.cols)); epoch \(r.selectedEpoch) of \(r.epochs.count)"
            + (r.stoppedEarly ? " (early stop)" : ""))
        if let v = r.selectedValidationLogLikelihoodPerGeneration, let c = r.constantValidationLogLikelihoodPerGeneration {
            console.say("validation log-likelihood per generation on the \(r.validationRows) prompt\(r.validationRows == 1 ? "" : "s") that chose the epoch: model \(String(format: "%.6f", v)), "
                + "constant p̂ = \(String(format: "%.4g", r.pooledTrainingRate ?? .nan)): \(String(format: "%.6f", c))")
        }
        if let k = r.comparison {
            console.say("on \(k.prompts) other held-out prompts: gain over the constant \(String(format: "%+.5f", k.gainPerGeneration)) ± \(String(format: "%.5f", k.gainStandardError)) "
                + "per generation (± 1 SE) — " + Self.verdictText(k))
        } else if r.validationRows > 0 {
            console.say("too few held-out prompts to compare the predictor with a constant (it needs two besides those that chose the epoch)")
        }
        console.say("wrote \(s.out)")
        return file
    }

    /// The comparison with the constant predictor in words.
    public static func verdictText(_ k: PredictorComparison) -> String {
        switch k.verdict {
        case "better": return "the predictor is better"
        case "worse": return "the predictor is WORSE than a constant"
        default: return "the predictor is not distinguishable from a constant on this many prompts"
        }
    }

    /// The survival labels joined with their prompts (every id must be a prompt).
    static func readTrainingData(_ s: Settings) throws
        -> (SurvivalDataFile, texts: [String], labels: [SurvivalLabel], fields: [[Double]]) {
        let survival = try SurvivalDataFile.read(s.data)
        let (all, allFields) = try PromptFile.read(s.prompts, format: s.promptFormat ?? .standard, numericFields: s.features == .fields ? s.fields : [])
        var row: [String: Int] = [:]
        for (k, p) in all.enumerated() { row[p.id] = k }
        var texts: [String] = [], labels: [SurvivalLabel] = [], fields: [[Double]] = []
        for (i, id) in survival.ids.enumerated() {
            guard let k = row[id] else {
                throw InputError(file: s.data, line: survival.lines[i], field: "id", "prompt id '\(id)' is not in \(s.prompts)")
            }
            texts.append(all[k].prompt)
            if !allFields.isEmpty { fields.append(allFields[k]) }
            labels.append(survival.form == .counts ? .counts(n: survival.generations[i], k: survival.unsafe[i])
                          : .firstUnsafe(observed: survival.generations[i], event: survival.unsafe[i] == 1))
        }
        return (survival, texts, labels, fields)
    }

    /// The featurizer the settings ask for, fitted where it needs fitting, and the features.
    static func featurize(_ s: Settings, texts: [String], fieldRows: [[Double]], console: Console) async throws
        -> (FeaturizerSpec, FeatureMatrix) {
        switch s.features {
        case .hashed:
            let h = HashedNGramFeaturizer(buckets: s.buckets, wordMin: s.wordNgrams.lowerBound, wordMax: s.wordNgrams.upperBound,
                                          charMin: s.charNgrams.lowerBound, charMax: s.charNgrams.upperBound)
            do { try h.validate() } catch let e as TTUModelError { throw SettingError("training.buckets", e.description) }
            return (.hashed(h), h.features(texts))
        case .embeddings:
            let endpoint = s.embedding.endpoint!, model = s.embedding.model!
            let vectors = try await PromptFeatures.embeddings(texts, endpoint: endpoint, model: model,
                                                             cachePath: s.embedding.cache ?? PromptFeatures.defaultCache(besides: s.out),
                                                             apiKey: s.embedding.apiKey, console: console)
            let e = EmbeddingFeatures(model: model, dimension: vectors.first?.count ?? 0, endpoint: endpoint)
            return (.embeddings(e), try e.features(vectors))
        case .fields:
            let f: FieldFeatures
            do { f = try FieldFeatures.fit(names: s.fields, rows: fieldRows) } catch let e as TTUModelError {
                throw InputError(file: s.prompts, field: s.fields.joined(separator: ","), e.description)
            }
            return (.fields(f), try f.features(fieldRows))
        }
    }

    /// Maximum likelihood fit, starting at the constant predictor (the pooled rate).
    static func fit(_ s: Settings, x: FeatureMatrix, labels: [SurvivalLabel], spec: FeaturizerSpec) throws -> ModelFile {
        let (ys, ws) = try SurvivalLabel.targetsAndWeights(labels)
        let config = TrainingConfig(learningRate: s.learningRate ?? (s.model == .logistic ? 0.01 : 0.003), weightDecay: s.weightDecay,
                                    batchSize: s.batchSize, epochs: s.epochs, seed: s.seed, hiddenLayers: s.hiddenLayers,
                                    validationFraction: s.validationFraction, earlyStoppingPatience: s.patience, startAtPooledRate: true)
        do {
            switch s.model {
            case .logistic:
                let (m, r) = try LogisticModel.fit(features: x, targets: ys, weights: ws, config: config)
                return ModelFile(model: m, training: config, report: r, featurizer: spec.settings)
            case .mlp:
                let (m, r) = try MLP.fit(features: x, targets: ys, weights: ws, config: config)
                return ModelFile(model: m, training: config, report: r, featurizer: spec.settings)
            }
        } catch let e as TTUModelError {
            throw InputError(file: s.data, e.description)
        }
    }
}

/// Applies a trained model to prompts: `id,p_hat` in prompt order.
public enum PredictStage {
    public struct Settings: Sendable {
        public var model: String
        public var prompts: String
        /// Where the prompt file keeps prompt and id.
        public var promptFormat = PromptFormat.standard
        public var out: String
        public var embedding = EmbeddingSettings()
        public init(model: String, prompts: String, out: String) {
            self.model = model
            self.prompts = prompts
            self.out = out
        }
    }

    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) async throws -> Predictions {
        let file: ModelFile
        do {
            file = try ModelFile.read(from: URL(fileURLWithPath: s.model))
        } catch let e as ModelFileError {
            throw InputError(file: s.model, e.description)
        } catch {
            throw InputError(file: s.model, "cannot read: \(error.localizedDescription)")
        }
        let spec: FeaturizerSpec
        do { spec = try FeaturizerSpec(settings: file.featurizer) } catch let e as TTUModelError {
            throw InputError(file: s.model, field: "featurizer", e.description)
        }
        let (ps, fields) = try PromptFile.read(s.prompts, format: s.promptFormat, numericFields: spec.fieldNames)
        // Hashed features are computed and used a chunk of prompts at a time, so memory does
        // not grow with the prompt set; the others (embeddings are fetched and cached in one
        // pass) as one matrix.
        let chunk = { if case .hashed = spec { return 8192 } else { return max(ps.count, 1) } }()
        var pHat: [Double] = []
        pHat.reserveCapacity(ps.count)
        for start in stride(from: 0, to: ps.count, by: chunk) {
            let r = start..<min(start + chunk, ps.count)
            let x = try await PromptFeatures.matrix(spec, texts: ps[r].map(\.prompt), fields: fields.isEmpty ? [] : Array(fields[r]), embedding: s.embedding,
                                                    defaultCache: PromptFeatures.defaultCache(besides: s.out), console: console)
            guard x.cols == file.predictor.inputDimension else {
                throw InputError(file: s.model, "the model takes \(file.predictor.inputDimension) features, the featurizer gives \(x.cols)")
            }
            pHat += file.predictor.predict(x)
        }
        let predictions = Predictions(ids: ps.map(\.id), pHat: pHat)
        try predictions.write(to: s.out)
        let p = predictions.pHat
        console.say("predict: \(ps.count) prompts, p̂ median \(String(format: "%.3g", Evaluation.median(p))), "
            + "range \(String(format: "%.3g", p.min() ?? .nan))–\(String(format: "%.3g", p.max() ?? .nan))")
        console.say("wrote \(s.out)")
        return predictions
    }
}

extension TrainStage.Settings: DeclaredSettings {
    public static var defaults: TrainStage.Settings { TrainStage.Settings(data: "", prompts: "", out: "") }

    public static let declarations: [Setting<TrainStage.Settings>] = [
        .value("training.features", \.features, doc: "hashed (word and character n-grams, built in), embeddings (/v1/embeddings, cached in RUN/embeddings.sqlite) or fields (numeric keys of the prompt records, standardised)."),
        .list("training.fields", \.fields, doc: "fields: the prompt records' numeric keys (dotted paths into nested objects, CSV columns) to use, e.g. [prompt.toxicity]. Required for fields."),
        .value("training.buckets", \.buckets, doc: "hashed: number of hash buckets (features).", check: SettingRule.positive),
        .value("training.word_ngrams", \.wordNgrams, doc: "hashed: word n-gram lengths MIN-MAX (0-0: none)."),
        .value("training.char_ngrams", \.charNgrams, doc: "hashed: character n-gram lengths MIN-MAX (0-0: none)."),
        .optional("training.embedding_endpoint", \.embedding.endpoint, doc: "embeddings: API root (default: the first generator endpoint)."),
        .optional("training.embedding_model", \.embedding.model, doc: "embeddings: model name. Required for embeddings."),
        .value("training.model", \.model, doc: "logistic regression or a small MLP."),
        .list("training.hidden_layers", \.hiddenLayers, flag: "--hidden", doc: "mlp: hidden layer widths.",
              check: { $0.isEmpty || $0.contains { $0 < 1 } ? "must be positive widths" : nil }),
        .optional("training.learning_rate", \.learningRate, doc: "AdamW learning rate (default 0.01 for logistic, 0.003 for mlp).",
                  check: { $0 > 0 ? nil : "must be > 0" }),
        .value("training.epochs", \.epochs, doc: "Most epochs (early stopping usually ends sooner).", check: SettingRule.positive),
        .value("training.batch_size", \.batchSize, doc: "Prompts per optimiser step.", check: SettingRule.positive),
        .value("training.weight_decay", \.weightDecay, doc: "AdamW weight decay.", check: { $0 >= 0 ? nil : "must be ≥ 0" }),
        .value("training.validation_fraction", \.validationFraction, doc: "Training prompts held out to pick the epoch and to compare with a constant predictor.",
               check: { $0 > 0 && $0 < 1 ? nil : "must be in (0, 1): it picks the epoch and measures the predictor" }),
        .value("training.patience", \.patience, doc: "Stop after this many epochs without a better validation loss.", check: SettingRule.positive),
    ]
}
