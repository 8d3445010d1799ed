import ArgumentParser
import TTUPipeline

/// Where prompt embeddings come from (`--features embeddings`).
struct EmbeddingOptions: ParsableArguments {
    @Option(name: .customLong("embedding-endpoint"), help: "API root serving /embeddings (predict: default is the model file's).")
    var endpoint: String?
    @Option(name: .customLong("embedding-model"), help: "Embedding model name (train; predict uses the model file's).") var model: String?
    @Option(name: .customLong("embedding-cache"), help: "SQLite cache of embeddings (default: embeddings.sqlite beside --out).")
    var cache: String?
    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key.") var apiKeyEnv = "OPENAI_API_KEY"

    var settings: EmbeddingSettings {
        var e = EmbeddingSettings()
        (e.endpoint, e.model, e.cache) = (endpoint, model, cache)
        e.apiKey = APIKeySource(environmentVariable: apiKeyEnv)
        return e
    }
}

/// Runs a settings validation inside `validate()`: a `SettingError` becomes a usage error
/// naming the flag (exit 64).
func validating(_ body: () throws -> Void) throws {
    do { try body() } catch let e as SettingError { throw ValidationError("\(Flags.flag(for: e.key)): \(e.message)") }
}
