import Foundation
import XCTest
import TTUCore
import TTUFiles

final class PipelineTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws { t = try TTURunner() }
    override func tearDown() { t.cleanup() }

    /// Writes predictions for n prompts and simulated observations for a plan, from known p.
    func makePredictions(n: Int, seed: UInt64) throws -> [Double] {
        var rng = SeededRNG(seed: seed)
        let p = (0..<n).map { _ in pow(10, -4 + 2 * rng.uniformOpen()) }
        var w = CSVWriter(columns: ["id", "p_hat"])
        for i in 0..<n { w.row(["prompt-\(i)", Num.format(min(0.5, p[i] * exp(0.4 * rng.normal())))]) }
        try w.write(to: t.path("pred.csv"))
        return p
    }

    func observe(p: [Double], seed: UInt64) throws {
        let plan = try PlanFile.read(t.path("plan.csv"))
        var rng = SeededRNG(seed: seed)
        let (o, e) = SimulatedSampling.observe(p: p, cap: plan.plan.cap, rng: &rng)
        var file = ObservationsFile()
        for i in plan.ids.indices where plan.plan.cap[i] > 0 {
            file.ids.append(plan.ids[i]); file.rows.append(Observation(cap: plan.plan.cap[i], observed: o[i], event: e[i]))
        }
        try file.write(to: t.path("obs.csv"))
    }

    func testPlanCalibrateBoundRoundTrip() throws {
        let p = try makePredictions(n: 800, seed: 1)
        for strategy in ["naive", "basic", "trimmed", "optimized"] {
            var r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "50", "--strategy", strategy, "--seed", "3", "--out", "plan.csv"])
            XCTAssertEqual(r.code, 0, r.err)
            let header = try t.read("plan.csv").split(separator: "\n").first.map(String.init)
            XCTAssertEqual(header, "id,p_hat,prior_quantile,pi,cap")
            let json = try JSONSerialization.jsonObject(with: Data(try t.read("plan.json").utf8)) as! [String: Any]
            XCTAssertEqual(json["strategy"] as? String, strategy)
            XCTAssertNotNil(json["max_lpb"])
            XCTAssertEqual((json["tau_grid"] as? [String: Any])?["count"] as? Int, 300)
            try observe(p: p, seed: 9)
            r = try t.run(["calibrate", "--plan", "plan.csv", "--observations", "obs.csv", "--alpha", "0.1", "--out", "cal.json"])
            XCTAssertEqual(r.code, 0, r.err)
            let cal = try readJSON(CalibrationFile.self, from: t.path("cal.json"))
            // Same answer as the library on the same files.
            let plan = try PlanFile.read(t.path("plan.csv"))
            let obs = try ObservationsFile.read(t.path("obs.csv"))
            var observed = [Int](repeating: 0, count: plan.ids.count), event = [Bool](repeating: false, count: plan.ids.count)
            let row = Dictionary(uniqueKeysWithValues: plan.ids.enumerated().map { ($1, $0) })
            for (k, id) in obs.ids.enumerated() { observed[row[id]!] = obs.rows[k].observed; event[row[id]!] = obs.rows[k].event }
            let s = CalibrationSample(strategy: plan.plan.settings.strategy, budget: 50, pHat: plan.plan.pHat, pi: plan.plan.pi,
                                      cap: plan.plan.cap, observed: observed, event: event)
            // The default guarantee is the corrected marginal rule; --guarantee marginal the paper's.
            let bounds = CandidateBounds(grid: .default, cap: plan.plan.settings.boundCap)
            let expected = try Calibrator.calibrate(s, bounds: bounds, alpha: 0.1, guarantee: .corrected(margin: 0.5))
            XCTAssertEqual(cal.tauIndex, expected.tauIndex, strategy)
            XCTAssertEqual(cal.guarantee, "corrected")
            r = try t.run(["calibrate", "--plan", "plan.csv", "--observations", "obs.csv", "--alpha", "0.1", "--guarantee", "marginal", "--out", "cal_marginal.json"])
            XCTAssertEqual(r.code, 0, r.err)
            let plain = try Calibrator.calibrate(s, bounds: bounds, alpha: 0.1, guarantee: .marginal)
            XCTAssertEqual(try readJSON(CalibrationFile.self, from: t.path("cal_marginal.json")).tauIndex, plain.tauIndex, strategy)
            XCTAssertEqual(cal.n, 800)
            r = try t.run(["bound", "--calibration", "cal.json", "--predictions", "pred.csv", "--out", "lpb.csv"])
            XCTAssertEqual(r.code, 0, r.err)
            let lines = try t.read("lpb.csv").split(separator: "\n")
            XCTAssertEqual(lines.first, "id,p_hat,lpb")
            XCTAssertEqual(lines.count, 801)
        }
    }

    func testPACCalibrationWritesItsSettings() throws {
        let p = try makePredictions(n: 600, seed: 2)
        XCTAssertEqual(try t.run(["plan", "--predictions", "pred.csv", "--budget", "40", "--strategy", "optimized", "--out", "plan.csv"]).code, 0)
        try observe(p: p, seed: 4)
        for bound in ["hoeffding", "bernstein", "betting"] {
            let r = try t.run(["calibrate", "--plan", "plan.csv", "--observations", "obs.csv", "--alpha", "0.1", "--guarantee", "pac",
                               "--delta", "0.05", "--bound", bound, "--out", "cal.json"])
            XCTAssertEqual(r.code, 0, r.err)
            let json = try JSONSerialization.jsonObject(with: Data(try t.read("cal.json").utf8)) as! [String: Any]
            XCTAssertEqual(json["guarantee"] as? String, "pac")
            XCTAssertEqual(json["bound"] as? String, bound)
            XCTAssertEqual(json["delta"] as? Double, 0.05)
            for key in ["tau_hat", "tau_index", "alpha", "max_lpb", "miscoverage_estimate", "n"] { XCTAssertTrue(json.keys.contains(key), key) }
        }
    }
}
