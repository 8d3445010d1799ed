import Foundation
import TTUFiles
import TTUModel
import TTUSampling

/// Where prompt embeddings come from (`features: embeddings`): `POST {endpoint}/embeddings`,
/// cached in SQLite keyed by model and text hash so each text is fetched once.
public struct EmbeddingSettings: Sendable, Equatable, Codable {
    /// API root (predict: default is the one stored in the model file).
    public var endpoint: String?
    /// Embedding model name (train; predict uses the model file's).
    public var model: String?
    /// SQLite cache (default: embeddings.sqlite beside the output).
    public var cache: String?
    public var apiKey = APIKeySource()
    public init() {}
}

/// Turns prompts into the feature matrix a model file expects.
enum PromptFeatures {
    /// Fetches (or reads from the cache) the embeddings of `texts`.
    static func embeddings(_ texts: [String], endpoint: String, model: String, cachePath: String,
                           apiKey: APIKeySource, console: Console) async throws -> [[Double]] {
        let http = HTTPTransport(apiKey: try apiKey.read(), timeout: 60, connectionsPerHost: 4)
        do {
            let client = EmbeddingClient(base: endpoint, model: model, transport: http, cache: try EmbeddingCache(path: cachePath))
            let (vectors, fetched) = try await client.embed(texts)
            console.say("embeddings: \(texts.count) texts, \(fetched) fetched from \(endpoint), the rest from the cache \(cachePath)")
            await http.shutdown()
            return vectors
        } catch {
            await http.shutdown()
            if let e = error as? FatalSamplingError { throw InputError(file: endpoint, "embeddings: \(e.message)") }
            if let e = error as? TransientError { throw InputError(file: endpoint, "embeddings: \(e.message)") }
            throw error
        }
    }

    /// Features of the prompts (`texts`, and `fields`: their `spec.fieldNames` values) for a
    /// stored featurizer.
    static func matrix(_ spec: FeaturizerSpec, texts: [String], fields: [[Double]], embedding: EmbeddingSettings,
                       defaultCache: String, console: Console) async throws -> FeatureMatrix {
        switch spec {
        case .fields(let f):
            return try f.features(fields)
        case .hashed(let h):
            return h.features(texts)
        case .embeddings(let e):
            let vectors = try await embeddings(texts, endpoint: embedding.endpoint ?? e.endpoint, model: e.model,
                                               cachePath: embedding.cache ?? defaultCache, apiKey: embedding.apiKey, console: console)
            return try e.features(vectors)
        }
    }

    static func defaultCache(besides out: String) -> String {
        URL(fileURLWithPath: out).deletingLastPathComponent().appendingPathComponent("embeddings.sqlite").path
    }
}
