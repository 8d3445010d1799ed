import Foundation
import TTUSampling

/// How generations are requested: online (requests in flight, the default) or in rounds
/// of OpenAI-format batches (`generator.backend: batch`): the Batch API at the generator's
/// endpoint, or, offline, request files for `vllm run-batch`. The same generations either
/// way (same bodies, same seeds), so neither the sample log's identity nor a stage's cache
/// key holds these settings, and either backend resumes the other's log.
public struct BatchSettings: Sendable, Equatable, Codable {
    public enum Backend: String, CaseIterable, Sendable, Codable, SettingChoice { case online, batch }
    public var backend = Backend.online
    /// Generations per prompt in its first round (the window then doubles per round).
    public var chunk = 8
    public var pollInterval = 30.0
    /// Offline: the folder of the round files; nil: the Batch API.
    public var offline: String?

    public init() {}

    public var isBatch: Bool { backend == .batch }
    /// Offline batch files: nothing is sent to a server.
    public var isOffline: Bool { isBatch && offline != nil }

    func validate(_ g: GeneratorSettings) throws {
        try checkDeclared()
        guard isBatch else {
            if offline != nil { throw SettingError("generator.batch_offline", "goes with generator.backend: batch") }
            return
        }
        if g.kind != .openai { throw SettingError("generator.backend", "batch needs the openai generator (the simulated one has no batches)") }
        if offline == nil, g.endpoints.count != 1 {
            throw SettingError("generator.endpoints", "the batch backend sends its batches to exactly one endpoint (the Batch API's root), not \(g.endpoints.count)")
        }
    }

    /// The collector's options (an online run keeps its round files in `<db>.batch/`).
    func options(note: (@Sendable (String) -> Void)?) -> TTUSampling.BatchOptions {
        TTUSampling.BatchOptions(chunk: chunk, pollInterval: pollInterval, offlineDir: offline, note: note)
    }
}

extension BatchSettings: DeclaredSettings {
    public static var defaults: BatchSettings { BatchSettings() }

    public static let declarations: [Setting<BatchSettings>] = [
        .value("generator.backend", \.backend, doc: "online (requests in flight) or batch (rounds of OpenAI-format batches: the Batch API at the endpoint, or offline files for vllm run-batch; the same generations, often at a lower price)."),
        .value("generator.batch_chunk", \.chunk, doc: "batch: generations per prompt in its first round; each later round asks a prompt for up to as many as it has rated safe, so a prompt safe to its cap c takes about log2(c/chunk) + 1 rounds while a prompt unsafe early wastes fewer than chunk.",
               check: SettingRule.atLeast(1)),
        .value("generator.batch_poll_interval", \.pollInterval, doc: "batch: seconds between status polls of a submitted batch.",
               check: { $0 > 0 ? nil : "must be > 0 seconds" }),
        .path("generator.batch_offline", \.offline, doc: "batch: a folder for offline rounds: each writes requests-roundK.jsonl for `vllm run-batch -i … -o results-roundK.jsonl` and stops (exit 4); rerun to ingest the results (ttu run: a subfolder per collection stage). No generation request goes to a server, so no endpoint is needed (one given only names the generator in the log)."),
    ]
}
