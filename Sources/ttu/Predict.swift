import ArgumentParser
import TTUPipeline

struct Predict: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a trained model to prompts: writes id,p_hat.",
        usage: "ttu predict --model model.json --prompts FILE --out predictions.csv\n            [--prompt-field PATH] [--id-field PATH] [<embedding options>]",
        discussion: """
        Rebuilds the features the model was trained with (from the model file)
        and writes id,p_hat with p_hat = p̂(x) in [0, 1], in prompt order.
        """)

    @Option(help: "Model file written by `ttu train`.") var model: String
    @Option(help: "Prompts: JSONL or CSV (by the .csv name).") var prompts: String
    @OptionGroup var promptFormat: PromptFormatOptions
    @OptionGroup(title: "Embeddings") var embedding: EmbeddingOptions
    @Option(help: "Output predictions CSV (id,p_hat).") var out: String

    func run() async throws {
        var s = PredictStage.Settings(model: model, prompts: prompts, out: out)
        s.promptFormat = promptFormat.format
        s.embedding = embedding.settings
        try await PredictStage.run(s, console: .cli())
    }
}
