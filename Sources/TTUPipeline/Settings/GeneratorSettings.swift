import Foundation
import TTUFiles
import TTUSampling

/// Where generations come from: an OpenAI-compatible server, or the simulator (known
/// rates, labelled SIMULATED everywhere). `ttu collect`'s generator flags and the run
/// config's `generator:` section build this same type from `declarations`.
public struct GeneratorSettings: Sendable, Equatable, Codable {
    public enum Kind: String, CaseIterable, Sendable, Codable, SettingChoice { case openai, simulated }
    public typealias API = SamplingSettings.API

    public var kind: Kind = .openai
    /// API roots, e.g. `http://127.0.0.1:8081/v1`; several share the work.
    public var endpoints: [String] = []
    /// What every request carries (model, api, max_tokens, temperature, top_p, stop, n,
    /// extra_body as the user wrote it), held once: the request body, the sample log's
    /// identity and the report all derive from it. Its defaults are `SamplingSettings`'.
    public var sampling = SamplingSettings()
    public var apiKey = APIKeySource()
    /// Requests in flight per endpoint (fixed), unless `adaptiveConcurrency`.
    public var concurrency = 8
    /// `concurrency: auto`: find each endpoint's capacity by AIMD (additive increase,
    /// halving on 429/503/timeouts), from 4 up to `maxConcurrency` requests in flight.
    public var adaptiveConcurrency = false
    public var maxConcurrency = 64
    /// Seconds one request may take.
    public var timeout = 60.0
    public var maxRetries = 6
    /// simulated: CSV `id,p` of the true unsafe probabilities.
    public var simulatedRates: String?
    /// simulated: seconds per request (to watch or interrupt a run).
    public var simulatedLatency = 0.0

    public init() {}

    /// The model name, when one is given.
    public var model: String? {
        get { sampling.model.isEmpty ? nil : sampling.model }
        set { sampling.model = newValue ?? "" }
    }

    /// `concurrency` as written: a number, or auto.
    public var concurrencyText: String {
        get { adaptiveConcurrency ? "auto" : String(concurrency) }
        set {
            adaptiveConcurrency = newValue == "auto"
            concurrency = adaptiveConcurrency ? GeneratorSettings().concurrency : Int(newValue) ?? 0
        }
    }

    public var isSimulated: Bool { kind == .simulated }

    /// The canonical form of `extraBody` (sorted keys), or nil.
    public func canonicalExtraBody() throws -> String? {
        guard let e = sampling.extraBody else { return nil }
        do { return try SamplingSettings.canonicalExtraBody(e) } catch { throw SettingError("generator.extra_body", "\(error)") }
    }

    /// `ratesGiven`: the run config supplies simulated rates itself (from a rate function).
    /// `offlineBatch`: no request goes to a server (offline batch files), so no endpoint is needed.
    public func validate(ratesGiven: Bool = false, offlineBatch: Bool = false) throws {
        try checkDeclared()
        switch kind {
        case .openai:
            if endpoints.isEmpty, !offlineBatch {
                throw SettingError("generator.endpoints", "the openai generator needs an endpoint (an API root such as http://127.0.0.1:8081/v1)")
            }
            for e in endpoints where !(e.hasPrefix("http://") || e.hasPrefix("https://")) {
                throw SettingError("generator.endpoints", "'\(e)' is not an http:// or https:// URL")
            }
            if model == nil { throw SettingError("generator.model", "the openai generator needs a model name") }
            _ = try canonicalExtraBody()
            if sampling.systemPrompt != nil, sampling.api != .chat {
                throw SettingError("generator.system_prompt", "goes with api: chat (the completions API has no system turn; put it in the prompt text)")
            }
        case .simulated:
            if simulatedRates == nil && !ratesGiven {
                throw SettingError("generator.simulated_rates", "the simulated generator needs its rates (a CSV id,p)")
            }
            if sampling.extraBody != nil { throw SettingError("generator.extra_body", "goes with the openai generator") }
            if sampling.systemPrompt != nil { throw SettingError("generator.system_prompt", "goes with the openai generator") }
        }
    }

    /// A chat prompt (a list of turns) goes only to the chat API: refused before anything is drawn.
    func checkAPI(for prompts: [PromptRecord], file: String, field: String) throws {
        guard kind == .openai, sampling.api == .completions, let chat = prompts.first(where: { $0.messages != nil }) else { return }
        throw InputError(file: file, field: field,
                         "prompt id '\(chat.id)' is a chat conversation (a list of turns); the completions API takes text: use --api chat (generator.api: chat)")
    }

    /// What fixes the generations of this generator, for the sample log's identity (a
    /// log made otherwise is refused). Never the API key.
    func identity() throws -> [String: String] {
        var p = ["generator": kind.rawValue]
        guard kind == .openai else { return p }
        p["model"] = sampling.model
        p["api"] = sampling.api.rawValue
        p["max_tokens"] = String(sampling.maxTokens)
        p["temperature"] = "\(sampling.temperature)"
        p["top_p"] = sampling.topP.map { "\($0)" } ?? ""
        p["stop"] = CollectInputs.digest(sampling.stop)
        p["n"] = String(sampling.n)
        // Only when given, so logs written before extra_body existed still resume.
        if let extra = try canonicalExtraBody() { p["extra_body"] = extra }
        if let system = sampling.systemPrompt { p["system_prompt"] = CollectInputs.digest([system]) }
        return p
    }

