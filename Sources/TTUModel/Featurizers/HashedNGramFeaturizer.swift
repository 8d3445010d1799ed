import Foundation
import TTUCore

/// Hashed word and character n-grams ("the hashing trick"): built in, no network,
/// deterministic across processes and platforms.
///
/// A prompt becomes a vector of `buckets` numbers in two blocks that share the buckets:
/// - word n-grams (`wordMin…wordMax`) of the lower-cased runs of letters, digits and
///   apostrophes;
/// - character n-grams (`charMin…charMax`) of the lower-cased text with runs of
///   whitespace collapsed to one space and a space added at both ends.
///
/// Gram `g` of kind `k` goes to bucket `StableHash("k:g") mod buckets` with sign +1 or
/// −1 from another bit of the same hash (signed hashing keeps collisions unbiased).
/// Each block's counts are log-scaled (`log1p(count)`) and L2-normalised on their own,
/// so the many character grams of a long prompt do not drown its few word grams.
/// `StableHash`, not Swift's per-process seeded `Hasher`: the model file must give the
/// same features in `ttu predict` as in `ttu train`.
public struct HashedNGramFeaturizer: Equatable, Sendable {
    public var buckets: Int
    public var wordMin: Int, wordMax: Int
    public var charMin: Int, charMax: Int

    public init(buckets: Int = 4096, wordMin: Int = 1, wordMax: Int = 2, charMin: Int = 3, charMax: Int = 5) {
        self.buckets = buckets
        self.wordMin = wordMin; self.wordMax = wordMax
        self.charMin = charMin; self.charMax = charMax
    }

    public var dimension: Int { buckets }

    /// Throws `TTUModelError.invalidConfiguration` for a bad setting.
    public func validate() throws {
        func bad(_ s: String) -> TTUModelError { .invalidConfiguration(s) }
        guard buckets >= 2, buckets <= 1 << 20 else { throw bad("hashed featurizer: buckets must be in 2…2^20 (got \(buckets))") }
        guard wordMin >= 0, wordMax >= wordMin, wordMax <= 5 else {
            throw bad("hashed featurizer: word n-grams must satisfy 0 ≤ min ≤ max ≤ 5 (0 = none; got \(wordMin)-\(wordMax))")
        }
        guard charMin >= 0, charMax >= charMin, charMax <= 10 else {
            throw bad("hashed featurizer: char n-grams must satisfy 0 ≤ min ≤ max ≤ 10 (0 = none; got \(charMin)-\(charMax))")
        }
        guard wordMax > 0 || charMax > 0 else { throw bad("hashed featurizer: no word and no character n-grams") }
    }

    /// The settings stored in a model file's `featurizer` dictionary.
    public var settings: [String: String] {
        ["kind": "hashed", "buckets": String(buckets), "word_ngrams": "\(wordMin)-\(wordMax)",
         "char_ngrams": "\(charMin)-\(charMax)", "scaling": "log1p", "normalisation": "l2-per-block",
         "hash": "stablehash-fnv1a-splitmix"]
    }

    /// Rebuilds the featurizer from a model file's settings.
    public init(settings s: [String: String]) throws {
        func range(_ key: String) throws -> (Int, Int) {
            guard let v = s[key] else { throw TTUModelError.invalidConfiguration("featurizer: missing '\(key)'") }
            let parts = v.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2 else { throw TTUModelError.invalidConfiguration("featurizer: '\(key)' must be MIN-MAX, got '\(v)'") }
            return (parts[0], parts[1])
        }
        guard let b = s["buckets"].flatMap(Int.init) else {
            throw TTUModelError.invalidConfiguration("featurizer: missing or bad 'buckets'")
        }
        let (w0, w1) = try range("word_ngrams"), (c0, c1) = try range("char_ngrams")
        self.init(buckets: b, wordMin: w0, wordMax: w1, charMin: c0, charMax: c1)
        try validate()
    }

    /// The grams of one text with their block (0 = word, 1 = char), e.g. `w:the cat`, `c:cat`.
    func grams(_ text: String) -> [(block: Int, gram: String)] {
        var out: [(Int, String)] = []
        if wordMax > 0 {
            let ws = WordTokens.split(text)
            for n in max(wordMin, 1)...wordMax where ws.count >= n {
                for s in 0...(ws.count - n) { out.append((0, "w:" + ws[s..<(s + n)].joined(separator: " "))) }
            }
        }
        if charMax > 0 {
            let collapsed = text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            let chars = Array(" " + collapsed + " ")
            for n in max(charMin, 1)...charMax where chars.count >= n {
                for s in 0...(chars.count - n) { out.append((1, "c:" + String(chars[s..<(s + n)]))) }
            }
        }
        return out
    }

    /// The feature vector of one text.
    public func features(_ text: String) -> [Double] {
        var x = [Double](repeating: 0, count: buckets)
        for (b, v) in sparseFeatures(text) { x[b] = v }
        return x
    }

