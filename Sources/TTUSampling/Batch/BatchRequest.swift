import Foundation
import TTUCore
import TTUFiles

/// One line of an OpenAI batch input file (also what `vllm run-batch` reads):
///
///     {"custom_id":"<first index>:<prompt id>","method":"POST","url":"/v1/completions","body":{…}}
///
/// The body is exactly what `OpenAIGenerator` sends online for the same block of
/// generations (`OpenAIGenerator.body`: prompt, sampling settings, the per-index seed), so
/// a batch collection draws the same generations as an online one and shares its log.
/// The custom_id names the block: its first generation index, then the prompt id (split
/// at the first `:`, so any prompt id round-trips); a block has the generator's `n`
/// indices, as online.
public struct BatchRequest: Sendable, Equatable {
    public var promptID: String
    public var firstIndex: Int

    public init(promptID: String, firstIndex: Int) {
        self.promptID = promptID
        self.firstIndex = firstIndex
    }

    public var customID: String { "\(firstIndex):\(promptID)" }

    /// The request a custom_id names, or nil when it is not one of ours.
    public init?(customID: String) {
        guard let colon = customID.firstIndex(of: ":"), let first = Int(customID[..<colon]), first >= 1 else { return nil }
        self.init(promptID: String(customID[customID.index(after: colon)...]), firstIndex: first)
    }

    /// The batch endpoint of an API (`/v1/completions` or `/v1/chat/completions`).
    public static func endpoint(_ api: SamplingSettings.API) -> String {
        api == .chat ? "/v1/chat/completions" : "/v1/completions"
    }

    /// The JSONL line for this request, with the body `generator` sends online.
    func line(prompt: PromptRecord, generator: OpenAIGenerator, runSeed: UInt64) -> String {
        let r = GenerationRequest(promptID: promptID, prompt: prompt.prompt, messages: prompt.messages, firstIndex: firstIndex,
                                  count: generator.batchSize, runSeed: runSeed)
        return "{\"custom_id\":" + JSONAccess.quote(customID) + ",\"method\":\"POST\",\"url\":\""
            + Self.endpoint(generator.settings.api) + "\",\"body\":" + generator.body(r) + "}"
    }
}
