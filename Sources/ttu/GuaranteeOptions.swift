import ArgumentParser
import TTUPipeline

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