    /// The non-zero features of one text, buckets ascending: each block's log-scaled signed
    /// counts, L2-normalised per block, the blocks summed.
    public func sparseFeatures(_ text: String) -> [(column: Int, value: Double)] {
        var counts = [[Int: Double]](repeating: [:], count: 2)
        for (block, g) in grams(text) {
            let h = StableHash.string(g)
            let bucket = Int(h % UInt64(buckets))
            let sign: Double = (h >> 63) == 0 ? 1 : -1
            counts[block][bucket, default: 0] += sign
        }
        var x: [Int: Double] = [:]
        for block in counts {
            var norm = 0.0
            var scaled: [(Int, Double)] = []
            // Sorted so the floating-point sums are the same on every run.
            for (b, c) in block.sorted(by: { $0.key < $1.key }) where c != 0 {
                let v = (c < 0 ? -1.0 : 1.0) * log1p(abs(c))
                scaled.append((b, v)); norm += v * v
            }
            guard norm > 0 else { continue }
            let inv = 1 / norm.squareRoot()
            for (b, v) in scaled { x[b, default: 0] += v * inv }
        }
        return x.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { (column: $0.key, value: $0.value) }
    }

    /// Features of every text, one sparse row each (built in place: no per-row arrays kept).
    public func features(_ texts: [String]) -> FeatureMatrix {
        var rowStart = [0], columns: [Int32] = [], entries: [Double] = []
        rowStart.reserveCapacity(texts.count + 1)
        for t in texts {
            for (j, v) in sparseFeatures(t) { columns.append(Int32(j)); entries.append(v) }
            rowStart.append(columns.count)
        }
        return FeatureMatrix(rows: texts.count, cols: buckets,
                             storage: .sparse(rowStart: rowStart, columns: columns, entries: entries))
    }
}

/// Which featurizer a model file was trained with, read from its `featurizer` settings.
public enum FeaturizerSpec: Equatable, Sendable {
    case hashed(HashedNGramFeaturizer)
    /// Embedding vectors from an OpenAI-compatible `/v1/embeddings` endpoint (fetched by
    /// TTUSampling), L2-normalised by `EmbeddingFeatures`.
    case embeddings(EmbeddingFeatures)
    /// Numeric fields of the prompt records, standardised.
    case fields(FieldFeatures)

    public init(settings: [String: String]) throws {
        switch settings["kind"] {
        case "hashed": self = .hashed(try HashedNGramFeaturizer(settings: settings))
        case "embeddings": self = .embeddings(try EmbeddingFeatures(settings: settings))
        case "fields": self = .fields(try FieldFeatures(settings: settings))
        case let k: throw TTUModelError.invalidConfiguration("featurizer: unknown kind '\(k ?? "(missing)")' (hashed, embeddings or fields)")
        }
    }

    /// The prompt-record keys the features are read from (empty unless `.fields`).
    public var fieldNames: [String] {
        if case .fields(let f) = self { return f.names }
        return []
    }

    public var settings: [String: String] {
        switch self {
        case .hashed(let h): return h.settings
        case .embeddings(let e): return e.settings
        case .fields(let f): return f.settings
        }
    }
}

/// Embedding vectors as features: the endpoint's model name and the vector length are
/// stored so `predict` asks the same model and refuses a different length.
public struct EmbeddingFeatures: Equatable, Sendable {
    public var model: String
    public var dimension: Int
    /// The endpoint used in training (a hint: `predict` may be given another one).
    public var endpoint: String

    public init(model: String, dimension: Int, endpoint: String) {
        self.model = model; self.dimension = dimension; self.endpoint = endpoint
    }

    public init(settings s: [String: String]) throws {
        guard let m = s["model"], !m.isEmpty else { throw TTUModelError.invalidConfiguration("featurizer: embeddings need 'model'") }
        guard let d = s["dimension"].flatMap(Int.init), d >= 1 else {
            throw TTUModelError.invalidConfiguration("featurizer: embeddings need a positive 'dimension'")
        }
        self.init(model: m, dimension: d, endpoint: s["endpoint"] ?? "")
    }

    public var settings: [String: String] {
        ["kind": "embeddings", "model": model, "dimension": String(dimension), "endpoint": endpoint,
         "normalisation": "l2"]
    }

    /// L2-normalised rows (cosine geometry, as embedding models intend); throws on a
    /// vector of the wrong length or with a non-finite entry.
    public func features(_ vectors: [[Double]]) throws -> FeatureMatrix {
        var v: [Double] = []
        v.reserveCapacity(vectors.count * dimension)
        for (i, e) in vectors.enumerated() {
            guard e.count == dimension else {
                throw TTUModelError.shapeMismatch("embedding \(i) has \(e.count) numbers, the model expects \(dimension)")
            }
            let norm = e.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm.isFinite else { throw TTUModelError.nonFiniteFeature(row: i, column: 0, value: norm) }
            let inv = norm > 0 ? 1 / norm : 0
            v.append(contentsOf: e.map { $0 * inv })
        }
        return try FeatureMatrix(rows: vectors.count, cols: dimension, values: v)
    }
}
