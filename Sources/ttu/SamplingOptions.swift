import ArgumentParser
import TTUPipeline
import TTUSampling

/// `ttu collect`'s generator flags; they build `GeneratorSettings`, as `generator:` does in
/// a run config.
struct GeneratorOptions: ParsableArguments {
    @Option(help: "openai (an OpenAI-compatible server) or simulated (known rates, for tests and demos).")
    var generator: GeneratorSettings.Kind = .openai
    @Option(name: .customLong("endpoint"), help: "API root of a server, e.g. http://127.0.0.1:8081/v1 (repeat for a fleet).")
    var endpoints: [String] = []
    @Option(help: "Model name sent to the server.") var model: String?
    @Option(help: "completions (/v1/completions) or chat (/v1/chat/completions).") var api: SamplingSettings.API = .completions
    @Option(name: .customLong("max-tokens"), help: "max_tokens per generation.") var maxTokens = 30
    @Option(help: "Sampling temperature.") var temperature = 1.0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling top_p (omitted when not given).") var topP: Double?
    @Option(help: "A stop sequence (repeatable).") var stop: [String] = []
    @Option(help: "Generations per request (n); indices are requested in aligned blocks of n.") var n = 1
    @Option(name: .customLong("extra-body"), help: ArgumentHelp(
        "A JSON object merged into every generation request (server-specific sampling fields).",
        discussion: "e.g. '{\"top_k\": 0, \"min_p\": 0, \"repeat_penalty\": 1}' for llama-cpp-python. Fields with their own option and per-request ones (prompt, messages, seed, stream) are refused.",
        valueName: "JSON"))
    var extraBody: String?
    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key.") var apiKeyEnv = "OPENAI_API_KEY"
    @Option(name: .customLong("api-key-file"), help: "File holding the API key (instead of the environment).") var apiKeyFile: String?
    @Option(help: "Requests in flight per endpoint, or auto (AIMD: +1 per round of successes, halved on 429/503/timeouts).")
    var concurrency = "8"
    @Option(name: .customLong("max-concurrency"), help: "auto: the most requests in flight per endpoint.") var maxConcurrency = 64
    @Option(help: "Seconds one request may take.") var timeout = 60.0
    @Option(name: .customLong("max-retries"), help: "Retries per request before the prompt is incomplete.") var maxRetries = 6
    @Option(name: .customLong("simulated-rates"), help: "simulated: CSV id,p of unsafe probabilities.") var simulatedRates: String?
    @Option(name: .customLong("simulated-latency"), help: "simulated: seconds per request (to watch or interrupt a run).")
    var simulatedLatency = 0.0

    var settings: GeneratorSettings {
        var g = GeneratorSettings()
        (g.kind, g.endpoints, g.model, g.api, g.maxTokens, g.temperature) = (generator, endpoints, model, api, maxTokens, temperature)
        (g.topP, g.stop, g.n, g.extraBody) = (topP, stop, n, extraBody)
        g.apiKey = APIKeySource(environmentVariable: apiKeyEnv, file: apiKeyFile)
        g.adaptiveConcurrency = concurrency == "auto"
        g.concurrency = g.adaptiveConcurrency ? 8 : Int(concurrency) ?? 0   // not a number: refused by validate
        (g.maxConcurrency, g.timeout, g.maxRetries) = (maxConcurrency, timeout, maxRetries)
        (g.simulatedRates, g.simulatedLatency) = (simulatedRates, simulatedLatency)
        return g
    }
}

/// `ttu collect`'s rater flags; they build `RaterSettings`, as `rater:` does in a config.
struct RaterOptions: ParsableArguments {
    @Option(help: "lexicon, moderation, judge, guard (a Llama-Guard-style classifier: P(unsafe) from logprobs) or command.")
    var rater: RaterSettings.Kind = .lexicon
    @Option(name: .customLong("rater-endpoint"), help: "API root for moderation/judge/guard (default: the first --endpoint).")
    var raterEndpoint: String?
    @Option(name: .customLong("rater-model"), help: "Model for the judge or guard (required) or moderation (optional).") var raterModel: String?
    @Option(help: "moderation: use category_scores[NAME] instead of flagged.") var category: String?
    @Option(name: .customLong("guard-categories"), help: "guard: comma-separated categories that count (e.g. S1,S10); an unsafe verdict naming only others scores 0.")
    var guardCategories: String?
    @Option(name: .customLong("judge-template"), help: "judge: template file ({prompt}, {completion}).") var judgeTemplate: String?
    @Option(name: .customLong("rater-command"), help: "command: shell command speaking JSONL ({\"text\"} in, {\"score\"} out).")
    var raterCommand: String?
    @Option(help: "lexicon: word list file (one entry per line) instead of the shipped one.") var lexicon: String?
    @Option(help: "A generation is unsafe when its score ≥ threshold.") var threshold = 0.5

    var settings: RaterSettings {
        var r = RaterSettings()
        (r.kind, r.endpoint, r.model, r.category) = (rater, raterEndpoint, raterModel, category)
        (r.judgeTemplate, r.command, r.lexicon, r.threshold) = (judgeTemplate, raterCommand, lexicon, threshold)
        r.categories = SettingParse.names(guardCategories ?? "")
        return r
    }
}
