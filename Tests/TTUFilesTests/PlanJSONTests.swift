import Foundation
import XCTest
import TTUCore
@testable import TTUFiles

/// plan.json's keys are a file contract (TTUFiles' `PlanJSON.swift`): every key of every
/// nested record, a round trip, and files written before a setting existed.
final class PlanJSONTests: XCTestCase {
    /// Pilot plans written before a setting existed still read, with its default.
    func testSettingsOfOlderPlanFilesRead() throws {
        let old = #"{"pilot_fraction":0.2,"weight_candidates":[100,300,1000],"cap_safety":3,"noise_margin":2,"max_standard_error":0.004,"cost_margin":1.6,"by_expected_cost":true}"#
        let s = try JSONDecoder().decode(TwoStage.Settings.self, from: Data(old.utf8))
        XCTAssertEqual(s.weightCandidates, [100, 300, 1000])
        XCTAssertEqual(s.costMargin, 1.6)
        XCTAssertEqual(s.minPilotMisses, TwoStage.Settings().minPilotMisses)
        let round = try JSONDecoder().decode(TwoStage.Settings.self, from: try JSONEncoder().encode(s))
        XCTAssertEqual(round, s)
    }

    func fullSettings() -> PlanSettings {
        var s = PlanSettings(strategy: .adaptive, budget: 20, maxWeight: 300, tauGrid: TauGrid(minLog10: -3, maxLog10: -0.5, count: 50), seed: 7)
        s.stage = "final"
        s.totalPrompts = 1000
        s.twoStage = TwoStage.Settings()
        s.choice = TwoStage.Choice(maxWeight: 300, grid: .default, costModel: CostModel(edges: [1, 10], ratios: [1.5, 2, 2.5], scale: 0.3, byExpectedCost: true),
                                   costRatio: 1.2, finalBudget: 18,
                                   candidates: [.init(maxWeight: 300, pilotTauIndex: 40, predictedMeanLPB: 55, standardError: 0.003)])
        s.weightChoice = WeightChoice(maxWeight: 300, candidates: [.init(maxWeight: 300, boundCap: 6000, tauMax: 0.3, predictedMeanLPB: 50, predictedCoverage: 0.9)],
                                      simulations: 12, tolerance: 0.05, seed: 3, alpha: 0.1, guarantee: "corrected")
        return s
    }

    func testEveryKeyOfPlanJSONAndARoundTrip() throws {
        let s = fullSettings()
        let text = try encodeJSON(PlanFile.SettingsJSON(settings: s, cost: PlanCost(pHat: [0.1, 0], cap: [3, 5], tokensPerGeneration: 20, pricePerMillionTokens: 2)))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["strategy", "budget", "max_weight", "max_lpb", "tau_grid", "seed", "stage", "total_prompts", "two_stage",
                                          "choice", "weight_choice", "expected_generations", "max_generations", "tokens_per_generation",
                                          "price_per_million_tokens", "expected_tokens", "max_tokens", "expected_cost", "max_cost"])
        XCTAssertEqual(object["max_lpb"] as? Double, 6000)
        XCTAssertEqual(Set((object["tau_grid"] as! [String: Any]).keys), ["min_log10", "max_log10", "count"])
        XCTAssertEqual(Set((object["two_stage"] as! [String: Any]).keys), ["pilot_fraction", "weight_candidates", "cap_safety", "noise_margin",
                                                                           "max_standard_error", "cost_margin", "by_expected_cost", "min_pilot_misses"])
        let choice = object["choice"] as! [String: Any]
        XCTAssertEqual(Set(choice.keys), ["max_weight", "tau_grid", "cost_model", "cost_ratio", "final_budget", "candidates"])
        XCTAssertEqual(Set((choice["cost_model"] as! [String: Any]).keys), ["edges", "ratios", "scale", "byExpectedCost"])
        XCTAssertEqual(Set(((choice["candidates"] as! [Any])[0] as! [String: Any]).keys), ["maxWeight", "pilotTauIndex", "predictedMeanLPB", "standardError"])
        let wc = object["weight_choice"] as! [String: Any]
        XCTAssertEqual(Set(wc.keys), ["max_weight", "candidates", "simulations", "tolerance", "seed", "alpha", "guarantee"])
        XCTAssertEqual(Set(((wc["candidates"] as! [Any])[0] as! [String: Any]).keys), ["max_weight", "bound_cap", "tau_max", "predicted_mean_lpb", "predicted_coverage"])
        XCTAssertEqual(try decodeJSON(PlanSettings.self, from: Data(text.utf8), file: "plan.json"), s)
    }

    /// No cap: M is ∞ in the code and an explicit null in the file, and null reads back as ∞.
    func testAnUncappedPlanWritesNullAndReadsInfinity() throws {
        let s = PlanSettings(strategy: .basic, budget: 10)
        XCTAssertEqual(s.boundCap, .infinity)
        let text = try encodeJSON(s)
        XCTAssertTrue(text.contains("\"max_lpb\" : null"), text)
        XCTAssertEqual(try decodeJSON(PlanSettings.self, from: Data(text.utf8), file: "plan.json").boundCap, .infinity)
    }
}
