import ArgumentParser
import Foundation
import TTUCore
import TTUModel
import TTUFiles
import TTUReport
import TTUSampling

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the predictor p̂(x) of a prompt's unsafe probability from training survival data.",
        discussion: """
        --data is either id,n,k (k unsafe generations of n, what `collect --no-early-stop`
        writes) or id,observed,event (first-unsafe times, censored when event = 0); the
        form is detected from the header. Every id must be in --prompts. Fits by maximum
        likelihood (the weighted binary cross-entropy of METHOD §2), holding out
        --validation-fraction of the prompts (seeded) to pick the epoch (early stopping),
        and reports the validation log-likelihood per generation next to that of the
        constant predictor p̂ = pooled training rate: the predictor is worth using
        only if it beats it. Training starts at the constant predictor.

        Features: hashed (word and character n-grams hashed into --buckets numbers, built
        in, no network), embeddings (POST {endpoint}/embeddings, cached in SQLite so each
        text is fetched once) or fields (numeric keys of the prompt records named by
        --fields, e.g. a toxicity score of the prompt itself; standardised). The model
        file (versioned JSON) stores the featurizer settings, so `ttu predict` rebuilds
        the same features.
        """)

    @Option(help: "Training data: id,n,k or id,observed,event.") var data: String
    @Option(help: "Prompts, JSONL.") var prompts: String
    @Option(help: "hashed, embeddings or fields.") var features: FeatureKind = .hashed
    @Option(help: "fields: numeric keys of the prompt records, comma-separated (e.g. prompt_toxicity).") var fields: String?
    @Option(help: "logistic or mlp.") var model: ModelChoice = .logistic
    @Option(help: "Output model file (JSON).") var out: String
    @Option(help: "hashed: number of buckets.") var buckets: Int = 4096
    @Option(name: .customLong("word-ngrams"), help: "hashed: word n-gram lengths MIN-MAX (0-0: none).") var wordNgrams = "1-2"
    @Option(name: .customLong("char-ngrams"), help: "hashed: character n-gram lengths MIN-MAX (0-0: none).") var charNgrams = "3-5"
    @OptionGroup var embedding: EmbeddingOptions
    @Option(help: "mlp: hidden layer widths, comma-separated.") var hidden = "32"
    @Option(name: .customLong("learning-rate"), help: "AdamW learning rate (default 0.01 logistic, 0.003 mlp).") var learningRate: Double?
    @Option(help: "Most epochs.") var epochs = 300
    @Option(name: .customLong("batch-size"), help: "Prompts per step.") var batchSize = 32
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay = 1e-4
    @Option(name: .customLong("validation-fraction"), help: "Held-out fraction of prompts, in (0, 1).") var validationFraction = 0.2
    @Option(help: "Early stopping: epochs without a better validation loss.") var patience = 20
    @Option(help: "Seed of initialisation, validation split and shuffles.") var seed: UInt64 = 1

    enum FeatureKind: String, ExpressibleByArgument, CaseIterable { case hashed, embeddings, fields }
    enum ModelChoice: String, ExpressibleByArgument, CaseIterable { case logistic, mlp }

    func validate() throws {
        guard validationFraction > 0, validationFraction < 1 else { throw ValidationError("--validation-fraction must be in (0, 1)") }
        if features == .embeddings, embedding.model == nil { throw ValidationError("--features embeddings needs --embedding-model") }
        if features == .embeddings, embedding.endpoint == nil { throw ValidationError("--features embeddings needs --embedding-endpoint") }
        if features == .fields, fieldNames.isEmpty { throw ValidationError("--features fields needs --fields NAME[,NAME…]") }
        if features != .fields, fields != nil { throw ValidationError("--fields goes with --features fields") }
        guard hiddenLayers != nil else { throw ValidationError("--hidden must be comma-separated positive widths, got '\(hidden)'") }
    }

    var fieldNames: [String] {
        (fields ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    var hiddenLayers: [Int]? {
        let h = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !h.isEmpty, h.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return h.map { $0! }
    }

    func run() async throws {
        try await runStage { _ = try await execute() }
    }

    /// Trains, writes the model file and prints the comparison with the constant predictor.
    func execute() async throws -> ModelFile {
        let survival = try SurvivalDataFile.read(data)
        let (all, allFields) = try PromptFile.read(prompts, numericFields: features == .fields ? fieldNames : [])
        var text: [String: String] = [:]
        var fieldsOf: [String: [Double]] = [:]
        for (k, p) in all.enumerated() {
            text[p.id] = p.prompt
            if !allFields.isEmpty { fieldsOf[p.id] = allFields[k] }
        }
        var texts: [String] = []
        var labels: [SurvivalLabel] = []
        for (i, id) in survival.ids.enumerated() {
            guard let t = text[id] else {
                throw InputError(file: data, line: survival.lines[i], field: "id", "prompt id '\(id)' is not in \(prompts)")
            }
            texts.append(t)
            labels.append(survival.form == .counts ? .counts(n: survival.generations[i], k: survival.unsafe[i])
                          : .firstUnsafe(observed: survival.generations[i], event: survival.unsafe[i] == 1))
        }
        let spec: FeaturizerSpec
        let x: FeatureMatrix
        switch features {
        case .hashed:
            let w = try Self.range(wordNgrams, "--word-ngrams"), c = try Self.range(charNgrams, "--char-ngrams")
            let h = HashedNGramFeaturizer(buckets: buckets, wordMin: w.0, wordMax: w.1, charMin: c.0, charMax: c.1)
            do { try h.validate() } catch let e as TTUModelError { throw ValidationError(e.description) }
            spec = .hashed(h)
            x = h.features(texts)
        case .embeddings:
            let vectors = try await TextFeatures.embeddings(texts, endpoint: embedding.endpoint!, model: embedding.model!,
                                                            cachePath: embedding.cache ?? TextFeatures.defaultCache(besides: out),
                                                            apiKeyEnv: embedding.apiKeyEnv)
            let e = EmbeddingFeatures(model: embedding.model!, dimension: vectors.first?.count ?? 0, endpoint: embedding.endpoint!)
            spec = .embeddings(e)
            x = try e.features(vectors)
        case .fields:
            let rows = survival.ids.map { fieldsOf[$0]! }   // every id was checked against the prompts above
            let f: FieldFeatures
            do { f = try FieldFeatures.fit(names: fieldNames, rows: rows) } catch let e as TTUModelError { throw ValidationError(e.description) }
            spec = .fields(f)
            x = try f.features(rows)
        }
        let (ys, ws) = try SurvivalLabel.targetsAndWeights(labels)
        let config = TrainingConfig(learningRate: learningRate ?? (model == .logistic ? 0.01 : 0.003), weightDecay: weightDecay,
                                    batchSize: batchSize, epochs: epochs, seed: seed, hiddenLayers: hiddenLayers!,
                                    validationFraction: validationFraction, earlyStoppingPatience: patience, startAtPooledRate: true)
        let file: ModelFile
        do {
            switch model {
            case .logistic:
                let (m, r) = try LogisticModel.fit(features: x, targets: ys, weights: ws, config: config)
                file = ModelFile(model: m, training: config, report: r, featurizer: spec.settings)
            case .mlp:
                let (m, r) = try MLP.fit(features: x, targets: ys, weights: ws, config: config)
                file = ModelFile(model: m, training: config, report: r, featurizer: spec.settings)
            }
        } catch let e as TTUModelError {
            throw InputError(file: data, e.description)
        }
        try writeAtomically(try file.jsonData(), to: out)
        let r = file.report!
        let gens = survival.generations.reduce(0, +), unsafe = survival.unsafe.reduce(0, +)
        print("train: \(survival.ids.count) prompts (\(survival.form.rawValue) data, \(gens) generations, \(unsafe) unsafe); "
            + "\(model.rawValue) on \(features.rawValue) features (\(x.cols)); epoch \(r.selectedEpoch) of \(r.epochs.count)"
            + (r.stoppedEarly ? " (early stop)" : ""))
        if let v = r.selectedValidationLogLikelihoodPerGeneration, let c = r.constantValidationLogLikelihoodPerGeneration {
            print("validation log-likelihood per generation (\(r.validationRows) prompts): model \(String(format: "%.6f", v)), "
                + "constant p̂ = \(String(format: "%.4g", r.pooledTrainingRate ?? .nan)): \(String(format: "%.6f", c)) — "
                + (v > c ? "the predictor is better" : "the predictor is NOT better than a constant"))
        }
        print("wrote \(out)")
        return file
    }

    static func range(_ s: String, _ flag: String) throws -> (Int, Int) {
        let p = s.split(separator: "-").compactMap { Int($0) }
        guard p.count == 2 else { throw ValidationError("\(flag) must be MIN-MAX, got '\(s)'") }
        return (p[0], p[1])
    }
}

struct Predict: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a trained model to prompts: writes id,p_hat.",
        discussion: """
        Rebuilds the features the model was trained with (from the model file's featurizer
        settings) and writes predictions.csv with p_hat = p̂(x) in [0, 1], in prompt order.
        """)

    @Option(help: "Model file written by `ttu train`.") var model: String
    @Option(help: "Prompts, JSONL.") var prompts: String
    @OptionGroup var embedding: EmbeddingOptions
    @Option(help: "Output predictions CSV (id,p_hat).") var out: String

    func run() async throws {
        try await runStage { try await execute() }
    }

    func execute() async throws {
        let file: ModelFile
        do {
            file = try ModelFile.read(from: URL(fileURLWithPath: model))
        } catch let e as ModelFileError {
            throw InputError(file: model, e.description)
        } catch {
            throw InputError(file: model, "cannot read: \(error.localizedDescription)")
        }
        let spec: FeaturizerSpec
        do { spec = try FeaturizerSpec(settings: file.featurizer) } catch let e as TTUModelError { throw InputError(file: model, field: "featurizer", e.description) }
        let (ps, fields) = try PromptFile.read(prompts, numericFields: spec.fieldNames)
        let x = try await TextFeatures.matrix(spec, texts: ps.map(\.prompt), fields: fields, options: embedding,
                                              defaultCache: TextFeatures.defaultCache(besides: out))
        guard x.cols == file.predictor.inputDimension else {
            throw InputError(file: model, "the model takes \(file.predictor.inputDimension) features, the featurizer gives \(x.cols)")
        }
        let p = file.predictor.predict(x)
        try Predictions(ids: ps.map(\.id), pHat: p).write(to: out)
        print("predict: \(ps.count) prompts, p̂ median \(String(format: "%.3g", Evaluation.median(p))), range \(String(format: "%.3g", p.min()!))–\(String(format: "%.3g", p.max()!))")
        print("wrote \(out)")
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score bounds against sampled test truth: coverage (with censoring), mean LPB, trivial bounds.",
        discussion: """
        --lpb: id,p_hat,lpb (ttu bound). --truth: id,cap,observed,event (ttu collect
        --per-prompt N). Both must hold exactly the same ids. A prompt is covered when its
        first unsafe generation t ≥ L, or when it was censored after cap ≥ L − 1 safe
        generations; censored earlier it is undecided, so coverage is given as a range
        (undecided counted as miscovered … as covered). --rates id,p (simulated runs only)
        adds the exact coverage mean (1 − p)^(L − 1).
        """)

    @Option(help: "Bounds CSV (id,p_hat,lpb).") var lpb: String
    @Option(help: "Test observations CSV (id,cap,observed,event).") var truth: String
    @Option(help: "Simulated truth: CSV id,p of the known unsafe probabilities.") var rates: String?
    @Option(help: "Also write the numbers as JSON here.") var json: String?

    func run() throws {
        try runStage {
            let l = try LPBFile.read(lpb)
            let t = try ObservationsFile.read(truth)
            let r = try rates.map { try RatesFile.read($0) }
            let e = try TestEvaluation.compute(lpb: l, lpbPath: lpb, truth: t, truthPath: truth, trueRates: r)
            for line in e.lines { print(line) }
            if let json { try writeAtomically(try encodeJSON(e), to: json); print("wrote \(json)") }
        }
    }
}
