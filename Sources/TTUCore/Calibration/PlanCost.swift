import Foundation

/// What a plan will cost before anything is sampled: the expected number of generations
/// under p̂ (sampling stops at the first unsafe one), the worst case Σ c_i, and, given
/// tokens per generation and a price, both in money — and, for the batch backend, at the
/// batch price (`batchPriceFactor` × the price: OpenAI's Batch API is half price).
public struct PlanCost: Equatable, Sendable {
    /// Σ over prompts with cap c_i > 0 of E[min(T, c_i)] with T ~ Geometric(p̂_i):
    /// (1 − (1 − p̂)^c)/p̂, and c for p̂ = 0.
    public var expectedGenerations: Double
    /// Σ c_i: every sampled prompt drawn to its cap.
    public var maxGenerations: Int
    public var tokensPerGeneration: Double?
    public var pricePerMillionTokens: Double?
    /// The batch price as a fraction of the online one (nil: not priced as a batch).
    public var batchPriceFactor: Double?

    public init(pHat: [Double], cap: [Int], tokensPerGeneration: Double? = nil, pricePerMillionTokens: Double? = nil) {
        precondition(pHat.count == cap.count)
        var e = 0.0, m = 0
        for (p, c) in zip(pHat, cap) where c > 0 {
            e += TwoStage.expectedCost(pHat: p, cap: Double(c))
            m += c
        }
        expectedGenerations = e
        maxGenerations = m
        self.tokensPerGeneration = tokensPerGeneration
        self.pricePerMillionTokens = pricePerMillionTokens
    }

    public init(expectedGenerations: Double, maxGenerations: Int, tokensPerGeneration: Double? = nil, pricePerMillionTokens: Double? = nil) {
        self.expectedGenerations = expectedGenerations
        self.maxGenerations = maxGenerations
        self.tokensPerGeneration = tokensPerGeneration
        self.pricePerMillionTokens = pricePerMillionTokens
    }

    /// Expected and worst-case tokens, when tokens per generation is known.
    public var expectedTokens: Double? { tokensPerGeneration.map { $0 * expectedGenerations } }
    public var maxTokens: Double? { tokensPerGeneration.map { $0 * Double(maxGenerations) } }
    /// Expected and worst-case cost in the price's currency, when both are known.
    public var expectedCost: Double? { expectedTokens.flatMap { t in pricePerMillionTokens.map { t * $0 / 1e6 } } }
    public var maxCost: Double? { maxTokens.flatMap { t in pricePerMillionTokens.map { t * $0 / 1e6 } } }
    /// Expected and worst-case cost at the batch price, when it and the cost are known.
    public var batchExpectedCost: Double? { expectedCost.flatMap { c in batchPriceFactor.map { c * $0 } } }
    public var batchMaxCost: Double? { maxCost.flatMap { c in batchPriceFactor.map { c * $0 } } }
}
