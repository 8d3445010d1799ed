import Foundation

/// What a plan will cost before anything is sampled: the expected number of generations
/// under p̂ (sampling stops at the first unsafe one), the worst case Σ c_i, and, given
/// tokens per generation and a price, both in money.
public struct PlanCost: Codable, Equatable, Sendable {
    /// Σ over prompts with cap c_i > 0 of E[min(T, c_i)] with T ~ Geometric(p̂_i):
    /// (1 − (1 − p̂)^c)/p̂, and c for p̂ = 0.
    public var expectedGenerations: Double
    /// Σ c_i: every sampled prompt drawn to its cap.
    public var maxGenerations: Int
    public var tokensPerGeneration: Double?
    public var pricePerMillionTokens: Double?

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

    /// Expected and worst-case tokens, when tokens per generation is known.
    public var expectedTokens: Double? { tokensPerGeneration.map { $0 * expectedGenerations } }
    public var maxTokens: Double? { tokensPerGeneration.map { $0 * Double(maxGenerations) } }
    /// Expected and worst-case cost in the price's currency, when both are known.
    public var expectedCost: Double? { expectedTokens.flatMap { t in pricePerMillionTokens.map { t * $0 / 1e6 } } }
    public var maxCost: Double? { maxTokens.flatMap { t in pricePerMillionTokens.map { t * $0 / 1e6 } } }

    enum CodingKeys: String, CodingKey {
        case expectedGenerations = "expected_generations", maxGenerations = "max_generations"
        case tokensPerGeneration = "tokens_per_generation", pricePerMillionTokens = "price_per_million_tokens"
        case expectedTokens = "expected_tokens", maxTokens = "max_tokens", expectedCost = "expected_cost", maxCost = "max_cost"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        expectedGenerations = try c.decode(Double.self, forKey: .expectedGenerations)
        maxGenerations = try c.decode(Int.self, forKey: .maxGenerations)
        tokensPerGeneration = try c.decodeIfPresent(Double.self, forKey: .tokensPerGeneration)
        pricePerMillionTokens = try c.decodeIfPresent(Double.self, forKey: .pricePerMillionTokens)
    }

    /// Flat keys (written beside a plan's own keys in plan.json); the money keys only when known.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(expectedGenerations, forKey: .expectedGenerations)
        try c.encode(maxGenerations, forKey: .maxGenerations)
        try c.encodeIfPresent(tokensPerGeneration, forKey: .tokensPerGeneration)
        try c.encodeIfPresent(pricePerMillionTokens, forKey: .pricePerMillionTokens)
        try c.encodeIfPresent(expectedTokens, forKey: .expectedTokens)
        try c.encodeIfPresent(maxTokens, forKey: .maxTokens)
        try c.encodeIfPresent(expectedCost, forKey: .expectedCost)
        try c.encodeIfPresent(maxCost, forKey: .maxCost)
    }
}
