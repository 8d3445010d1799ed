import Foundation
import XCTest
import TTUCore
import TTUFiles

/// `ttu observe`: a plan's observations derived from one deep sample per prompt equal
/// what sampling the plan directly would have recorded (same latent times).
final class ObserveTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws { t = try TTURunner() }
    override func tearDown() { t.cleanup() }

    /// n prompts with latent first-unsafe times T; writes pred.csv and deep.csv (cap C).
    func setUp(n: Int, deepCap: Int, seed: UInt64) throws -> [String: Int] {
        var rng = SeededRNG(seed: seed)
        var pred = CSVWriter(columns: ["id", "p_hat"])
        var deep = ObservationsFile()
        var latent: [String: Int] = [:]
        for i in 0..<n {
            let p = pow(10, -3 + 2.5 * rng.uniformOpen())
            let id = "p\(i)"
            var k = 1
            while rng.uniformOpen() >= p && k <= 10_000 { k += 1 }
            latent[id] = k
            pred.row([id, Num.format(p)])
            deep.ids.append(id)
            deep.rows.append(k <= deepCap ? Observation(cap: deepCap, observed: k, event: true)
                                          : Observation(cap: deepCap, observed: deepCap, event: false))
        }
        try pred.write(to: t.path("pred.csv"))
        try deep.write(to: t.path("deep.csv"))
        return latent
    }

    func testDerivedObservationsEqualDirectSampling() throws {
        let latent = try setUp(n: 300, deepCap: 40, seed: 3)
        for (strategy, budget) in [("optimized", "20"), ("trimmed", "10"), ("naive", "5")] {
            var r = try t.run(["plan", "--predictions", "pred.csv", "--budget", budget, "--strategy", strategy, "--max-weight", "2",
                               "--seed", "7", "--out", "plan.csv"])
            XCTAssertEqual(r.code, 0, r.err)
            let plan = try PlanFile.read(t.path("plan.csv"))
            // naive caps are unbounded: keep this case to caps the deep sample covers
            if strategy == "naive", plan.plan.cap.contains(where: { $0 > 40 }) { continue }
            r = try t.run(["observe", "--plan", "plan.csv", "--deep", "deep.csv", "--out", "obs.csv"])
            XCTAssertEqual(r.code, 0, r.err)
            let obs = try ObservationsFile.read(t.path("obs.csv"))
            XCTAssertEqual(obs.ids, plan.ids)
            for (i, id) in plan.ids.enumerated() {
                let c = plan.plan.cap[i], T = latent[id]!
                let expected = Observation(cap: c, observed: min(T, c), event: c > 0 && T <= c)
                XCTAssertEqual(obs.rows[i], expected, "\(strategy) \(id)")
            }
            r = try t.run(["calibrate", "--plan", "plan.csv", "--observations", "obs.csv", "--alpha", "0.1", "--out", "cal.json"])
            XCTAssertEqual(r.code, 0, r.err)
        }
    }

    func testTooShallowIsAnErrorOrTheWorstCase() throws {
        try t.write("pred.csv", "id,p_hat\na,0.001\nb,0.001\nc,0.2\n")
        XCTAssertEqual(try t.run(["plan", "--predictions", "pred.csv", "--budget", "50", "--strategy", "optimized", "--max-weight", "2",
                                  "--tau-grid=-3,-0.75,300", "--out", "plan.csv"]).code, 0)
        let caps = try PlanFile.read(t.path("plan.csv")).plan.cap
        XCTAssertEqual(caps[0], 100)   // 1/p_hat ≫ B·W: capped at M = 100
        // a censored at 20 < 100: too shallow; b unsafe at 7; c censored at 20.
        try t.write("deep.csv", "id,cap,observed,event\na,20,20,0\nb,20,7,1\nc,20,20,0\nextra,20,3,1\n")
        var r = try t.run(["observe", "--plan", "plan.csv", "--deep", "deep.csv", "--out", "obs.csv"])
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.contains("deep.csv:2") && r.err.contains("'a'") && r.err.contains("censored at 20"), r.err)
        XCTAssertFalse(t.exists("obs.csv"))
        r = try t.run(["observe", "--plan", "plan.csv", "--deep", "deep.csv", "--too-shallow", "worst-case", "--out", "obs.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        let obs = try ObservationsFile.read(t.path("obs.csv"))
        XCTAssertEqual(obs.ids, ["a", "b", "c"])           // deep prompts outside the plan are ignored
        XCTAssertEqual(obs.rows[0], Observation(cap: 100, observed: 21, event: true))
        XCTAssertEqual(obs.rows[1], Observation(cap: 100, observed: 7, event: true))
        XCTAssertEqual(obs.rows[2].cap, caps[2])
        // a sampled plan prompt with no deep observation
        try t.write("deep2.csv", "id,cap,observed,event\na,200,200,0\nc,200,5,1\n")
        try t.assertRefused(["observe", "--plan", "plan.csv", "--deep", "deep2.csv", "--out", "obs2.csv"], output: "obs2.csv",
                            mentions: ["no deep observation for 'b'"], exitCode: 2)
    }

    func testExtraBodyIsValidated() throws {
        try t.write("p.jsonl", "{\"id\":\"a\",\"prompt\":\"x\"}\n")
        let base = ["collect", "--prompts", "p.jsonl", "--per-prompt", "1", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m",
                    "--db", "log.sqlite", "--out", "o.csv"]
        for (bad, mention) in [("[1]", "JSON object"), ("{\"seed\": 1}", "seed"), ("{\"temperature\": 0.5}", "temperature"), ("{nope", "not valid JSON")] {
            let r = try t.run(base + ["--extra-body", bad])
            XCTAssertEqual(r.code, 64, "\(bad): \(r.err)")
            XCTAssertTrue(r.err.contains("--extra-body") && r.err.contains(mention), r.err)
            XCTAssertFalse(t.exists("log.sqlite"))
        }
    }

    /// The paper's grid limits these bounds below M = 60; the auto grid (the default) goes
    /// higher, as far as the budget pays; a grid reaching M makes the plan say that M binds
    /// and what a larger W would allow.
    func testPlanNotesWhenTheGridOrTheCapLimitsTheBounds() throws {
        try t.write("pred.csv", "id,p_hat\na,0.02\nb,0.015\nc,0.03\n")
        var r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "30", "--strategy", "optimized", "--max-weight", "2",
                           "--tau-grid=-3,-0.75,300", "--out", "plan.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("the grid, not the budget, limits their bounds"), r.err)
        r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "30", "--strategy", "optimized", "--max-weight", "2", "--out", "plan.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertFalse(r.err.contains("not the budget"), r.err)
        XCTAssertTrue(r.err.contains("τ grid: auto"), r.err)
        let json = try JSONSerialization.jsonObject(with: Data(try t.read("plan.json").utf8)) as! [String: Any]
        let grid = json["tau_grid"] as! [String: Any]
        XCTAssertGreaterThan(grid["max_log10"] as! Double, -0.75)
        r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "30", "--strategy", "optimized", "--max-weight", "2",
                       "--tau-grid=-3,-0.05,300", "--out", "plan.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertFalse(r.err.contains("not the budget"), r.err)
        XCTAssertTrue(r.err.contains("reaches the cap M = ⌊B·W⌋ = 60") && r.err.contains("W = 4 would allow up to 120"), r.err)
    }

    func testNaiveRefusesBudgetOne() throws {
        try t.write("pred.csv", "id,p_hat\na,0.02\nb,0.015\n")
        let r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "1", "--strategy", "naive", "--out", "plan.csv"])
        XCTAssertNotEqual(r.code, 0)
        XCTAssertTrue(r.err.contains("budget above 1"), r.err)
        XCTAssertFalse(t.exists("plan.csv"))
        XCTAssertEqual(try t.run(["plan", "--predictions", "pred.csv", "--budget", "1.5", "--strategy", "naive", "--out", "plan.csv"]).code, 0)
    }

    /// adaptive's two steps on the command line: pilot plan, its observations, the final plan
    /// for the other prompts, its observations, calibration on the final stage alone.
    func testAdaptiveTwoStepsThroughTheCLI() throws {
        _ = try setUp(n: 1500, deepCap: 100_000, seed: 9)
        // 1,500 prompts are far too few for the default pilot (below); lowered to see both steps.
        let plan = ["plan", "--predictions", "pred.csv", "--budget", "200", "--strategy", "adaptive", "--min-pilot-misses", "10"]
        var r = try t.run(plan + ["--out", "pilot.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("step 1 of 2"), r.err)
        r = try t.run(["observe", "--plan", "pilot.csv", "--deep", "deep.csv", "--out", "pilot_obs.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        // Calibrating on the pilot itself is refused: it only chooses the final stage.
        try t.assertRefused(["calibrate", "--plan", "pilot.csv", "--observations", "pilot_obs.csv", "--alpha", "0.1", "--out", "c.json"],
                            output: "c.json", mentions: ["pilot"])
        r = try t.run(plan + ["--alpha", "0.1", "--pilot", "pilot.csv", "--pilot-observations", "pilot_obs.csv", "--out", "final.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("step 2 of 2"), r.err)
        let pilotIDs = Set(try PlanFile.read(t.path("pilot.csv")).ids), finalIDs = Set(try PlanFile.read(t.path("final.csv")).ids)
        XCTAssertTrue(pilotIDs.isDisjoint(with: finalIDs))
        XCTAssertEqual(pilotIDs.count + finalIDs.count, 1500)
        r = try t.run(["observe", "--plan", "final.csv", "--deep", "deep.csv", "--out", "final_obs.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try t.run(["calibrate", "--plan", "final.csv", "--observations", "final_obs.csv", "--alpha", "0.1", "--out", "cal.json"])
        XCTAssertEqual(r.code, 0, r.err)
        let cal = try JSONSerialization.jsonObject(with: Data(try t.read("cal.json").utf8)) as! [String: Any]
        XCTAssertEqual(cal["strategy"] as? String, "adaptive")
        XCTAssertEqual(cal["n"] as? Int, finalIDs.count)
    }

    /// A pilot that would expect to see fewer miscovered prompts than it needs (α·Σπ < 400;
    /// here at most 30: 300 pilot prompts at α = 0.1) cannot choose: step 1 writes the plan
    /// `--strategy optimized` writes, for every prompt, and says so.
    func testAdaptiveFallsBackToOptimizedWhenThePilotIsTooSmall() throws {
        _ = try setUp(n: 1500, deepCap: 100_000, seed: 9)
        let args = ["plan", "--predictions", "pred.csv", "--budget", "200", "--alpha", "0.1"]
        let r = try t.run(args + ["--strategy", "adaptive", "--out", "a.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("too few to choose from") && r.err.contains("planned as optimized"), r.err)
        XCTAssertFalse(r.err.contains("step 1 of 2"), r.err)
        XCTAssertEqual(try t.run(args + ["--strategy", "optimized", "--out", "o.csv"]).code, 0)
        XCTAssertEqual(try t.read("a.csv"), try t.read("o.csv"))
        XCTAssertEqual(try t.read("a.json"), try t.read("o.json"))
        try t.assertRefused(args + ["--strategy", "optimized", "--min-pilot-misses", "10", "--out", "x.csv"], output: "x.csv",
                            mentions: ["--min-pilot-misses", "adaptive"])
    }
}
