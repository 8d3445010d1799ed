import Foundation
import XCTest

/// The edges a new user meets first, through the binary: a BOM, negative numbers as flag
/// values, a mistyped command, output paths that are folders, logs that are not logs, and
/// help that fits a terminal.
final class CLIEdgeTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws {
        t = try TTURunner()
        try t.write("p.jsonl", (0..<10).map { "{\"id\": \"p\($0)\", \"prompt\": \"hello \($0)\"}\n" }.joined())
        try t.write("rates.csv", "id,p\n" + (0..<10).map { "p\($0),0.1\n" }.joined())
        var pred = "id,p_hat\n"
        for i in 0..<50 { pred += "q\(i),\(0.001 * Double(i + 1))\n" }
        try t.write("pred.csv", pred)
    }

    func collect(_ extra: [String]) -> [String] {
        ["collect", "--prompts", "p.jsonl", "--generator", "simulated", "--simulated-rates", "rates.csv", "--per-prompt", "3", "--quiet"] + extra
    }

    func testAConfigWithAByteOrderMarkReads() throws {
        try t.write("c.yaml", "\u{FEFF}prompts: p.jsonl\ngenerator:\n  kind: simulated\n  simulated_rates: rates.csv\n")
        let r = try t.run(["run", "--config", "c.yaml", "--dry-run"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("train_counts"), r.out)
    }

    func testNegativeNumbersAsFlagValues() throws {
        let r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "5", "--tau-grid", "-3,-0.75,300", "--out", "plan.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        let plan = try JSONSerialization.jsonObject(with: Data(try t.read("plan.json").utf8)) as! [String: Any]
        XCTAssertEqual((plan["tau_grid"] as! [String: Any])["min_log10"] as? Double, -3)
        // A negative value reaches the setting's own check instead of "Missing value".
        try t.assertRefused(collect(["--db", "x.sqlite", "--out", "x.csv", "--lookahead", "-2"]), output: "x.csv", mentions: ["--lookahead", "at least 1"])
    }

    func testAMistypedCommandIsNamedWithTheNearestOne() throws {
        for (name, words) in [("colect", ["'colect' is not a ttu command", "did you mean 'collect'?"]), ("nosuch", ["'nosuch' is not a ttu command", "export"])] {
            let r = try t.run([name])
            XCTAssertEqual(r.code, 64)
            for w in words { XCTAssertTrue(r.err.contains(w), r.err) }
            XCTAssertFalse(r.err.contains("\(name) --help"), r.err)
        }
    }

    func testOutputPathsAndLogsInWords() throws {
        try FileManager.default.createDirectory(atPath: t.path("folder"), withIntermediateDirectories: true)
        try t.assertRefused(collect(["--db", "ok.sqlite", "--out", "folder"]), output: "nothing", mentions: ["folder: is a folder: give a file name"], exitCode: 2)
        try t.assertRefused(collect(["--db", "folder", "--out", "o.csv"]), output: "o.csv", mentions: ["is a folder, not the sample log"], exitCode: 2)
        try t.assertRefused(collect(["--db", "rates.csv", "--out", "o.csv"]), output: "o.csv", mentions: ["rates.csv: not a SQLite database"], exitCode: 2)
        // A log in a folder that does not exist yet: the folder is made, as for --out.
        let r = try t.run(collect(["--db", "new/logs/a.sqlite", "--out", "new/out/o.csv"]))
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(t.exists("new/logs/a.sqlite") && t.exists("new/out/o.csv"))
        for e in [r.err] { XCTAssertFalse(e.contains("NSCocoaErrorDomain") || e.contains("SQLite error"), e) }
    }

    /// A CSV id,prompt file gives the observations of its JSONL twin, and RealToxicityPrompts'
    /// shape (nested prompt, no id) the same with --prompt-field prompt.text.
    func testCSVAndRealToxicityPromptsTwinsCollectTheSame() throws {
        var csv = "id,prompt\n", rtp = ""
        for i in 0..<10 {
            csv += "p\(i),\"hello, \(i)\"\n"
            rtp += "{\"filename\": \"f\(i)\", \"prompt\": {\"text\": \"hello, \(i)\", \"toxicity\": 0.1}}\n"
        }
        try t.write("p.csv", csv)
        try t.write("rtp.jsonl", rtp)
        try t.write("rates_by_line.csv", "id,p\n" + (1...10).map { "\($0),0.1\n" }.joined())
        let a = try t.run(collect(["--db", "a.sqlite", "--out", "a.csv"]))
        let b = try t.run(["collect", "--prompts", "p.csv", "--generator", "simulated", "--simulated-rates", "rates.csv", "--per-prompt", "3",
                           "--quiet", "--db", "b.sqlite", "--out", "b.csv"])
        XCTAssertEqual(a.code, 0, a.err)
        XCTAssertEqual(b.code, 0, b.err)
        XCTAssertEqual(try t.read("a.csv"), try t.read("b.csv"))
        let c = try t.run(["collect", "--prompts", "rtp.jsonl", "--prompt-field", "prompt.text", "--generator", "simulated",
                           "--simulated-rates", "rates_by_line.csv", "--per-prompt", "3", "--quiet", "--db", "c.sqlite", "--out", "c.csv"])
        XCTAssertEqual(c.code, 0, c.err)
        XCTAssertEqual(try t.read("c.csv").split(separator: "\n").count, 11, "every prompt collected")
        XCTAssertEqual(try t.read("c.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }, (1...10).map { "\($0)"[...] })
    }

    /// Every help screen fits an 80-column terminal.
    func testHelpFitsEightyColumns() throws {
        for c in ["", "run", "demo", "simulate", "train", "predict", "plan", "collect", "merge", "export", "observe", "calibrate", "bound",
                  "evaluate", "metrics", "report"] {
            let r = try t.run((c.isEmpty ? [] : [c]) + ["--help"])
            XCTAssertEqual(r.code, 0, c)
            for line in (r.out + r.err).split(separator: "\n") where line.count > 80 {
                XCTFail("ttu \(c) --help: \(line.count) columns: \(line)")
            }
        }
    }
}
