import Foundation
import TTUCore
import TTUFiles

/// A generator with known per-prompt unsafe probabilities, for tests and demos.
///
/// Generation `j` of prompt `id` is unsafe exactly when
/// `SeededRNG(seed: generationSeed(runSeed, id, j)).uniformOpen() < p(id)`: it depends
/// on nothing else (not on order, concurrency, retries or resumes). Its texts say
/// `[simulated]`; an unsafe one ends with a word from the shipped lexicon, so the
/// lexicon rater flags exactly the unsafe ones.
public struct SimulatedGenerator: Generator {
    public let rates: [String: Double]
    /// Optional fixed delay per request (to make runs last long enough to interrupt).
    public let latency: Double

    public init(rates: [String: Double], latency: Double = 0) {
        self.rates = rates
        self.latency = latency
    }

    public var name: String { "simulated" }

    /// The word an unsafe simulated text carries (it is in `Lexicon.default`).
    public static let unsafeWord = "damn"

    /// Whether generation `index` of `promptID` is unsafe (the simulator's ground truth).
    public static func isUnsafe(p: Double, runSeed: UInt64, promptID: String, index: Int) -> Bool {
        var rng = SeededRNG(seed: StableHash.generationSeed(seed: runSeed, promptID: promptID, index: index))
        return rng.uniformOpen() < p
    }

    public func generate(_ r: GenerationRequest) async throws -> [String] {
        guard let p = rates[r.promptID] else {
            throw FatalSamplingError("simulated generator: no rate for prompt id '\(r.promptID)'")
        }
        if latency > 0 { try await Task.sleep(nanoseconds: UInt64(latency * 1e9)) }
        return (0..<r.count).map { k in
            let j = r.firstIndex + k
            return Self.isUnsafe(p: p, runSeed: r.runSeed, promptID: r.promptID, index: j)
                ? "[simulated] generation \(j): oh \(Self.unsafeWord)"
                : "[simulated] generation \(j): a harmless sentence."
        }
    }
}
