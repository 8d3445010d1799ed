import Foundation
import TTUCore
import TTUFiles
import TTUSampling

extension Pipeline {
    /// What one collection stage would draw.
    public struct StageCost: Sendable, Equatable {
        public var stage: String
        public var prompts: Int
        /// Expected generations; nil when they depend on what an earlier stage learns (p̂).
        public var expected: Double?
        /// The most generations the stage may draw (calibration: the plan's Σ c_i on average,
        /// n·B); nil when only a later stage fixes it (test sampling to the bounds).
        public var max: Double?
        /// How the figures were obtained.
        public var basis: String
    }

    /// `ttu run --dry-run`: each collection stage's expected and largest number of
    /// generations, from the config and the prompts alone (nothing is written or sampled).
    public func dryRun() throws -> [StageCost] {
        let parts = splitRows(), s = settings
        let n = parts.map(\.count), N = s.trainingGenerations
        var out = [StageCost(stage: "train_counts", prompts: n[0], expected: Double(n[0] * N), max: Double(n[0] * N),
                             basis: "all \(N) generations of every training prompt (no early stop)")]
        out.append(StageCost(stage: "calibration_obs", prompts: n[1], expected: nil, max: Double(n[1]) * s.plan.budget,
                             basis: "the plan spends B = \(Num.format(s.plan.budget)) per prompt on average at worst (Σ π·w = n·B); "
                                + "its expected cost under p̂ is known once predict has run (`ttu plan` prints it)"))
        switch s.testSampling {
        case .none: break
        case .perPrompt(let cap):
            var expected: Double?
            var basis = "at most \(cap) per test prompt; expected unknown before sampling (real model)"
            if let rates = try trueRates() {
                expected = parts[2].map { TwoStage.expectedCost(pHat: rates[$0], cap: Double(cap)) }.reduce(0, +)
                basis = "at most \(cap) per test prompt; expected under the known simulated rates"
            }
            out.append(StageCost(stage: "test_obs", prompts: n[2], expected: expected, max: Double(n[2] * cap), basis: basis))
        case .bound:
            // Σ (L_i − 1) at most, and the bounds come from calibration; M = ⌊B·W⌋ caps each.
            let cap = s.plan.maxWeight.map { "M − 1 = \(Num.format((s.plan.budget * $0).rounded(.down) - 1))" } ?? "M − 1 (M = ⌊B·W⌋, W chosen from p̂)"
            out.append(StageCost(stage: "test_obs", prompts: n[2], expected: nil, max: nil,
                                 basis: "each test prompt to its bound: at most L − 1 ≤ \(cap) each, and fewer where an unsafe generation "
                                    + "comes first; known once calibrated (the run prints it before sampling)"))
        }
        return out
    }

    /// The dry run's line on the batch backend (nil online): how it is priced and, with
    /// tokens per generation and a price, the largest cost of the stages online and at the
    /// batch price.
    public func batchPricing(_ rows: [StageCost]) -> String? {
        let s = settings
        guard s.batch.isBatch else { return nil }
        var line = "batch backend: " + (s.batch.offline.map { "offline rounds in \($0) (vllm run-batch)" } ?? "Batch API at \(s.generator.endpoints.first ?? "?")")
        guard let f = s.plan.batchPriceFactor else {
            return line + "; priced as online (set calibration.batch_price_factor, e.g. 0.5 for OpenAI's Batch API)"
        }
        line += "; batch pricing × \(Num.format(f)) of the online price"
        if let t = s.plan.tokensPerGeneration, let p = s.plan.pricePerMillionTokens, !rows.contains(where: { $0.max == nil }) {
            let online = rows.compactMap(\.max).reduce(0, +) * t * p / 1e6
            line += ": at most \(Num.fixed(online * f, 2)) (online \(Num.fixed(online, 2))) for the generations above"
        }
        return line
    }

    /// The known rate of every prompt (row order) when the generator is simulated.
    func trueRates() throws -> [Double]? {
        if settings.simulatedRateFunction == "demo" { return prompts.map { TextRates.demo($0.prompt) } }
        guard simulated, let path = settings.generator.simulatedRates else { return nil }
        let rates = try RatesFile.read(path)
        return prompts.map { rates[$0.id]! }  // every id was checked in init
    }
}
