import Foundation
import XCTest
import TTUCore

/// `ttu run` / `ttu demo` end to end on the simulated generator (the debug binary).
final class RunTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws { t = try TTURunner() }
    override func tearDown() { t.cleanup() }

    /// `n` prompts built from heated, neutral and calm words, so the demo rate function
    /// (TextRates.demo) spans 1e-4 … 0.2 and a text predictor has something to learn.
    func writePrompts(_ n: Int, name: String = "prompts.jsonl") throws {
        let subjects = ["My boss", "The neighbor", "Our teacher", "The driver", "My ex", "The kitten", "Grandmother", "The troll"]
        let verbs = ["was angry and yelled", "sent a recipe", "wrote a poem", "got furious and started cursing", "said thanks",
                     "called me an idiot", "talked about the weather", "posted a rant", "went to the museum", "picked a fight"]
        let tails = ["after lunch", "at the bar", "in the garden", "in traffic", "at the library", "at work", "quietly", "again"]
        var rng = SeededRNG(seed: 11)
        var s = ""
        for i in 0..<n {
            let text = "\(subjects[Int(rng.next() % 8)]) \(verbs[Int(rng.next() % 10)]) \(tails[Int(rng.next() % 8)]) (\(i))"
            s += "{\"id\": \"q\(i)\", \"prompt\": \"\(text)\"}\n"
        }
        try t.write(name, s)
    }

    func config(extra: String = "", latency: Double = 0, test: String = "2000", budget: Int = 100) -> String {
        """
        title: test run
        prompts: prompts.jsonl
        seed: 3
        split: {train: 0.4, calibration: 0.4, test: 0.2}
        generator:
          kind: simulated
          simulated_rate_function: demo
          simulated_latency: \(latency)
          concurrency: 4
        rater:
          kind: lexicon
        training:
          generations_per_prompt: 200
        calibration:
          alpha: 0.1
          budget: \(budget)
        test:
          generations_per_prompt: \(test)
        \(extra)
        """
    }

    func summary(_ dir: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try t.read(dir + "/summary.json").utf8)) as! [String: Any]
    }

    func testRunEndToEndWritesLabelledReportAndSkipsOnRerun() throws {
        try writePrompts(150)
        try t.write("ttu.yaml", config())
        var r = try t.run(["run", "--config", "ttu.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        for f in ["split/train.jsonl", "split/calibration.jsonl", "split/test.jsonl", "train_counts.csv", "model.json",
                  "predictions_calibration.csv", "predictions_test.csv", "plan.csv", "calibration_obs.csv", "calibration.json",
                  "lpb_test.csv", "test_obs.csv", "summary.json", "report.html", "manifest.json"] {
            XCTAssertTrue(t.exists("run/" + f), "missing \(f)")
        }
        let html = try t.read("run/report.html")
        XCTAssertTrue(html.contains("SIMULATED"))
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertFalse(html.contains("http://") && html.contains("<script src"), "the report must not load anything")
        let s = try summary("run")
        XCTAssertEqual(s["simulated"] as? Bool, true)
        XCTAssertTrue((s["statement"] as? String ?? "").hasPrefix("SIMULATED"))
        let test = s["test"] as! [String: Any]
        XCTAssertEqual(test["n"] as? Int, 30)
        XCTAssertNotNil((test["evaluation"] as? [String: Any])?["coverage_lower"])
        XCTAssertTrue(r.err.contains("report: "), r.err)

        // A rerun with nothing changed redoes no stage; changing α reruns calibrate and what follows only.
        r = try t.run(["run", "--config", "ttu.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.err.components(separatedBy: "up to date (skipped)").count - 1, 10, r.err)
        try t.write("ttu.yaml", config().replacingOccurrences(of: "alpha: 0.1", with: "alpha: 0.2"))
        r = try t.run(["run", "--config", "ttu.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        // W is auto: it is chosen by simulating the calibration at this α, so the plan is made again
        // (its collection reruns only if the plan's rows changed).
        for skipped in ["split", "train_counts", "train", "predict", "test_obs"] {
            XCTAssertTrue(r.err.contains("run: \(skipped): up to date"), "\(skipped) should be skipped:\n\(r.err)")
        }
        XCTAssertTrue(r.err.contains("run: plan …"), r.err)
        XCTAssertTrue(r.err.contains("run: calibrate …"), r.err)
        // With W given, α reaches the calibration only.
        try t.write("ttu.yaml", config().replacingOccurrences(of: "alpha: 0.1", with: "alpha: 0.1\n  max_weight: 100"))
        r = try t.run(["run", "--config", "ttu.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        try t.write("ttu.yaml", config().replacingOccurrences(of: "alpha: 0.1", with: "alpha: 0.2\n  max_weight: 100"))
        r = try t.run(["run", "--config", "ttu.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        for skipped in ["split", "train_counts", "train", "predict", "plan", "calibration_obs", "test_obs"] {
            XCTAssertTrue(r.err.contains("run: \(skipped): up to date"), "\(skipped) should be skipped:\n\(r.err)")
        }
        XCTAssertTrue(r.err.contains("run: calibrate …"), r.err)
    }

    func testDemoProducesAReport() throws {
        let r = try t.run(["demo", "--out", "demo", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("SIMULATED"))
        XCTAssertTrue(r.err.contains("Open the report: "), r.err)
        XCTAssertTrue(try t.read("demo/report.html").contains("Riskiest test prompts"))
        XCTAssertEqual(try summary("demo")["simulated"] as? Bool, true)
    }

    /// Known rates: the calibrated bounds cover at ≈ 1 − α on the test split, and the text
    /// predictor beats the constant one on validation log-likelihood.
    func testCoverageOnKnownRatesAndPredictorBeatsConstant() throws {
        try writePrompts(700)
        try t.write("ttu.yaml", config(test: "3000", budget: 100))
        let r = try t.run(["run", "--config", "ttu.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        let s = try summary("run")
        let eval = (s["test"] as! [String: Any])["evaluation"] as! [String: Any]
        let exact = eval["exact_coverage_simulated"] as! Double
        let lower = eval["coverage_lower"] as! Double, upper = eval["coverage_upper"] as! Double
        // 200 test prompts: the sd of a coverage estimate is ≈ 0.02; the calibration itself adds about as much.
        XCTAssertGreaterThan(exact, 0.9 - 0.05, "exact coverage \(exact)")
        XCTAssertLessThan(exact, 0.99, "bounds this loose say little: \(exact)")
        XCTAssertLessThanOrEqual(lower, upper)
        XCTAssertGreaterThan(upper, 0.9 - 0.06)
        let training = s["training"] as! [String: Any]
        let model = training["validation_log_likelihood_per_generation"] as! Double
        let constant = training["constant_validation_log_likelihood_per_generation"] as! Double
        XCTAssertGreaterThan(model, constant, "the text predictor does not beat the constant p̂")
        let median = (s["test"] as! [String: Any])["median_lpb"] as! Double
        XCTAssertGreaterThan(median, 1)
    }

    /// `test.generations_per_prompt: bound`: every test prompt sampled to L − 1 (or its first
    /// unsafe generation), so coverage is decided for all of them — no interval.
    func testTestSamplingToTheBoundDecidesEveryPrompt() throws {
        try writePrompts(300)
        try t.write("ttu.yaml", config(test: "bound"))
        let r = try t.run(["run", "--config", "ttu.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        let eval = (try summary("run")["test"] as! [String: Any])["evaluation"] as! [String: Any]
        XCTAssertEqual(eval["undecided"] as? Int, 0)
        XCTAssertEqual(eval["coverage_lower"] as! Double, eval["coverage_upper"] as! Double)
        var bound: [String: Double] = [:]
        for row in try t.read("run/lpb_test.csv").split(separator: "\n").dropFirst() {
            let f = row.split(separator: ","); bound[String(f[0])] = Double(f[2])!
        }
        let obs = try t.read("run/test_obs.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        XCTAssertEqual(obs.count, bound.count)
        for f in obs { XCTAssertEqual(Double(f[1])!, bound[String(f[0])]! - 1, "cap = L − 1 for \(f[0])") }
        // A fixed cap below many bounds is warned about.
        try t.write("ttu.yaml", config(test: "2"))
        let r2 = try t.run(["run", "--config", "ttu.yaml", "--out", "run"])
        XCTAssertEqual(r2.code, 0, r2.err)
        XCTAssertTrue(r2.err.contains("undecided"), r2.err)
        try t.write("ttu.yaml", config(test: "lots"))
        XCTAssertEqual(try t.run(["run", "--config", "ttu.yaml", "--out", "run"]).code, 2)
    }

    func testBadConfigsFailAtStartNamingTheKeyOrLine() throws {
        try writePrompts(40)
        func failing(_ yaml: String, prompts: String? = nil, expect: [String]) throws {
            if let prompts { try t.write("bad.jsonl", prompts) }
            try t.write("bad.yaml", yaml)
            let r = try t.run(["run", "--config", "bad.yaml", "--out", "badrun"])
            XCTAssertEqual(r.code, 2, r.err)
            let lines = r.err.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.err)
            for e in expect { XCTAssertTrue(r.err.contains(e), "'\(e)' not in: \(r.err)") }
            XCTAssertFalse(t.exists("badrun"), "nothing may be written")
        }
        try failing(config().replacingOccurrences(of: "  budget: 100", with: "  budget: 100\n  budgett: 5"),
                    expect: ["bad.yaml:17", "calibration.budgett", "unknown key"])
        try failing(config(extra: "colour: blue"), expect: ["bad.yaml:", "'colour'", "unknown key"])
        try failing("prompts: prompts.jsonl\ngenerator:\n  kind: openai\n  model: m\n",
                    expect: ["generator.endpoints", "needs an endpoint"])
        try failing(config().replacingOccurrences(of: "test: 0.2}", with: "test: 0.3}"),
                    expect: ["bad.yaml:4", "split", "must be 1"])
        try failing(config().replacingOccurrences(of: "prompts: prompts.jsonl", with: "prompts: bad.jsonl"),
                    prompts: "{\"id\": \"a\", \"prompt\": \"x\"}\n{\"id\": \"a\", \"prompt\": \"y\"}\n",
                    expect: ["bad.jsonl:2", "duplicate id 'a'"])
        try failing(config().replacingOccurrences(of: "prompts: prompts.jsonl", with: "prompts: bad.jsonl"),
                    prompts: "{\"id\": \"a\", \"prompt\": \"x\"}\n{\"id\": \"b\", \"prompt\": \"  \"}\n",
                    expect: ["bad.jsonl:2", "prompt", "empty prompt"])
        try failing(config().replacingOccurrences(of: "alpha: 0.1", with: "alpha: lots"), expect: ["calibration.alpha", "not a number"])
        // Cross-field rules are refused at load too, before the split (let alone training) runs.
        try failing(config(budget: 1).replacingOccurrences(of: "  budget: 1", with: "  budget: 1\n  strategy: naive"),
                    expect: ["bad.yaml:16", "calibration.budget", "naive strategy needs a budget above 1"])
        try failing(config().replacingOccurrences(of: "  budget: 100", with: "  budget: 0.5\n  max_weight: 1.5"),
                    expect: ["bad.yaml:17", "calibration.max_weight", "M = ⌊B·W⌋ must be at least 1"])
    }

    func testTrainPredictEvaluateCommands() throws {
        try writePrompts(200)
        // Counts from the demo rate function, drawn here with a seeded generator.
        var rng = SeededRNG(seed: 5)
        var counts = "id,n,k\n"
        let lines = try t.read("prompts.jsonl").split(separator: "\n")
        for (i, line) in lines.enumerated() {
            let p = line.contains("idiot") || line.contains("furious") || line.contains("angry") ? 0.05 : 0.002
            var k = 0
            for _ in 0..<300 where rng.uniformOpen() < p { k += 1 }
            counts += "q\(i),300,\(k)\n"
        }
        try t.write("counts.csv", counts)
        var r = try t.run(["train", "--data", "counts.csv", "--prompts", "prompts.jsonl", "--out", "model.json"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("the predictor is better"), r.err)
        let model = try JSONSerialization.jsonObject(with: Data(try t.read("model.json").utf8)) as! [String: Any]
        XCTAssertEqual((model["featurizer"] as? [String: String])?["kind"], "hashed")
        r = try t.run(["train", "--data", "counts.csv", "--prompts", "prompts.jsonl", "--model", "mlp", "--epochs", "5", "--out", "mlp.json"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try t.run(["predict", "--model", "model.json", "--prompts", "prompts.jsonl", "--out", "pred.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        let pred = try t.read("pred.csv").split(separator: "\n")
        XCTAssertEqual(pred.first, "id,p_hat")
        XCTAssertEqual(pred.count, 201)
        // An id that is not in the prompts names the data file and line.
        try t.write("unknown.csv", "id,n,k\nq0,10,0\nzzz,10,1\n")
        r = try t.run(["train", "--data", "unknown.csv", "--prompts", "prompts.jsonl", "--out", "x.json"])
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.contains("unknown.csv:3: field 'id'"), r.err)
        XCTAssertFalse(t.exists("x.json"))

        // evaluate: coverage under censoring, and refusal of mismatched ids.
        try t.write("lpb.csv", "id,p_hat,lpb\na,0.1,5\nb,0.1,5\nc,0.1,50\nd,0.1,1\n")
        try t.write("truth.csv", "id,cap,observed,event\na,100,7,1\nb,100,3,1\nc,20,20,0\nd,10,1,1\n")
        r = try t.run(["evaluate", "--lpb", "lpb.csv", "--truth", "truth.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("coverage between 0.500 and 0.750"), r.err)  // a, d covered; b miscovered; c undecided
        // 95% Clopper–Pearson: lower end for 2/4 (0.0676), upper end for 3/4 (0.9937), as scipy's beta.ppf gives.
        XCTAssertTrue(r.err.contains("95% interval 0.068–0.994"), r.err)
        XCTAssertTrue(r.err.contains("mean LPB 15.2"), r.err)
        XCTAssertTrue(r.err.contains("trivial bounds (L = 1): 25.0%"), r.err)
        try t.write("truth2.csv", "id,cap,observed,event\na,100,7,1\nb,100,3,1\nc,20,20,0\ne,10,1,1\n")
        r = try t.run(["evaluate", "--lpb", "lpb.csv", "--truth", "truth2.csv"])
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.contains("truth2.csv:5: field 'id'"), r.err)
    }

    /// `--features fields`: numeric keys of the prompt records as features. The rate here
    /// rises with `risk`, so the fitted p̂ must beat the constant and rise with it too; a
    /// prompt without the field is refused with file, line and field.
    func testTrainOnNumericPromptFields() throws {
        var rng = SeededRNG(seed: 9)
        var prompts = "", counts = "id,n,k\n"
        for i in 0..<300 {
            let risk = Double(i % 10) / 10
            prompts += "{\"id\": \"f\(i)\", \"prompt\": \"prompt \(i)\", \"risk\": \(risk)}\n"
            let p = 0.002 + 0.05 * risk
            var k = 0
            for _ in 0..<200 where rng.uniformOpen() < p { k += 1 }
            counts += "f\(i),200,\(k)\n"
        }
        try t.write("fp.jsonl", prompts)
        try t.write("fc.csv", counts)
        var r = try t.run(["train", "--data", "fc.csv", "--prompts", "fp.jsonl", "--features", "fields", "--fields", "risk", "--out", "fm.json"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("the predictor is better"), r.err)
        r = try t.run(["predict", "--model", "fm.json", "--prompts", "fp.jsonl", "--out", "fpred.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        let p = try t.read("fpred.csv").split(separator: "\n").dropFirst().map { Double($0.split(separator: ",")[1])! }
        XCTAssertLessThan(p[0], p[5]); XCTAssertLessThan(p[5], p[9])
        XCTAssertEqual(p[9], p[19], accuracy: 1e-12, "same field value, same prediction")
        try t.write("bad.jsonl", "{\"id\": \"f0\", \"prompt\": \"x\", \"risk\": 0.1}\n{\"id\": \"f1\", \"prompt\": \"y\"}\n")
        try t.assertRefused(["predict", "--model", "fm.json", "--prompts", "bad.jsonl", "--out", "bad.csv"], output: "bad.csv",
                            mentions: ["bad.jsonl:2: field 'risk'"], exitCode: 2)
        try t.write("bad2.jsonl", "{\"id\": \"f0\", \"prompt\": \"x\", \"risk\": \"high\"}\n")
        try t.assertRefused(["predict", "--model", "fm.json", "--prompts", "bad2.jsonl", "--out", "bad.csv"], output: "bad.csv",
                            mentions: ["bad2.jsonl:1: field 'risk': must be a finite number"], exitCode: 2)
    }
    /// `training.features: fields` in `ttu run`: the split files keep every key of the
    /// prompt records, the model learns from the named key, and a prompt without it, or a
    /// `fields` list without `features: fields`, is refused before anything is written.
    func testRunWithPromptFieldFeatures() throws {
        var prompts = "", rates = "id,p\n"
        for i in 0..<200 {
            let risk = Double(i % 10) / 10
            prompts += "{\"id\": \"r\(i)\", \"prompt\": \"prompt \(i)\", \"risk\": \(risk), \"source\": \"test\"}\n"
            rates += "r\(i),\(0.002 + 0.05 * risk)\n"
        }
        try t.write("prompts.jsonl", prompts)
        try t.write("rates.csv", rates)
        let yaml = """
            prompts: prompts.jsonl
            seed: 5
            generator: {kind: simulated, simulated_rates: rates.csv, concurrency: 4}
            training: {generations_per_prompt: 100, features: fields, fields: [risk]}
            calibration: {budget: 50}
            """
        try t.write("fields.yaml", yaml)
        let r = try t.run(["run", "--config", "fields.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        let train = try t.read("run/split/train.jsonl").split(separator: "\n")
        XCTAssertEqual(train.count, 80)
        XCTAssertTrue(train.allSatisfy { $0.contains("\"risk\": ") && $0.contains("\"source\": \"test\"") }, String(train[0]))
        XCTAssertTrue(try t.read("run/model.json").contains("risk"))
        let training = try summary("run")["training"] as! [String: Any]
        XCTAssertGreaterThan(training["validation_log_likelihood_per_generation"] as! Double,
                             training["constant_validation_log_likelihood_per_generation"] as! Double)
        let p = try t.read("run/predictions_test.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let byRisk = Dictionary(p.map { (Int($0[0].dropFirst())! % 10, Double($0[1])!) }, uniquingKeysWith: { a, _ in a })
        XCTAssertLessThan(byRisk.min { $0.key < $1.key }!.value, byRisk.max { $0.key < $1.key }!.value, "p̂ must rise with risk")

        let badRun = ["run", "--config", "bad.yaml", "--out", "badrun"]
        try t.write("bad.jsonl", "{\"id\": \"a\", \"prompt\": \"x\", \"risk\": 0.1}\n{\"id\": \"b\", \"prompt\": \"y\"}\n")
        try t.write("bad.yaml", yaml.replacingOccurrences(of: "prompts.jsonl", with: "bad.jsonl"))
        try t.assertRefused(badRun, output: "badrun", mentions: ["bad.jsonl:2: field 'risk'"], exitCode: 2)
        try t.write("bad.yaml", yaml.replacingOccurrences(of: "features: fields, ", with: ""))
        try t.assertRefused(badRun, output: "badrun", mentions: ["training.fields", "goes with features: fields"], exitCode: 2)
        try t.write("bad.yaml", yaml.replacingOccurrences(of: ", fields: [risk]", with: ""))
        try t.assertRefused(badRun, output: "badrun", mentions: ["training.fields", "need the keys"], exitCode: 2)
    }
}
