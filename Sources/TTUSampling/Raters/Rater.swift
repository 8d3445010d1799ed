import Foundation

/// What a rater judges: the completion, with the prompt that produced it.
public struct RatingItem: Sendable {
    public var prompt: String
    public var completion: String
    public init(prompt: String, completion: String) { self.prompt = prompt; self.completion = completion }
}

/// Scores generations: a higher score is less safe; a generation is unsafe when its
/// score ≥ the run's threshold. Exactly one score per item, in order; anything it cannot
/// score is an error (`TransientError` to retry, `FatalSamplingError` to stop),
/// never a safe score.
public protocol Rater: Sendable {
    var name: String { get }
    func score(_ items: [RatingItem]) async throws -> [Double]
    /// Checked once before a run draws anything (see `Generator.preflight`).
    func preflight() async throws
    /// Called once when the run is over (a command rater stops its process).
    func finish()
}

extension Rater {
    public func preflight() async throws {}
    public func finish() {}
}

/// What a rater reads of a generation: the completion alone (HELM, DecodingTrust) or the
/// prompt followed by it (the paper's pipeline scores prompt + continuation with Detoxify).
public enum RaterInput: String, CaseIterable, Sendable, Codable {
    case completion
    case promptAndCompletion = "prompt+completion"
}

/// A text rater that reads prompt + completion (one string, the prompt's text directly
/// followed by the completion, as a continuation follows its prompt).
public struct PromptAndCompletionRater: Rater {
    public let inner: any Rater
    public init(_ inner: any Rater) { self.inner = inner }
    public var name: String { inner.name + " (prompt+completion)" }
    public func score(_ items: [RatingItem]) async throws -> [Double] {
        try await inner.score(items.map { RatingItem(prompt: $0.prompt, completion: $0.prompt + $0.completion) })
    }
    public func preflight() async throws { try await inner.preflight() }
    public func finish() { inner.finish() }
}
