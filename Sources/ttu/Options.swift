import ArgumentParser
import TTUCore
import TTUPipeline
import TTUSampling

/// The flag for a setting key, for error lines: `generator.max_tokens` → `--max-tokens`.
enum Flags {
    static let special = [
        "generator.kind": "--generator", "generator.endpoints": "--endpoint", "rater.kind": "--rater",
        "rater.endpoint": "--rater-endpoint", "rater.model": "--rater-model", "rater.command": "--rater-command",
        "rater.categories": "--guard-categories",
        "training.hidden_layers": "--hidden", "training.embedding_model": "--embedding-model",
        "training.embedding_endpoint": "--embedding-endpoint", "calibration.inequality": "--inequality",
    ]
    static func flag(for key: String) -> String {
        special[key] ?? "--" + (key.split(separator: ".").last.map(String.init) ?? key).replacingOccurrences(of: "_", with: "-")
    }
}

extension AllocationStrategy: ExpressibleByArgument {}
extension ConcentrationBound: ExpressibleByArgument {}
extension SamplingSettings.API: ExpressibleByArgument {}
extension GeneratorSettings.Kind: ExpressibleByArgument {}
extension RaterSettings.Kind: ExpressibleByArgument {}
extension GuaranteeSettings.Kind: ExpressibleByArgument {}
extension TrainStage.Features: ExpressibleByArgument {}
extension TrainStage.ModelKind: ExpressibleByArgument {}
extension CalibrateStage.MissingPolicy: ExpressibleByArgument {}
extension ObserveStage.TooShallow: ExpressibleByArgument {}

/// The guarantee: marginal, or PAC at δ with a concentration inequality.
struct GuaranteeOptions: ParsableArguments {
    @Option(help: "corrected (marginal, corrected for finite n), marginal (the paper's rule) or pac. (default: corrected; simulate: marginal)")
    var guarantee: GuaranteeSettings.Kind?
    @Option(help: "corrected: standard errors added to each level's estimated miscoverage.") var margin = GuaranteeSettings.defaultMargin
    @Option(help: "pac: δ; the guarantee holds with probability ≥ 1 − δ over the calibration data.") var delta = 0.05
    @Option(help: "pac: the concentration inequality: bernstein (recommended), betting or hoeffding.")
    var inequality: ConcentrationBound = .bernstein
    @Option(name: .customLong("bound"), help: .hidden) var deprecatedBound: ConcentrationBound?

    var settings: GuaranteeSettings {
        var g = GuaranteeSettings()
        g.kind = guarantee ?? .corrected
        g.margin = margin
        g.delta = delta
        g.inequality = deprecatedBound ?? inequality
        if deprecatedBound != nil { Console.cli().say("note: --bound is deprecated (it names the PAC inequality): use --inequality") }
        return g
    }
}

/// W: `auto` or a number.
enum MaxWeightChoice: ExpressibleByArgument, Equatable {
    case auto
    case fixed(Double)
    init?(argument: String) {
        if argument == "auto" { self = .auto } else if let w = Double(argument) { self = .fixed(w) } else { return nil }
    }
    var value: Double? { if case .fixed(let w) = self { return w } else { return nil } }
    var defaultValueDescription: String { "auto" }
}

/// The candidate levels τ_j: `auto` or MINLOG10,MAXLOG10,COUNT.
extension TauGridChoice: ExpressibleByArgument {
    public init?(argument: String) {
        guard let c = try? TauGridChoice.parse(argument) else { return nil }
        self = c
    }
    public var defaultValueDescription: String { description }
}

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
