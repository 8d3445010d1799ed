import Foundation

/// Which predictor a model file holds.
public enum ModelKind: String, Codable, Sendable {
    case mlp
    case logistic
}

/// A trained predictor on disk: versioned JSON,
///
///     { "format": "ttu-model", "version": 1, "kind": "mlp" | "logistic",
///       "mlp": {…} | "logistic": {…}, "training": {…}?, "report": {…}?,
///       "featurizer": { "name": "value", … } }
///
/// `featurizer` is free-form: whatever settings are needed to turn a prompt into the
/// feature vector the model was trained on. Format and version are checked before
/// anything else is decoded, so a foreign or future file gives a clear error.
public struct ModelFile: Codable, Equatable, Sendable {
    public static let formatName = "ttu-model"
    public static let currentVersion = 1

    public let format: String
    public let version: Int
    public let kind: ModelKind
    public let mlp: MLP?
    public let logistic: LogisticModel?
    public var training: TrainingConfig?
    public var report: TrainingReport?
    public var featurizer: [String: String]

    public init(model: MLP, training: TrainingConfig? = nil, report: TrainingReport? = nil,
                featurizer: [String: String] = [:]) {
        format = ModelFile.formatName; version = ModelFile.currentVersion
        kind = .mlp; mlp = model; logistic = nil
        self.training = training; self.report = report; self.featurizer = featurizer
    }

    public init(model: LogisticModel, training: TrainingConfig? = nil, report: TrainingReport? = nil,
                featurizer: [String: String] = [:]) {
        format = ModelFile.formatName; version = ModelFile.currentVersion
        kind = .logistic; mlp = nil; logistic = model
        self.training = training; self.report = report; self.featurizer = featurizer
    }

    /// The stored predictor.
    public var predictor: any UnsafeRatePredictor {
        switch kind {
        case .mlp: return mlp!
        case .logistic: return logistic!
        }
    }

    private enum CodingKeys: String, CodingKey {
        case format, version, kind, mlp, logistic, training, report, featurizer
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let f = try? c.decodeIfPresent(String.self, forKey: .format)
        guard f == ModelFile.formatName else { throw ModelFileError.wrongFormat(found: f) }
        guard let v = try? c.decode(Int.self, forKey: .version) else {
            throw ModelFileError.corrupt("missing or non-integer version")
        }
        guard v == ModelFile.currentVersion else {
            throw ModelFileError.unsupportedVersion(found: v, supported: ModelFile.currentVersion)
        }
        format = ModelFile.formatName; version = v
        kind = try c.decode(ModelKind.self, forKey: .kind)
        mlp = try c.decodeIfPresent(MLP.self, forKey: .mlp)
        logistic = try c.decodeIfPresent(LogisticModel.self, forKey: .logistic)
        switch kind {
        case .mlp where mlp == nil: throw ModelFileError.corrupt("kind is mlp but there is no \"mlp\" object")
        case .logistic where logistic == nil:
            throw ModelFileError.corrupt("kind is logistic but there is no \"logistic\" object")
        default: break
        }
        training = try c.decodeIfPresent(TrainingConfig.self, forKey: .training)
        report = try c.decodeIfPresent(TrainingReport.self, forKey: .report)
        featurizer = try c.decodeIfPresent([String: String].self, forKey: .featurizer) ?? [:]
    }

    /// Pretty-printed JSON with sorted keys (stable, diff-friendly).
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(self)
    }

    /// Parses a model file; throws `ModelFileError` for a wrong format/version or any
    /// inconsistency.
    public static func decode(_ data: Data) throws -> ModelFile {
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = ModelFileKeys.decoding
            return try decoder.decode(ModelFile.self, from: data)
        } catch let e as ModelFileError {
            throw e
        } catch let e as TTUModelError {
            throw ModelFileError.corrupt(e.description)
        } catch let DecodingError.dataCorrupted(ctx) where ctx.codingPath.isEmpty {
            throw ModelFileError.corrupt("not valid JSON: \(ctx.debugDescription)")
        } catch {
            throw ModelFileError.corrupt("\(error)")
        }
    }

    public func write(to url: URL) throws {
        try jsonData().write(to: url, options: .atomic)
    }

    public static func read(from url: URL) throws -> ModelFile {
        try decode(Data(contentsOf: url))
    }
}
