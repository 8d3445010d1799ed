import ArgumentParser
import Foundation
import TTUModel
import TTUFiles
import TTUReport
import TTUSampling

/// Where embeddings come from (for `--features embeddings`).
struct EmbeddingOptions: ParsableArguments {
    @Option(name: .customLong("embedding-endpoint"), help: "API root serving /embeddings, e.g. http://127.0.0.1:8081/v1 (predict: default is the one stored in the model).")
    var endpoint: String?
    @Option(name: .customLong("embedding-model"), help: "Embedding model name (train; predict uses the model file's).") var model: String?
    @Option(name: .customLong("embedding-cache"), help: "SQLite cache of embeddings (default: embeddings.sqlite beside --out).")
    var cache: String?
    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key.") var apiKeyEnv = "OPENAI_API_KEY"
}

/// Turns prompt texts into the feature matrix a model file expects.
enum TextFeatures {
    /// Fetches (or reads from the cache) the embeddings of `texts`.
    static func embeddings(_ texts: [String], endpoint: String, model: String, cachePath: String,
                           apiKeyEnv: String) async throws -> [[Double]] {
        let http = HTTPTransport(apiKey: ProcessInfo.processInfo.environment[apiKeyEnv], timeout: 60, connectionsPerHost: 4)
        do {
            let client = EmbeddingClient(base: endpoint, model: model, transport: http, cache: try EmbeddingCache(path: cachePath))
            let (vectors, fetched) = try await client.embed(texts)
            FileHandle.standardError.write(Data("embeddings: \(texts.count) texts, \(fetched) fetched from \(endpoint), the rest from the cache \(cachePath)\n".utf8))
            await http.shutdown()
            return vectors
        } catch {
            await http.shutdown()
            if let e = error as? FatalSamplingError { throw InputError(file: endpoint, "embeddings: \(e.message)") }
            if let e = error as? TransientError { throw InputError(file: endpoint, "embeddings: \(e.message)") }
            throw error
        }
    }

    /// Features of the prompts (`texts`, and `fields`: their `spec.fieldNames` values, as
    /// `PromptFile.read(_:numericFields:)` gives them) for a stored featurizer.
    static func matrix(_ spec: FeaturizerSpec, texts: [String], fields: [[Double]], options: EmbeddingOptions,
                       defaultCache: String) async throws -> FeatureMatrix {
        switch spec {
        case .fields(let f):
            return try f.features(fields)
        case .hashed(let h):
            return h.features(texts)
        case .embeddings(let e):
            let endpoint = options.endpoint ?? e.endpoint
            let vectors = try await embeddings(texts, endpoint: endpoint, model: e.model, cachePath: options.cache ?? defaultCache,
                                               apiKeyEnv: options.apiKeyEnv)
            return try e.features(vectors)
        }
    }

    static func defaultCache(besides out: String) -> String {
        URL(fileURLWithPath: out).deletingLastPathComponent().appendingPathComponent("embeddings.sqlite").path
    }
}
