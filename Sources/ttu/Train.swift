import ArgumentParser
import TTUPipeline

private typealias T = TrainStage.Settings

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
    @Option(help: "Prompts: JSONL or CSV (by the .csv name).") var prompts: String
    @OptionGroup var promptFormat: PromptFormatOptions
    @Option(T.option(\.features)) var features: TrainStage.Features
    @Option(T.listOption(\.fields).option, valueName: "KEY,KEY") var fields: [String]
    @Option(T.option(\.model)) var model: TrainStage.ModelKind
    @Option(help: "Output model file (JSON).") var out: String
    @Option(T.option(\.buckets)) var buckets: Int
    @Option(T.option(\.wordNgrams)) var wordNgrams: ClosedRange<Int>
    @Option(T.option(\.charNgrams)) var charNgrams: ClosedRange<Int>
    @OptionGroup(title: "Embeddings") var embedding: EmbeddingOptions
    @Option(T.listOption(\.hiddenLayers).option, valueName: "WIDTH,WIDTH") var hidden: [Int]
    @Option(T.option(\.learningRate)) var learningRate: Double?
    @Option(T.option(\.epochs)) var epochs: Int
    @Option(T.option(\.batchSize)) var batchSize: Int
    @Option(T.option(\.weightDecay)) var weightDecay: Double
    @Option(T.option(\.validationFraction)) var validationFraction: Double
    @Option(T.option(\.patience)) var patience: Int
    @Option(help: "Seed of initialisation, validation split and shuffles.") var seed = T.defaults.seed

    func validate() throws { try validating { try settings().validate() } }

    func settings() throws -> TrainStage.Settings {
        var s = TrainStage.Settings(data: data, prompts: prompts, out: out)
        s.promptFormat = promptFormat.format == .standard ? nil : promptFormat.format
        (s.features, s.fields, s.model, s.buckets, s.embedding) = (features, fields, model, buckets, embedding.settings)
        (s.wordNgrams, s.charNgrams, s.hiddenLayers) = (wordNgrams, charNgrams, hidden)
        (s.learningRate, s.epochs, s.batchSize, s.weightDecay) = (learningRate, epochs, batchSize, weightDecay)
        (s.validationFraction, s.patience, s.seed) = (validationFraction, patience, seed)
        return s
    }

    func run() async throws { try await TrainStage.run(try settings(), console: .cli()) }
}
