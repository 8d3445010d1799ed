import ArgumentParser
import TTUPipeline

private typealias G = GeneratorSettings
private typealias R = RaterSettings

/// `ttu collect`'s generator flags: each is a declared setting of `GeneratorSettings` (name,
/// help, default, parser), so they build the same type as `generator:` in a run config.
struct GeneratorOptions: ParsableArguments {
    @Option(G.option(\.kind)) var generator: GeneratorSettings.Kind
    @Option(G.listOption(\.endpoints), repeated: "(repeat for a fleet)") var endpoints: [String]
    @Option(G.option(\.model)) var model: String?
    @Option(G.option(\.sampling.api)) var api: GeneratorSettings.API
    @Option(G.option(\.sampling.maxTokens)) var maxTokens: Int
    @Option(G.option(\.sampling.temperature)) var temperature: Double
    @Option(G.option(\.sampling.topP)) var topP: Double?
    @Option(G.listOption(\.sampling.stop), repeated: "(repeatable)") var stop: [String]
    @Option(G.option(\.sampling.n)) var n: Int
    @Option(G.option(\.sampling.extraBody), valueName: "JSON") var extraBody: String?
    @Option(G.option(\.sampling.systemPrompt), valueName: "TEXT") var systemPrompt: String?
    @Option(G.option(\.apiKey.environmentVariable)) var apiKeyEnv: String
    @Option(name: .customLong("api-key-file"), help: "File holding the API key (instead of the environment).") var apiKeyFile: String?
    @Option(G.option(\.concurrencyText)) var concurrency: String
    @Option(G.option(\.maxConcurrency)) var maxConcurrency: Int
    @Option(G.option(\.timeout)) var timeout: Double
    @Option(G.option(\.maxRetries)) var maxRetries: Int
    @Option(G.option(\.simulatedRates)) var simulatedRates: String?
    @Option(G.option(\.simulatedLatency)) var simulatedLatency: Double

    var settings: GeneratorSettings {
        var g = GeneratorSettings()
        (g.kind, g.endpoints, g.model, g.sampling.api, g.sampling.maxTokens, g.sampling.temperature) = (generator, endpoints, model, api, maxTokens, temperature)
        (g.sampling.topP, g.sampling.stop, g.sampling.n, g.sampling.extraBody) = (topP, stop, n, extraBody)
        g.sampling.systemPrompt = systemPrompt
        g.apiKey = APIKeySource(environmentVariable: apiKeyEnv, file: apiKeyFile)
        g.concurrencyText = concurrency
        (g.maxConcurrency, g.timeout, g.maxRetries) = (maxConcurrency, timeout, maxRetries)
        (g.simulatedRates, g.simulatedLatency) = (simulatedRates, simulatedLatency)
        return g
    }
}

/// `ttu collect`'s rater flags: the declared settings of `RaterSettings`, as `rater:` in a config.
struct RaterOptions: ParsableArguments {
    @Option(R.option(\.kind)) var rater: RaterSettings.Kind
    @Option(R.option(\.endpoint)) var raterEndpoint: String?
    @Option(R.option(\.model)) var raterModel: String?
    @Option(R.option(\.category)) var category: String?
    @Option(R.listOption(\.categories).option) var guardCategories: [String]
    @Option(R.option(\.judgeTemplate)) var judgeTemplate: String?
    @Option(R.option(\.command)) var raterCommand: String?
    @Option(R.option(\.lexicon)) var lexicon: String?
    @Option(R.option(\.threshold)) var threshold: Double
    @Option(R.option(\.input)) var rateInput: RaterInput

    var settings: RaterSettings {
        var r = RaterSettings()
        (r.kind, r.endpoint, r.model, r.category) = (rater, raterEndpoint, raterModel, category)
        (r.judgeTemplate, r.command, r.lexicon, r.threshold) = (judgeTemplate, raterCommand, lexicon, threshold)
        r.categories = guardCategories
        r.input = rateInput
        return r
    }
}
