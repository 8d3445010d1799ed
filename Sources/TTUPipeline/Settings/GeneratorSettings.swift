import Foundation
import TTUFiles
import TTUSampling

/// Where generations come from: an OpenAI-compatible server, or the simulator (known
/// rates, labelled SIMULATED everywhere). `ttu collect`'s generator flags and the run
/// config's `generator:` section build this same type.
public struct GeneratorSettings: Sendable, Equatable {
    public enum Kind: String, CaseIterable, Sendable { case openai, simulated }

    public var kind: Kind = .openai
    /// API roots, e.g. `http://127.0.0.1:8081/v1`; several share the work.
    public var endpoints: [String] = []
    public var model: String?
    public var api: SamplingSettings.API = .completions
    public var maxTokens = 30
    public var temperature = 1.0
    public var topP: Double?
    public var stop: [String] = []
    /// Generations per request; indices are requested in aligned blocks of n.
    public var n = 1
    /// A JSON object merged into every request, as the user wrote it.
    public var extraBody: String?
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

    public var isSimulated: Bool { kind == .simulated }

    /// The canonical form of `extraBody` (sorted keys), or nil.
    public func canonicalExtraBody() throws -> String? {
        guard let e = extraBody else { return nil }
        do { return try SamplingSettings.canonicalExtraBody(e) } catch { throw SettingError("generator.extra_body", "\(error)") }
    }

    /// `ratesGiven`: the run config supplies simulated rates itself (from a rate function).
    public func validate(ratesGiven: Bool = false) throws {
        if concurrency < 1 { throw SettingError("generator.concurrency", "must be at least 1 (or auto)") }
        if maxConcurrency < 1 { throw SettingError("generator.max_concurrency", "must be at least 1") }
        if n < 1 { throw SettingError("generator.n", "must be at least 1") }
        if maxTokens < 1 { throw SettingError("generator.max_tokens", "must be at least 1") }
        if maxRetries < 0 { throw SettingError("generator.max_retries", "must be ≥ 0") }
        if !(timeout > 0) || !timeout.isFinite { throw SettingError("generator.timeout", "must be > 0 seconds") }
        if !(temperature >= 0) || !temperature.isFinite { throw SettingError("generator.temperature", "must be ≥ 0") }
        if let p = topP, !(p > 0 && p <= 1) { throw SettingError("generator.top_p", "must be in (0, 1]") }
        if !(simulatedLatency >= 0) { throw SettingError("generator.simulated_latency", "must be ≥ 0 seconds") }
        switch kind {
        case .openai:
            if endpoints.isEmpty {
                throw SettingError("generator.endpoints", "the openai generator needs an endpoint (an API root such as http://127.0.0.1:8081/v1)")
            }
            for e in endpoints where !(e.hasPrefix("http://") || e.hasPrefix("https://")) {
                throw SettingError("generator.endpoints", "'\(e)' is not an http:// or https:// URL")
            }
            if model == nil { throw SettingError("generator.model", "the openai generator needs a model name") }
            _ = try canonicalExtraBody()
        case .simulated:
            if simulatedRates == nil && !ratesGiven {
                throw SettingError("generator.simulated_rates", "the simulated generator needs its rates (a CSV id,p)")
            }
            if extraBody != nil { throw SettingError("generator.extra_body", "goes with the openai generator") }
        }
    }

    /// What fixes the generations of this generator, for the sample log's identity (a
    /// log made otherwise is refused). Never the API key.
    func identity() throws -> [String: String] {
        var p = ["generator": kind.rawValue]
        guard kind == .openai else { return p }
        p["model"] = model!
        p["api"] = api.rawValue
        p["max_tokens"] = String(maxTokens)
        p["temperature"] = "\(temperature)"
        p["top_p"] = topP.map { "\($0)" } ?? ""
        p["stop"] = CollectInputs.digest(stop)
        p["n"] = String(n)
        // Only when given, so logs written before extra_body existed still resume.
        if let extra = try canonicalExtraBody() { p["extra_body"] = extra }
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

    func sampling() throws -> SamplingSettings {
        SamplingSettings(model: model!, api: api, maxTokens: maxTokens, temperature: temperature, topP: topP, stop: stop, n: n,
                         extraBody: try canonicalExtraBody())
    }
}

/// Where the API key comes from: an environment variable (default `OPENAI_API_KEY`) or a
/// file. The key itself is never in a config, a log, a report or the sample log.
public struct APIKeySource: Sendable, Equatable {
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
