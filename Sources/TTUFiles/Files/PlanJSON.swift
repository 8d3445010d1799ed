import Foundation
import TTUCore

// plan.json's format (and the parts of calibration.json and the stage cache keys that reuse
// it): the JSON keys of TTUCore's plan types. TTUCore holds the statistics and no I/O, so its
// types carry no coding of their own; the keys below are the file contract and must not change
// (a plan.json written by any earlier version still reads, see `TwoStage.Settings`).
//
// Keys: snake_case for the settings, the cost, the grid and the choices; the two nested
// records that were first written with their Swift names keep them (`cost_model`'s `edges`,
// `ratios`, `scale`, `byExpectedCost`; a two-stage candidate's `maxWeight`, `pilotTauIndex`,
// `predictedMeanLPB`, `standardError`).

extension AllocationStrategy: Codable {}
extension ConcentrationInequality: Codable {}

/// `M` in a file: a number, or null when nothing caps the bounds (∞ in the code).
extension KeyedEncodingContainer {
    /// `nullWhenUncapped: false` leaves the key out instead (summary.json's optional keys).
    mutating func encodeBoundCap(_ m: Double, forKey key: Key, nullWhenUncapped: Bool = true) throws {
        if m.isFinite { try encode(m, forKey: key) } else if nullWhenUncapped { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    func decodeBoundCap(forKey key: Key) throws -> Double {
        try decodeIfPresent(Double.self, forKey: key) ?? .infinity
    }
}

extension PlanSettings: Codable {
    enum CodingKeys: String, CodingKey {
        case strategy, budget, maxWeight = "max_weight", boundCap = "max_lpb", tauGrid = "tau_grid", seed
        case stage, totalPrompts = "total_prompts", twoStage = "two_stage", choice, weightChoice = "weight_choice"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(strategy: try c.decode(AllocationStrategy.self, forKey: .strategy),
                  budget: try c.decode(Double.self, forKey: .budget),
                  maxWeight: try c.decode(Double.self, forKey: .maxWeight),
                  tauGrid: try c.decode(TauGrid.self, forKey: .tauGrid),
                  seed: try c.decode(UInt64.self, forKey: .seed))
        boundCap = try c.decodeBoundCap(forKey: .boundCap)
        stage = try c.decodeIfPresent(String.self, forKey: .stage)
        totalPrompts = try c.decodeIfPresent(Int.self, forKey: .totalPrompts)
        twoStage = try c.decodeIfPresent(TwoStage.Settings.self, forKey: .twoStage)
        choice = try c.decodeIfPresent(TwoStage.Choice.self, forKey: .choice)
        weightChoice = try c.decodeIfPresent(WeightChoice.self, forKey: .weightChoice)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(budget, forKey: .budget)
        try c.encode(maxWeight, forKey: .maxWeight)
        try c.encodeBoundCap(boundCap, forKey: .boundCap)
        try c.encode(tauGrid, forKey: .tauGrid)
        try c.encode(seed, forKey: .seed)
        try c.encodeIfPresent(stage, forKey: .stage)
        try c.encodeIfPresent(totalPrompts, forKey: .totalPrompts)
        try c.encodeIfPresent(twoStage, forKey: .twoStage)
        try c.encodeIfPresent(choice, forKey: .choice)
        try c.encodeIfPresent(weightChoice, forKey: .weightChoice)
    }
}

/// Flat keys, written beside a plan's own keys in plan.json; the money keys only when known,
/// the batch keys only for a plan priced as a batch.
/// Read back: the four inputs (the derived figures are recomputed).
extension PlanCost: Codable {
    enum CodingKeys: String, CodingKey {
        case expectedGenerations = "expected_generations", maxGenerations = "max_generations"
        case tokensPerGeneration = "tokens_per_generation", pricePerMillionTokens = "price_per_million_tokens"
        case expectedTokens = "expected_tokens", maxTokens = "max_tokens", expectedCost = "expected_cost", maxCost = "max_cost"
        case batchPriceFactor = "batch_price_factor", batchExpectedCost = "batch_expected_cost", batchMaxCost = "batch_max_cost"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(expectedGenerations: try c.decode(Double.self, forKey: .expectedGenerations),
                  maxGenerations: try c.decode(Int.self, forKey: .maxGenerations),
                  tokensPerGeneration: try c.decodeIfPresent(Double.self, forKey: .tokensPerGeneration),
                  pricePerMillionTokens: try c.decodeIfPresent(Double.self, forKey: .pricePerMillionTokens))
        batchPriceFactor = try c.decodeIfPresent(Double.self, forKey: .batchPriceFactor)
    }

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
        // Only for a batch plan, so an online plan.json is what it always was.
        try c.encodeIfPresent(batchPriceFactor, forKey: .batchPriceFactor)
        try c.encodeIfPresent(batchExpectedCost, forKey: .batchExpectedCost)
        try c.encodeIfPresent(batchMaxCost, forKey: .batchMaxCost)
    }
}

extension TauGrid: Codable {
    enum CodingKeys: String, CodingKey {
        case minLog10 = "min_log10", maxLog10 = "max_log10", count
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(minLog10: try c.decode(Double.self, forKey: .minLog10),
                  maxLog10: try c.decode(Double.self, forKey: .maxLog10),
                  count: try c.decode(Int.self, forKey: .count))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(minLog10, forKey: .minLog10)
        try c.encode(maxLog10, forKey: .maxLog10)
        try c.encode(count, forKey: .count)
    }
}

extension TwoStage.Settings: Codable {
    enum CodingKeys: String, CodingKey {
        case pilotFraction = "pilot_fraction", weightCandidates = "weight_candidates", capSafety = "cap_safety"
        case noiseMargin = "noise_margin", maxStandardError = "max_standard_error", costMargin = "cost_margin"
        case byExpectedCost = "by_expected_cost", minPilotMisses = "min_pilot_misses"
    }

