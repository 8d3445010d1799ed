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
}

extension Rater {
    public func preflight() async throws {}
}
