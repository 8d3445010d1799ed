import ArgumentParser
import TTUPipeline

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit the predictor p̂(x) of a prompt's unsafe probability from training survival data.",
        discussion: """
        --data is id,n,k (k unsafe of n generations, what `collect
        --no-early-stop` writes) or id,observed,event (first-unsafe times,
        censored when event = 0), detected from the header; every id must be in
        --prompts. Fits by maximum likelihood (docs/method.md §2), holding out
        --validation-fraction of the prompts (seeded) to pick the epoch, and
        reports the validation log-likelihood per generation next to the
        constant predictor p̂ = pooled training rate: the predictor is worth
        using only if it beats it.

        Features: hashed (word and character n-grams, built in), embeddings
        (POST {endpoint}/embeddings, cached in SQLite) or fields (numeric keys of
        the prompt records, standardised). The model file stores the featurizer,
        so `ttu predict` rebuilds the same features.
        """)

    @Option(help: "Training data: id,n,k or id,observed,event.") var data: String
    @Option(help: "Prompts, JSONL.") var prompts: String
    @Option(help: "hashed, embeddings or fields.") var features: TrainStage.Features = .hashed
    @Option(help: "fields: numeric keys of the prompt records, comma-separated.") var fields: String?
    @Option(help: "logistic or mlp.") var model: TrainStage.ModelKind = .logistic
    @Option(help: "Output model file (JSON).") var out: String
    @Option(help: "hashed: number of buckets.") var buckets = 4096
    @Option(name: .customLong("word-ngrams"), help: "hashed: word n-gram lengths MIN-MAX (0-0: none).") var wordNgrams = "1-2"
    @Option(name: .customLong("char-ngrams"), help: "hashed: character n-gram lengths MIN-MAX (0-0: none).") var charNgrams = "3-5"
    @OptionGroup(title: "Embeddings") var embedding: EmbeddingOptions
    @Option(help: "mlp: hidden layer widths, comma-separated.") var hidden = "32"
    @Option(name: .customLong("learning-rate"), help: "AdamW learning rate (default 0.01 logistic, 0.003 mlp).") var learningRate: Double?
    @Option(help: "Most epochs.") var epochs = 300
    @Option(name: .customLong("batch-size"), help: "Prompts per step.") var batchSize = 32
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay = 1e-4
    @Option(name: .customLong("validation-fraction"), help: "Held-out fraction of prompts, in (0, 1).") var validationFraction = 0.2
    @Option(help: "Early stopping: epochs without a better validation loss.") var patience = 20
    @Option(help: "Seed of initialisation, validation split and shuffles.") var seed: UInt64 = 1

    func validate() throws { try validating { try settings().validate() } }

    func settings() throws -> TrainStage.Settings {
        var s = TrainStage.Settings(data: data, prompts: prompts, out: out)
        (s.features, s.fields, s.model, s.buckets, s.embedding) = (features, SettingParse.names(fields ?? ""), model, buckets, embedding.settings)
        s.wordNgrams = try SettingParse.range(wordNgrams, key: "word_ngrams")
        s.charNgrams = try SettingParse.range(charNgrams, key: "char_ngrams")
        s.hiddenLayers = try SettingParse.widths(hidden, key: "training.hidden_layers")
        (s.learningRate, s.epochs, s.batchSize, s.weightDecay) = (learningRate, epochs, batchSize, weightDecay)
        (s.validationFraction, s.patience, s.seed) = (validationFraction, patience, seed)
        return s
    }

    func run() async throws { try await TrainStage.run(try settings(), console: .cli()) }
}

struct Predict: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a trained model to prompts: writes id,p_hat.",
        discussion: """
        Rebuilds the features the model was trained with (from the model file)
        and writes id,p_hat with p_hat = p̂(x) in [0, 1], in prompt order.
        """)

    @Option(help: "Model file written by `ttu train`.") var model: String
    @Option(help: "Prompts, JSONL.") var prompts: String
    @OptionGroup(title: "Embeddings") var embedding: EmbeddingOptions
    @Option(help: "Output predictions CSV (id,p_hat).") var out: String

    func run() async throws {
        var s = PredictStage.Settings(model: model, prompts: prompts, out: out)
        s.embedding = embedding.settings
        try await PredictStage.run(s, console: .cli())
    }
}