    /// Reads plan.json files of every version: a key a file lacks keeps its default.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.pilotFraction, &pilotFraction)
        try read(.weightCandidates, &weightCandidates)
        try read(.capSafety, &capSafety)
        try read(.noiseMargin, &noiseMargin)
        try read(.maxStandardError, &maxStandardError)
        try read(.costMargin, &costMargin)
        try read(.byExpectedCost, &byExpectedCost)
        try read(.minPilotMisses, &minPilotMisses)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pilotFraction, forKey: .pilotFraction)
        try c.encode(weightCandidates, forKey: .weightCandidates)
        try c.encode(capSafety, forKey: .capSafety)
        try c.encode(noiseMargin, forKey: .noiseMargin)
        try c.encode(maxStandardError, forKey: .maxStandardError)
        try c.encode(costMargin, forKey: .costMargin)
        try c.encode(byExpectedCost, forKey: .byExpectedCost)
        try c.encode(minPilotMisses, forKey: .minPilotMisses)
    }
}

extension TwoStage.Choice: Codable {
    enum CodingKeys: String, CodingKey {
        case maxWeight = "max_weight", grid = "tau_grid", costModel = "cost_model", costRatio = "cost_ratio"
        case finalBudget = "final_budget", candidates
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(maxWeight: try c.decode(Double.self, forKey: .maxWeight),
                  grid: try c.decode(TauGrid.self, forKey: .grid),
                  costModel: try c.decode(CostModel.self, forKey: .costModel),
                  costRatio: try c.decode(Double.self, forKey: .costRatio),
                  finalBudget: try c.decode(Double.self, forKey: .finalBudget),
                  candidates: try c.decode([Candidate].self, forKey: .candidates))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxWeight, forKey: .maxWeight)
        try c.encode(grid, forKey: .grid)
        try c.encode(costModel, forKey: .costModel)
        try c.encode(costRatio, forKey: .costRatio)
        try c.encode(finalBudget, forKey: .finalBudget)
        try c.encode(candidates, forKey: .candidates)
    }
}

extension TwoStage.Choice.Candidate: Codable {
    enum CodingKeys: String, CodingKey { case maxWeight, pilotTauIndex, predictedMeanLPB, standardError }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(maxWeight: try c.decode(Double.self, forKey: .maxWeight),
                  pilotTauIndex: try c.decode(Int.self, forKey: .pilotTauIndex),
                  predictedMeanLPB: try c.decode(Double.self, forKey: .predictedMeanLPB),
                  standardError: try c.decode(Double.self, forKey: .standardError))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxWeight, forKey: .maxWeight)
        try c.encode(pilotTauIndex, forKey: .pilotTauIndex)
        try c.encode(predictedMeanLPB, forKey: .predictedMeanLPB)
        try c.encode(standardError, forKey: .standardError)
    }
}

extension CostModel: Codable {
    enum CodingKeys: String, CodingKey { case edges, ratios, scale, byExpectedCost }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(edges: try c.decode([Double].self, forKey: .edges),
                  ratios: try c.decode([Double].self, forKey: .ratios),
                  scale: try c.decode(Double.self, forKey: .scale),
                  byExpectedCost: try c.decode(Bool.self, forKey: .byExpectedCost))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(edges, forKey: .edges)
        try c.encode(ratios, forKey: .ratios)
        try c.encode(scale, forKey: .scale)
        try c.encode(byExpectedCost, forKey: .byExpectedCost)
    }
}

extension WeightChoice: Codable {
    enum CodingKeys: String, CodingKey {
        case maxWeight = "max_weight", candidates, simulations, tolerance, seed, alpha, guarantee
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(maxWeight: try c.decode(Double.self, forKey: .maxWeight),
                  candidates: try c.decode([Candidate].self, forKey: .candidates),
                  simulations: try c.decode(Int.self, forKey: .simulations),
                  tolerance: try c.decode(Double.self, forKey: .tolerance),
                  seed: try c.decode(UInt64.self, forKey: .seed),
                  alpha: try c.decode(Double.self, forKey: .alpha),
                  guarantee: try c.decode(String.self, forKey: .guarantee))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxWeight, forKey: .maxWeight)
        try c.encode(candidates, forKey: .candidates)
        try c.encode(simulations, forKey: .simulations)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(seed, forKey: .seed)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(guarantee, forKey: .guarantee)
    }
}

extension WeightChoice.Candidate: Codable {
    enum CodingKeys: String, CodingKey {
        case maxWeight = "max_weight", boundCap = "bound_cap", tauMax = "tau_max"
        case predictedMeanLPB = "predicted_mean_lpb", predictedCoverage = "predicted_coverage"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(maxWeight: try c.decode(Double.self, forKey: .maxWeight),
                  boundCap: try c.decode(Double.self, forKey: .boundCap),
                  tauMax: try c.decode(Double.self, forKey: .tauMax),
                  predictedMeanLPB: try c.decode(Double.self, forKey: .predictedMeanLPB),
                  predictedCoverage: try c.decode(Double.self, forKey: .predictedCoverage))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxWeight, forKey: .maxWeight)
        try c.encode(boundCap, forKey: .boundCap)
        try c.encode(tauMax, forKey: .tauMax)
        try c.encode(predictedMeanLPB, forKey: .predictedMeanLPB)
        try c.encode(predictedCoverage, forKey: .predictedCoverage)
    }
}
