import Foundation
import XCTest
import TTUCore
import TTUFiles

/// The defaults at a user's size (docs/method.md §3–§4, §6): `ttu plan` with only a budget
/// chooses W from p̂ and says so; `ttu calibrate`'s default rule and its statement; `ttu
/// simulate` at a chosen calibration size with the noisy-oracle predictor.
final class UserRegimeTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws { t = try TTURunner() }
    override func tearDown() { t.cleanup() }

    /// 600 prompts of the paper's population with p̂ = p·e^{0.5Z}; returns p.
    func writePredictions() throws -> [Double] {
        var rng = SeededRNG(seed: 11)
        var w = CSVWriter(columns: ["id", "p_hat"])
        var p: [Double] = []
        for i in 0..<600 {
            let x = rng.uniformOpen() < 0.9 ? pow(10, -3 + rng.uniformOpen()) : pow(10, -5 + rng.uniformOpen())
            p.append(x)
            w.row(["c\(i)", Num.format(min(0.999, x * exp(0.5 * rng.normal())))])
        }
        try w.write(to: t.path("pred.csv"))
        return p
    }

    func testPlanWithOnlyABudgetChoosesWFromPredictionsAndSaysWhy() throws {
        let p = try writePredictions()
        var r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "10", "--out", "plan.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("plan: optimized, B = 10"), r.err)
        XCTAssertTrue(r.err.contains("chosen from p̂ alone"), r.err)
        let json = try JSONSerialization.jsonObject(with: Data(try t.read("plan.json").utf8)) as! [String: Any]
        let choice = json["weight_choice"] as! [String: Any]
        let w = json["max_weight"] as! Double
        XCTAssertEqual(choice["max_weight"] as? Double, w)
        XCTAssertEqual(choice["guarantee"] as? String, "corrected")
        XCTAssertEqual((choice["candidates"] as! [[String: Any]]).count, WeightChoice.defaultCandidates.count)
        XCTAssertGreaterThan(w, 100, "at B = 10 the rare prompts need a larger cap than the paper's W = 100 allows")
        XCTAssertEqual(json["max_lpb"] as? Double, (10 * w).rounded(.down))
        // The same predictions and seed give the same plan, byte for byte.
        let first = try t.read("plan.csv")
        r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "10", "--out", "plan2.csv"])
        XCTAssertEqual(try t.read("plan2.csv"), first)
        // W given by hand: no choice recorded.
        r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "10", "--max-weight", "100", "--out", "plan3.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        let fixed = try JSONSerialization.jsonObject(with: Data(try t.read("plan3.json").utf8)) as! [String: Any]
        XCTAssertNil(fixed["weight_choice"])
        XCTAssertEqual(fixed["max_weight"] as? Double, 100)

        // Calibrate with its defaults: the corrected rule, stated with its standard error.
        let plan = try PlanFile.read(t.path("plan.csv"))
        var rng = SeededRNG(seed: 5)
        let (o, e) = SimulatedSampling.observe(p: p, cap: plan.plan.cap, rng: &rng)
        var obs = ObservationsFile()
        for i in plan.ids.indices where plan.plan.cap[i] > 0 {
            obs.ids.append(plan.ids[i]); obs.rows.append(Observation(cap: plan.plan.cap[i], observed: o[i], event: e[i]))
        }
        try obs.write(to: t.path("obs.csv"))
        r = try t.run(["calibrate", "--plan", "plan.csv", "--observations", "obs.csv", "--out", "cal.json"])
        XCTAssertEqual(r.code, 0, r.err)
        let cal = try readJSON(CalibrationFile.self, from: t.path("cal.json"))
        XCTAssertEqual(cal.guarantee, "corrected")
        XCTAssertEqual(cal.margin, 0.5)
        XCTAssertNotNil(cal.standardError)
        XCTAssertTrue(cal.statement.contains("standard error of"), cal.statement)
        XCTAssertTrue(cal.statement.contains("at least L − 1 safe ones come first"), cal.statement)
        // Calibrating for another α than the plan's W was chosen for is allowed, and said.
        r = try t.run(["calibrate", "--plan", "plan.csv", "--observations", "obs.csv", "--alpha", "0.2", "--out", "cal2.json"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("the plan chose W = "), r.err)
    }

    func testNaiveWithABudgetOfOneIsRefusedBeforeAnything() throws {
        _ = try writePredictions()
        let r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "1", "--strategy", "naive", "--out", "plan.csv"])
        XCTAssertNotEqual(r.code, 0)
        XCTAssertTrue(r.err.contains("naive"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path("plan.csv")))
    }

    func testSimulateAtAUsersSizeWithTheNoisyOracle() throws {
        let r = try t.run(["simulate", "--n", "4000", "--predictor", "oracle", "--sigma", "0.5", "--calibration-size", "300",
                           "--budgets", "10", "--strategies", "optimized", "--max-weight", "auto", "--tau-grid", "auto",
                           "--guarantee", "corrected", "--reps", "6", "--out", "sim"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("300 calibration prompts per repetition"), r.out)
        XCTAssertTrue(r.out.contains("W auto"), r.out)
        XCTAssertTrue(r.out.contains("P(cov<1-α)"), r.out)
        XCTAssertTrue(r.out.contains("× oracle"), r.out)
        XCTAssertFalse(r.out.contains("no better than a constant"), r.out)
        let rows = try String(contentsOfFile: t.path("sim/simulate.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 7)
        // Each repetition chose its own W (a column of the rows), all from the candidates.
        let header = rows[0].split(separator: ",").map(String.init)
        let wColumn = header.firstIndex(of: "max_weight")!
        for row in rows.dropFirst() {
            let w = Double(row.split(separator: ",", omittingEmptySubsequences: false)[wColumn])!
            XCTAssertTrue(WeightChoice.defaultCandidates.contains(w), "\(w)")
        }
    }

    func testSimulateWarnsWhenTheMLPDidNotLearn() throws {
        let r = try t.run(["simulate", "--n", "2000", "--budgets", "10", "--strategies", "optimized", "--reps", "2", "--out", "sim"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("no better than a constant"), r.out)
        XCTAssertTrue(r.out.contains("--predictor oracle"), r.out)
    }
}
