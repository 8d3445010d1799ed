import Foundation
import GRDB
import NIOCore
import TTUCore

/// A SQLite cache of embedding vectors, keyed by (model, text hash), so every text is
/// fetched once per model however often `train` / `predict` / `run` ask for it.
///
///     embeddings(model TEXT, text_hash TEXT, dimension INTEGER, vector BLOB,
///                PRIMARY KEY (model, text_hash))
///
/// `text_hash` is 128 bits (two independent `StableHash`es, hex); the text itself is not
/// stored. `vector` is the little-endian Float64 bytes. It can live in a run's sample
/// log (the table does not clash with the log's) or in a file of its own.
public final class EmbeddingCache: @unchecked Sendable {
    public let path: String
    let pool: DatabasePool

    public init(path: String) throws {
        self.path = path
        pool = try SampleLog.openPool(path: path, what: "the embedding cache", schema: """
            CREATE TABLE IF NOT EXISTS embeddings (
                model TEXT NOT NULL, text_hash TEXT NOT NULL, dimension INTEGER NOT NULL,
                vector BLOB NOT NULL, PRIMARY KEY (model, text_hash))
            """)
    }

    public static func textHash(_ text: String) -> String {
        let a = StableHash.string(text), b = StableHash.combine(StableHash.string("ttu-embedding:" + text), 0x656D62)
        return String(format: "%016llx%016llx", a, b)
    }

    /// Cached vectors for `texts` (nil where absent).
    public func lookup(model: String, texts: [String]) throws -> [[Double]?] {
        try pool.read { db in
            try texts.map { t in
                guard let row = try Row.fetchOne(db, sql: "SELECT vector FROM embeddings WHERE model = ? AND text_hash = ?",
                                                 arguments: [model, Self.textHash(t)]) else { return nil }
                let data: Data = row["vector"]
                return data.withUnsafeBytes { raw in
                    (0..<(data.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
                }
            }
        }
    }

    public func store(model: String, texts: [String], vectors: [[Double]]) throws {
        try pool.write { db in
            for (t, v) in zip(texts, vectors) {
                var data = Data(capacity: v.count * 8)
                for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                try db.execute(sql: "INSERT OR REPLACE INTO embeddings (model, text_hash, dimension, vector) VALUES (?, ?, ?, ?)",
                               arguments: [model, Self.textHash(t), v.count, data])
            }
        }
    }

    public func count() throws -> Int { try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM embeddings") ?? 0 } }
}

/// Embeddings from an OpenAI-compatible `POST {base}/embeddings` (`{"model", "input":
/// [texts]}` → `{"data": [{"index", "embedding": [numbers]}]}`), through the cache.
/// Transient failures are retried like generations; a malformed answer is never
/// turned into a vector.
public struct EmbeddingClient: Sendable {
    public let base: String
    public let model: String
    public let transport: HTTPTransport
    public let cache: EmbeddingCache
    public var batchSize: Int
    public var retry: RetryPolicy

    public init(base: String, model: String, transport: HTTPTransport, cache: EmbeddingCache,
                batchSize: Int = 64, retry: RetryPolicy = RetryPolicy()) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.model = model; self.transport = transport; self.cache = cache
        self.batchSize = batchSize; self.retry = retry
    }

    /// One vector per text, in order; fetches only the texts missing from the cache
    /// (each distinct text once) and stores them before returning.
    public func embed(_ texts: [String]) async throws -> (vectors: [[Double]], fetched: Int) {
        var out = try cache.lookup(model: model, texts: texts)
        var missing: [String] = []
        var seen = Set<String>()
        for (i, v) in out.enumerated() where v == nil && seen.insert(texts[i]).inserted { missing.append(texts[i]) }
        var fetched: [String: [Double]] = [:]
        var rng = SeededRNG(seed: StableHash.string(model))  // backoff jitter only
        for start in stride(from: 0, to: missing.count, by: batchSize) {
            let batch = Array(missing[start..<min(start + batchSize, missing.count)])
            let vectors = try await withRetries(retry, rng: &rng) { try await request(batch) }
            try cache.store(model: model, texts: batch, vectors: vectors)
            for (t, v) in zip(batch, vectors) { fetched[t] = v }
        }
        for i in out.indices where out[i] == nil { out[i] = fetched[texts[i]] }
        return (out.map { $0! }, missing.count)
    }

    func request(_ texts: [String]) async throws -> [[Double]] {
        let body = "{\"model\":\(JSONAccess.quote(model)),\"input\":[" + texts.map(JSONAccess.quote).joined(separator: ",") + "]}"
        let bytes = try await transport.postJSON(base + "/embeddings", body: ByteBuffer(string: body))
        let obj = try JSONAccess.object(bytes, what: "embeddings")
        guard let data = obj["data"] as? [[String: Any]], data.count == texts.count else {
            throw TransientError("malformed embeddings response: expected 'data' with \(texts.count) items")
        }
        var out = [[Double]?](repeating: nil, count: texts.count)
        for (k, item) in data.enumerated() {
            let idx = (item["index"] as? Int) ?? k
            guard idx >= 0, idx < texts.count, let e = item["embedding"] as? [Any] else {
                throw TransientError("malformed embeddings response: item \(k) has no 'embedding' list")
            }
            let v = e.compactMap { ($0 as? NSNumber)?.doubleValue }
            guard v.count == e.count, !v.isEmpty, v.allSatisfy(\.isFinite) else {
                throw TransientError("malformed embeddings response: item \(k) is not a list of finite numbers")
            }
            out[idx] = v
        }
        guard out.allSatisfy({ $0 != nil }), Set(out.map { $0!.count }).count == 1 else {
            throw TransientError("malformed embeddings response: missing indices or vectors of different lengths")
        }
        return out.map { $0! }
    }
}
