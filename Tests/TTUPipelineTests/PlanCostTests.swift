import Foundation
import GRDB
import TTUCore
import TTUFiles
import TTUSampling
import XCTest

/// The plan's cost before sampling, and `ttu run --dry-run`, against simulated collections.
final class PlanCostTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws { t = try TTURunner() }
    override func tearDown() { t.cleanup() }

    /// With p̂ equal to the true rates, the plan's expected generations are what a
    /// simulated collection of that plan draws (within 5%), and the worst case bounds both.
    func testPlanCostMatchesWhatACollectionDraws() throws {
        let p = try t.writeRates(1000, seed: 23) { pow(10, -3 + 2.3 * $0.uniformOpen()) }
        try t.write("pred.csv", "id,p_hat\n" + p.enumerated().map { "q\($0.offset),\(Num.format($0.element))" }.joined(separator: "\n") + "\n")
        for strategy in ["optimized", "trimmed", "naive"] {
            let plan = try t.run(["plan", "--predictions", "pred.csv", "--budget", "40", "--strategy", strategy, "--out", "\(strategy).csv",
                                  "--tokens-per-generation", "250", "--price-per-million-tokens", "0.6"])
            XCTAssertEqual(plan.code, 0, plan.err)
            XCTAssertTrue(plan.err.contains("generations expected"), plan.err)
            let j = try t.json("\(strategy).json")
            for key in ["strategy", "budget", "max_weight", "max_lpb", "tau_grid", "seed"] { XCTAssertNotNil(j[key], key) }
            let expected = j["expected_generations"] as! Double, maxG = j["max_generations"] as! Int
            XCTAssertEqual(j["expected_cost"] as! Double, expected * 250 * 0.6 / 1e6, accuracy: 1e-9)
            XCTAssertEqual(j["max_cost"] as! Double, Double(maxG) * 250 * 0.6 / 1e6, accuracy: 1e-9)
            XCTAssertEqual(maxG, try t.rows("\(strategy).csv").map { Int($0["cap"]!)! }.reduce(0, +))
            try t.collectSimulated("p.jsonl", ["--plan", "\(strategy).csv"], db: "\(strategy).sqlite", out: "\(strategy)_obs.csv")
            let drawn = try t.rows("\(strategy)_obs.csv").map { Int($0["observed"]!)! }.reduce(0, +)
            XCTAssertLessThan(abs(Double(drawn) - expected) / expected, 0.05, "\(strategy): expected \(expected), drawn \(drawn)")
            XCTAssertGreaterThanOrEqual(Double(maxG), expected)
            XCTAssertGreaterThanOrEqual(maxG, drawn)
            print("\(strategy): expected_generations \(expected), drawn \(drawn), max_generations \(maxG)")
        }
        try t.assertRefused(["plan", "--predictions", "pred.csv", "--budget", "40", "--strategy", "optimized", "--out", "x.csv",
                             "--price-per-million-tokens", "0.6"], output: "x.csv",
                            mentions: ["--price-per-million-tokens", "--tokens-per-generation"], exitCode: 64)
    }

    /// `ttu run --dry-run`: every collection stage's expected and largest draw, nothing written.
    func testRunDryRunPrintsStageCostsAndWritesNothing() throws {
        let p = try t.writeRates(200, seed: 31) { pow(10, -3 + 2 * $0.uniformOpen()) }
        try t.write("c.yaml", """
            prompts: p.jsonl
            run_dir: out
            generator: {kind: simulated, simulated_rates: rates.csv}
            training: {generations_per_prompt: 50}
            calibration: {budget: 30}
            test: {generations_per_prompt: 400}
            """)
        let r = try t.run(["run", "--config", "c.yaml", "--dry-run"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertFalse(t.exists("out"), "a dry run writes nothing")
        let lines = r.out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.map { $0[0] }, ["stage", "train_counts", "calibration_obs", "test_obs", "total"])
        XCTAssertEqual(Array(lines[1][1...3]), ["80", "4000", "4000"])  // 40% of 200 prompts × 50, no early stop
        XCTAssertEqual(Array(lines[2][1...3]), ["80", "?", "2400"])     // n·B
        XCTAssertEqual(lines[3][1], "40")
        XCTAssertEqual(lines[3][3], "16000")
        // The test prompts' expected draw under the known rates: recomputed from the split the run then writes.
        let run = try t.run(["run", "--config", "c.yaml", "--quiet"])
        XCTAssertEqual(run.code, 0, run.err)
        let testIDs = try t.read("out/split/test.jsonl").split(separator: "\n").map { line -> Int in
            let obj = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return Int((obj["id"] as! String).dropFirst())!
        }
        XCTAssertEqual(testIDs.count, 40)
        let expected = testIDs.map { TwoStage.expectedCost(pHat: p[$0], cap: 400) }.reduce(0, +)
        XCTAssertEqual(Double(lines[3][2])!, expected.rounded())
        let plan = try t.json("out/plan.json")
        XCTAssertLessThanOrEqual(plan["expected_generations"] as! Double, Double(plan["max_generations"] as! Int))
    }
}