    /// Connections a transport needs per host: the most requests ever in flight.
    var connectionsPerHost: Int { adaptiveConcurrency ? maxConcurrency : concurrency }

    /// An endpoint's concurrency: fixed, or a fresh AIMD limiter.
    func endpoint(_ generator: any Generator) -> Endpoint {
        adaptiveConcurrency
            ? Endpoint(generator: generator, concurrency: maxConcurrency, limiter: ConcurrencyLimiter(initial: 4, maximum: maxConcurrency))
            : Endpoint(generator: generator, concurrency: concurrency)
    }

    /// What requests carry, `extra_body` in its canonical form.
    func wire() throws -> SamplingSettings {
        var w = sampling
        w.extraBody = try canonicalExtraBody()
        return w
    }
}

/// Where the API key comes from: an environment variable (default `OPENAI_API_KEY`) or a
/// file. The key itself is never in a config, a log, a report or the sample log.
public struct APIKeySource: Sendable, Equatable, Codable {
    public var environmentVariable = "OPENAI_API_KEY"
    public var file: String?
    public init(environmentVariable: String = "OPENAI_API_KEY", file: String? = nil) {
        self.environmentVariable = environmentVariable
        self.file = file
    }

    public func read() throws -> String? {
        if let f = file {
            guard let d = FileManager.default.contents(atPath: f) else { throw InputError(file: f, "cannot read the API key file") }
            return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment[environmentVariable]
    }
}

extension SamplingSettings.API: SettingChoice {}
extension RaterInput: SettingChoice {}

extension GeneratorSettings: DeclaredSettings {
    public static var defaults: GeneratorSettings { GeneratorSettings() }

    public static let declarations: [Setting<GeneratorSettings>] = [
        .value("generator.kind", \.kind, flag: "--generator", doc: "openai (an OpenAI-compatible server) or simulated (known rates; labelled SIMULATED everywhere)."),
        .list("generator.endpoints", \.endpoints, flag: "--endpoint", doc: "API root(s), e.g. [http://127.0.0.1:8081/v1]. Required for openai."),
        .custom("generator.model", \.model, doc: "Model name sent to the server. Required for openai.", parse: { $0 }, text: { $0 }),
        .value("generator.api", \.sampling.api, doc: "completions (/v1/completions) or chat (/v1/chat/completions)."),
        .value("generator.max_tokens", \.sampling.maxTokens, doc: "max_tokens per generation.", check: SettingRule.atLeast(1)),
        .value("generator.temperature", \.sampling.temperature, doc: "Sampling temperature.", check: { $0 >= 0 ? nil : "must be ≥ 0" }),
        .optional("generator.top_p", \.sampling.topP, flag: "--top-p", doc: "Nucleus sampling top_p (omitted when not set).",
                  check: { $0 > 0 && $0 <= 1 ? nil : "must be in (0, 1]" }),
        .list("generator.stop", \.sampling.stop, doc: "Stop sequences."),
        .optional("generator.extra_body", \.sampling.extraBody, doc: "Extra request fields, a JSON object merged into every request, e.g. '{\"top_k\": 0, \"min_p\": 0, \"repeat_penalty\": 1}' for llama-cpp-python (whose sampling defaults are not OpenAI's)."),
        .optional("generator.system_prompt", \.sampling.systemPrompt,
                  doc: "chat: a system turn sent before every prompt (a chat prompt with its own system turn keeps that one)."),
        .value("generator.n", \.sampling.n, doc: "Generations per request.", check: SettingRule.atLeast(1)),
        .custom("generator.api_key_env", \.apiKey.environmentVariable, doc: "Environment variable holding the API key (the key itself never goes in a file).",
                parse: { $0 }, text: { $0 }),
        .custom("generator.concurrency", \.concurrencyText, doc: "Requests in flight per endpoint, or auto (found by AIMD: +1 per round of successes, halved on 429/503/timeouts, Retry-After honoured).",
                parse: { t in
                    let s = t.trimmingCharacters(in: .whitespaces)
                    guard s == "auto" || Int(s) != nil else { throw SettingTextError("'\(t)' is neither auto nor a whole number") }
                    return s
                }, text: { $0 }, check: { $0 == "auto" || (Int($0) ?? 0) >= 1 ? nil : "must be at least 1 (or auto)" }),
        .value("generator.max_concurrency", \.maxConcurrency, doc: "auto: the most requests in flight per endpoint.", check: SettingRule.atLeast(1)),
        .value("generator.timeout", \.timeout, doc: "Seconds one request may take.", check: { $0 > 0 ? nil : "must be > 0 seconds" }),
        .value("generator.max_retries", \.maxRetries, doc: "Retries per request before a prompt is incomplete.", check: SettingRule.nonNegative),
        .path("generator.simulated_rates", \.simulatedRates, doc: "simulated: CSV id,p of the true unsafe probabilities."),
        .value("generator.simulated_latency", \.simulatedLatency, doc: "simulated: seconds per request (to watch or interrupt a run).",
               check: { $0 >= 0 ? nil : "must be ≥ 0 seconds" }),
    ]
}
