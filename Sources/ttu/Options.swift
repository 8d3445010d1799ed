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
extension RaterInput: ExpressibleByArgument {}
extension ConcentrationInequality: ExpressibleByArgument {}
extension SamplingSettings.API: ExpressibleByArgument {}
extension GeneratorSettings.Kind: ExpressibleByArgument {}
extension RaterSettings.Kind: ExpressibleByArgument {}
extension GuaranteeSettings.Kind: ExpressibleByArgument {}
extension TrainStage.Features: ExpressibleByArgument {}
extension TrainStage.ModelKind: ExpressibleByArgument {}
extension CalibrateStage.MissingPolicy: ExpressibleByArgument {}
extension ObserveStage.TooShallow: ExpressibleByArgument {}

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
