import Foundation
import XCTest

/// Every bad input is refused with a one-line error naming file, line and field,
/// a non-zero exit, and no output file.
final class BadInputTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws {
        t = try TTURunner()
        try t.write("pred.csv", "id,p_hat\na,0.01\nb,0.002\nc,0.05\n")
        XCTAssertEqual(try t.run(["plan", "--predictions", "pred.csv", "--budget", "20", "--strategy", "trimmed", "--out", "plan.csv"]).code, 0)
    }
    override func tearDown() { t.cleanup() }

    func plan(_ predictions: String) throws -> (args: [String], out: String) {
        try t.write("bad.csv", predictions)
        return (["plan", "--predictions", "bad.csv", "--budget", "10", "--strategy", "basic", "--out", "out.csv"], "out.csv")
    }

    func testBadPredictions() throws {
        var c = try plan("id,p_hat\na,0.1\nb,1.3\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:3", "p_hat", "outside"])
        c = try plan("id,p_hat\na,nan\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:2", "p_hat"])
        c = try plan("id,p_hat\na,-0.1\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:2", "p_hat"])
        c = try plan("id,p_hat\na,abc\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:2", "p_hat", "not a number"])
        c = try plan("id\na\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:1", "p_hat", "missing column"])
        c = try plan("id,p_hat,extra\na,0.1,1\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:1", "extra", "unexpected column"])
        c = try plan("id,p_hat\na,0.1\na,0.2\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:3", "id", "duplicate"])
        c = try plan("id,p_hat\na,0.1,3\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:2", "fields"])
        c = try plan("id,p_hat\n,0.1\n")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv:2", "id", "empty"])
        c = try plan("")
        try t.assertRefused(c.args, output: c.out, mentions: ["bad.csv"])
    }

    func testBadPlanArguments() throws {
        try t.assertRefused(["plan", "--predictions", "pred.csv", "--budget", "0", "--strategy", "basic", "--out", "o.csv"], output: "o.csv", mentions: ["budget"])
        try t.assertRefused(["plan", "--predictions", "pred.csv", "--budget", "-5", "--strategy", "basic", "--out", "o.csv"], output: "o.csv", mentions: ["budget"])
        try t.assertRefused(["plan", "--predictions", "pred.csv", "--budget", "5", "--strategy", "clever", "--out", "o.csv"], output: "o.csv", mentions: ["strategy"])
        try t.assertRefused(["plan", "--predictions", "missing.csv", "--budget", "5", "--strategy", "basic", "--out", "o.csv"], output: "o.csv", mentions: ["missing.csv"])
    }

    func calibrate(_ observations: String, extra: [String] = []) throws -> [String] {
        try t.write("obs.csv", observations)
        return ["calibrate", "--plan", "plan.csv", "--observations", "obs.csv", "--alpha", "0.1", "--out", "cal.json"] + extra
    }

    func testBadObservations() throws {
        let plan = try t.read("plan.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let capOf = Dictionary(uniqueKeysWithValues: plan.map { (String($0[0]), String($0[4])) })
        let a = capOf["a"]!
        try t.assertRefused(try calibrate("id,cap,observed,event\nzzz,5,5,0\n"), output: "cal.json", mentions: ["obs.csv:2", "id", "unknown id 'zzz'"])
        try t.assertRefused(try calibrate("id,cap,observed,event\na,\(a),\((Int(a) ?? 0) + 1),0\n"), output: "cal.json", mentions: ["obs.csv:2", "observed"])
        try t.assertRefused(try calibrate("id,cap,observed,event\na,\(a),0,1\n"), output: "cal.json", mentions: ["obs.csv:2", "event"])
        try t.assertRefused(try calibrate("id,cap,observed,event\na,\(a),1,2\n"), output: "cal.json", mentions: ["obs.csv:2", "event"])
        try t.assertRefused(try calibrate("id,cap,observed\na,\(a),1\n"), output: "cal.json", mentions: ["obs.csv:1", "event", "missing column"])
        try t.assertRefused(try calibrate("id,cap,observed,event\na,\(a),1,1\na,\(a),1,1\n"), output: "cal.json", mentions: ["obs.csv:3", "duplicate"])
        try t.assertRefused(try calibrate("id,cap,observed,event\na,999999,1,1\n"), output: "cal.json", mentions: ["obs.csv:2", "cap", "differs"])
        try t.assertRefused(try calibrate("id,cap,observed,event\na,\(a),1,1\n", extra: ["--alpha", "1.5"]), output: "cal.json", mentions: ["alpha"])
        try t.assertRefused(try calibrate("id,cap,observed,event\na,\(a),1,1\n", extra: ["--guarantee", "pac", "--delta", "0"]), output: "cal.json", mentions: ["delta"])
        // A sampled prompt without an observation is an error unless --missing miscovered.
        let sampled = capOf.filter { $0.value != "0" }.keys.sorted()
        if let s = sampled.first, sampled.count > 1 {
            try t.assertRefused(try calibrate("id,cap,observed,event\n\(s),\(capOf[s]!),1,1\n"), output: "cal.json", mentions: ["no observation"])
        }
    }

    func testMissingPlanSettings() throws {
        try FileManager.default.removeItem(atPath: t.path("plan.json"))
        try t.assertRefused(try calibrate("id,cap,observed,event\n"), output: "cal.json", mentions: ["plan.json"])
    }

    /// One validation for flags and the run config: the same message, with the flag for
    /// the one and `file:line: field` for the other; nothing is written.
    func testFlagsAndConfigShareOneValidation() throws {
        try t.write("p.jsonl", "{\"id\": \"a\", \"prompt\": \"hello\"}\n")
        let collect = ["collect", "--prompts", "p.jsonl", "--per-prompt", "3", "--generator", "openai", "--endpoint", "http://127.0.0.1:9/v1",
                       "--model", "m", "--db", "log.sqlite", "--out", "o.csv"]
        try t.assertRefused(collect + ["--max-tokens", "0"], output: "o.csv", mentions: ["--max-tokens: must be at least 1"], exitCode: 64)
        try t.assertRefused(collect + ["--extra-body", "{\"top_k\": 0,}"], output: "o.csv", mentions: ["--extra-body", "not valid JSON"], exitCode: 64)
        let yaml = """
            prompts: p.jsonl
            generator:
              endpoints: [http://127.0.0.1:9/v1]
              model: m
              max_tokens: 0
            """
        try t.write("bad.yaml", yaml)
        try t.assertRefused(["run", "--config", "bad.yaml", "--out", "runx"], output: "runx",
                            mentions: ["bad.yaml:5", "field 'generator.max_tokens'", "must be at least 1"], exitCode: 2)
        try t.write("bad.yaml", yaml.replacingOccurrences(of: "max_tokens: 0", with: "extra_body: '{\"top_k\": 0,}'"))
        try t.assertRefused(["run", "--config", "bad.yaml", "--out", "runx"], output: "runx",
                            mentions: ["bad.yaml:5", "field 'generator.extra_body'", "not valid JSON"], exitCode: 2)
    }
}
