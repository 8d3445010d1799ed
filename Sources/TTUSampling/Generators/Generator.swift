import Foundation
import TTUFiles
import TTUCore

/// One generation request: generations `firstIndex ..< firstIndex + count` of a prompt.
///
/// Every index has its own seed, `StableHash.generationSeed(seed: runSeed, promptID:, index:)`.
/// A request for one index (`count == 1`) carries exactly that seed, so a server that
/// honours seeds returns the same text for the same index on a rerun, retry or resume.
/// With `n > 1` one request returns several choices from one seed: the request then
/// carries the seed of its first index and indices are grouped in fixed, aligned blocks
/// (`1…n`, `n+1…2n`, …), so a block is always requested the same way and choice `k`
/// is index `firstIndex + k` on every run. (The trade-off: reproducibility then also
/// depends on the server producing choice `k` the same way for the same seed and `n`.)
public struct GenerationRequest: Sendable {
    public var promptID: String
    public var prompt: String
    /// A chat prompt's turns, sent as is by the chat API (nil: `prompt` is one user turn).
    public var messages: [ChatMessage]?
    public var firstIndex: Int
    public var count: Int
    public var runSeed: UInt64

    public init(promptID: String, prompt: String, messages: [ChatMessage]? = nil, firstIndex: Int, count: Int = 1, runSeed: UInt64) {
        self.promptID = promptID
        self.prompt = prompt
        self.messages = messages
        self.firstIndex = firstIndex
        self.count = count
        self.runSeed = runSeed
    }

    /// The full 64-bit seed of generation `index`.
    public func seed(forIndex index: Int) -> UInt64 {
        StableHash.generationSeed(seed: runSeed, promptID: promptID, index: index)
    }

    /// The seed the request carries: the first index's seed reduced to `0 ..< 2^31 − 1`
    /// (llama.cpp and vLLM reject larger values).
    public var wireSeed: Int { Int(seed(forIndex: firstIndex) % 2_147_483_647) }
}

/// Something that produces generations: an OpenAI-compatible server, or the simulator.
public protocol Generator: Sendable {
    /// A label for the sample log's `endpoint` column (never contains credentials).
    var name: String { get }
    /// Generations per request (`n`); indices are requested in aligned blocks of this size.
    var batchSize: Int { get }
    /// Exactly `request.count` texts, in index order. Throws `TransientError` for anything
    /// a retry may fix and `FatalSamplingError` otherwise; never returns a placeholder.
    func generate(_ request: GenerationRequest) async throws -> [String]
    /// Checked once before a run draws anything; throws `FatalSamplingError` when the
    /// server cannot be reached at all (default: nothing to check).
    func preflight() async throws
}

extension Generator {
    public var batchSize: Int { 1 }
    public func preflight() async throws {}

    /// One generation: index `index` of `prompt`, seeded per index.
    public func generate(promptID: String, prompt: String, index: Int, runSeed: UInt64) async throws -> String {
        let r = GenerationRequest(promptID: promptID, prompt: prompt, firstIndex: index, count: 1, runSeed: runSeed)
        let texts = try await generate(r)
        guard texts.count == 1 else { throw TransientError("\(name): expected 1 generation, got \(texts.count)") }
        return texts[0]
    }
}

/// Sampling settings sent with every generation request.
public struct SamplingSettings: Sendable, Equatable, Codable {
    public enum API: String, Sendable, Codable, CaseIterable { case completions, chat }
    public var model: String
    public var api: API
    public var maxTokens: Int
    public var temperature: Double
    public var topP: Double?
    public var stop: [String]
    /// Choices per request (`n`).
    public var n: Int
    /// Extra request fields, as the canonical text of a JSON object (e.g. `{"min_p":0,"top_k":0}`),
    /// merged into every request body (server-specific sampling settings). nil: none.
    public var extraBody: String?
    /// chat: a system turn sent before every prompt that has none of its own.
    public var systemPrompt: String?

    public init(model: String = "", api: API = .completions, maxTokens: Int = 30, temperature: Double = 1,
                topP: Double? = nil, stop: [String] = [], n: Int = 1, extraBody: String? = nil, systemPrompt: String? = nil) {
        self.systemPrompt = systemPrompt
        self.model = model
        self.api = api
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.stop = stop
        self.n = n
        self.extraBody = extraBody
    }

    /// Fields the request builder sets itself; `extraBody` may not repeat them.
    public static let reservedFields: Set<String> = ["model", "prompt", "messages", "max_tokens", "temperature", "top_p",
                                                      "stop", "n", "stream", "seed"]

    /// Parses `text` as a JSON object of extra request fields and returns its canonical
    /// form (sorted keys, no whitespace). Throws a message for anything else: not JSON,
    /// not an object, or a field the request builder sets itself.
    public static func canonicalExtraBody(_ text: String) throws -> String {
        do { try StrictJSON.validate(text) } catch { throw ExtraBodyError(message: "\(error): \(text)") }
        guard let d = text.data(using: .utf8),
              let obj = try? JSONSerialization.jsonObject(with: d, options: [.fragmentsAllowed]) else {
            throw ExtraBodyError(message: "not valid JSON: \(text)")
        }
        guard let dict = obj as? [String: Any] else { throw ExtraBodyError(message: "must be a JSON object, e.g. {\"top_k\": 0}") }
        let clash = dict.keys.filter { reservedFields.contains($0) }.sorted()
        if !clash.isEmpty {
            throw ExtraBodyError(message: "sets \(clash.joined(separator: ", ")), which have their own options (or are set per request)"
                + (clash.contains("messages") || clash.contains("prompt")
                   ? "; a conversation goes in the prompt file (a list of {role, content} turns), a system turn in --system-prompt" : ""))
        }
        let out = try JSONSerialization.data(withJSONObject: dict, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: out, as: UTF8.self)
    }
}

public struct ExtraBodyError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
