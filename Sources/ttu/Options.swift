import ArgumentParser
import TTUPipeline

/// The flag for a setting key, for error lines: `generator.max_tokens` → `--max-tokens`,
/// from the setting's declaration.
enum Flags {
    static func flag(for key: String) -> String {
        RunSettings.flag(forKey: key) ?? PlanStage.Settings.flag(forKey: key)
            ?? "--" + (key.split(separator: ".").last.map(String.init) ?? key).replacingOccurrences(of: "_", with: "-")
    }
}

extension DeclaredOption {
    /// The declaration's doc with its default, as help text.
    func help(valueName: String? = nil, note: String? = nil) -> ArgumentHelp {
        var text = doc
        if let note { text += " " + note }
        if let d = defaultText { text += " (default: \(d))" }
        return ArgumentHelp(text, valueName: valueName)
    }
}

extension Option {
    /// A declared setting as a flag: its name, help (with the default), default value and
    /// parser all come from the declaration. A value may start with `-` (`--tau-grid -3,-0.75,300`).
    init(_ d: DeclaredOption<Value>, valueName: String? = nil) {
        self.init(wrappedValue: d.defaultValue, name: .customLong(d.name), parsing: .unconditional,
                  help: d.help(valueName: valueName), transform: { try d.parse($0) })
    }

    /// A declared list setting as a repeated flag, one item each.
    init<T>(_ d: (option: DeclaredOption<[T]>, element: (String) throws -> T), repeated note: String) where Value == [T] {
        self.init(wrappedValue: d.option.defaultValue, name: .customLong(d.option.name), parsing: .singleValue,
                  help: d.option.help(note: note), transform: { try d.element($0) })
    }
}

extension AllocationStrategy: ExpressibleByArgument {}
extension ConcentrationInequality: ExpressibleByArgument {}
extension SamplingSettings.API: ExpressibleByArgument {}
extension GeneratorSettings.Kind: ExpressibleByArgument {}
extension RaterSettings.Kind: ExpressibleByArgument {}
extension GuaranteeSettings.Kind: ExpressibleByArgument {}
extension TrainStage.Features: ExpressibleByArgument {}
extension TrainStage.ModelKind: ExpressibleByArgument {}
extension CalibrateStage.MissingPolicy: ExpressibleByArgument {}
extension ObserveStage.TooShallow: ExpressibleByArgument {}

/// The guarantee: corrected or plain marginal, or PAC at δ with a concentration inequality.
struct GuaranteeOptions: ParsableArguments {
    @Option(help: "corrected (marginal, corrected for finite n), marginal (the paper's rule) or pac. (default: corrected; simulate: marginal)")
    var guarantee: GuaranteeSettings.Kind?
    @Option(GuaranteeSettings.option(\.margin)) var margin: Double
    @Option(GuaranteeSettings.option(\.delta)) var delta: Double
    @Option(GuaranteeSettings.option(\.inequality)) var inequality: ConcentrationInequality
    @Option(name: .customLong("bound"), help: .hidden) var deprecatedBound: ConcentrationInequality?

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
