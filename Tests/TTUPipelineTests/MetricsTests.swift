import Foundation
import GRDB
import TTUCore
import TTUFiles
import TTUSampling
import XCTest

/// `ttu metrics` on simulated collections with known rates.
final class MetricsTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws { t = try TTURunner() }
    override func tearDown() { t.cleanup() }

    func testMetricsOnKnownRates() throws {
        let levels = [0.0, 0.002, 0.01, 0.03, 0.1]
        let p = try t.writeRates(300, seed: 17) { levels[Int($0.next() % 5)] }
        let lines = try t.read("p.jsonl").split(separator: "\n")
        try t.write("a.jsonl", lines.prefix(150).joined(separator: "\n") + "\n")
        try t.write("b.jsonl", lines.dropFirst(150).joined(separator: "\n") + "\n")
        try t.collectSimulated("a.jsonl", ["--per-prompt", "25", "--no-early-stop"], db: "a.sqlite", out: "a.csv")
        try t.collectSimulated("b.jsonl", ["--per-prompt", "25", "--no-early-stop"], db: "b.sqlite", out: "b.csv")
        let r = try t.run(["metrics", "--db", "a.sqlite", "--db", "b.sqlite", "--k", "25", "--out", "m.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(r.out, "", "lines for people go to stderr")

        // The known value: 1 − mean (1 − p)^25, inside the exact interval (seed 5 checked; nothing random at test time).
        let truth = 1 - p.map { pow(1 - $0, 25) }.reduce(0, +) / Double(p.count)
        let m = try t.json("m.json")
        let ci = m["toxicity_probability_ci95"] as! [Double]
        XCTAssertLessThanOrEqual(ci[0], truth)
        XCTAssertGreaterThanOrEqual(ci[1], truth)
        XCTAssertEqual(m["prompts_used"] as? Int, 300)
        XCTAssertEqual(m["prompts_skipped"] as? Int, 0)
        XCTAssertEqual(m["k"] as? Int, 25)

        // Per prompt, against two independent recounts: the simulated truth and the log itself.
        var fromLog: [String: Int] = [:]
        for db in ["a.sqlite", "b.sqlite"] {
            try DatabaseQueue(path: t.path(db)).read { db in
                for row in try Row.fetchAll(db, sql: "SELECT prompt_id, SUM(score >= 0.5) FROM generations WHERE idx <= 25 GROUP BY prompt_id") {
                    fromLog[row[0]] = row[1]
                }
            }
        }
        let out = try t.rows("m.csv")
        XCTAssertEqual(out.count, 300)
        XCTAssertEqual(out.map { $0["id"]! }, (0..<300).map { "q\($0)" }, "prompt order of the logs")
        var any = 0, unsafe = 0
        for row in out {
            let id = row["id"]!, i = Int(id.dropFirst())!
            let truthCount = (1...25).filter { SimulatedGenerator.isUnsafe(p: p[i], runSeed: 5, promptID: id, index: $0) }.count
            let u = Int(row["unsafe_at_k"]!)!
            XCTAssertEqual(u, truthCount, id)
            XCTAssertEqual(u, fromLog[id], id)
            XCTAssertEqual(row["any_unsafe_at_k"], u > 0 ? "1" : "0")
            XCTAssertEqual(row["max_score_at_k"], u > 0 ? "1" : "0", "the lexicon scores 0 or 1")
            XCTAssertEqual(Double(row["mean_score_at_k"]!)!, Double(u) / 25, accuracy: 1e-12)
            any += u > 0 ? 1 : 0
            unsafe += u
        }
        XCTAssertEqual(m["toxicity_probability"] as! Double, Double(any) / 300, accuracy: 1e-12)
        XCTAssertEqual(m["expected_max_score"] as! Double, Double(any) / 300, accuracy: 1e-12)
        XCTAssertEqual(m["unsafe_rate"] as! Double, Double(unsafe) / 7500, accuracy: 1e-12)
        let tci = m["expected_max_score_ci95"] as! [Double]
        XCTAssertTrue(tci[0] < Double(any) / 300 && Double(any) / 300 < tci[1], "\(tci)")
        let counts = try t.rows("a.csv") + t.rows("b.csv")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: counts.map { ($0["id"]!, Int($0["k"]!)!) }), fromLog)

        // k beyond every prompt, overlapping logs and a missing log: one line, no output.
        try t.assertRefused(["metrics", "--db", "a.sqlite", "--k", "26", "--out", "x.csv"], output: "x.csv",
                            mentions: ["a.sqlite", "1…26", "25", "--k"], exitCode: 2)
        try t.assertRefused(["metrics", "--db", "a.sqlite", "--db", "a.sqlite", "--k", "25", "--out", "x.csv"], output: "x.csv",
                            mentions: ["also in"], exitCode: 2)
        try t.assertRefused(["metrics", "--db", "nope.sqlite", "--k", "25", "--out", "x.csv"], output: "x.csv", mentions: ["nope.sqlite"], exitCode: 2)
        try t.assertRefused(["metrics", "--db", "a.sqlite", "--k", "0", "--out", "x.csv"], output: "x.csv", mentions: ["--k"], exitCode: 64)
        XCTAssertFalse(t.exists("nope.sqlite"), "reading never creates a log")

        // An early-stopping log: prompts stopped before 25 are skipped, the rest used.
        try t.collectSimulated("a.jsonl", ["--per-prompt", "25"], db: "e.sqlite", out: "e.csv", seed: 6)
        let e = try t.rows("e.csv")
        XCTAssertEqual(try t.run(["metrics", "--db", "e.sqlite", "--k", "25", "--out", "em.csv"]).code, 0)
        let em = try t.json("em.json")
        XCTAssertEqual(em["prompts_used"] as? Int, e.filter { $0["observed"] == "25" }.count)
        XCTAssertEqual(em["prompts_skipped"] as? Int, e.filter { $0["observed"] != "25" }.count)
        XCTAssertGreaterThan(em["prompts_skipped"] as! Int, 0)
    }

    func testStudentTQuantiles() {
        for (df, q) in [(1.0, 12.706204736), (10, 2.228138852), (24, 2.063898562), (1000, 1.962339081)] {
            XCTAssertEqual(Evaluation.studentTQuantile(0.975, df: df), q, accuracy: 1e-7, "df \(df)")
        }
        let ci = Evaluation.studentTInterval([1, 2, 3, 4])!
        XCTAssertEqual(ci.lower, 2.5 - 3.182446305 * (5.0 / 3).squareRoot() / 2, accuracy: 1e-7)
        XCTAssertNil(Evaluation.studentTInterval([1]))
    }
}

/// Simulated collections and their files, for the metrics and cost tests.
extension TTURunner {
    /// Prompts q0…q(n−1) with seeded rates; writes prompts and rates files, returns the rates.
    func writeRates(_ n: Int, seed: UInt64, prompts: String = "p.jsonl", draw: (inout SeededRNG) -> Double) throws -> [Double] {
        var rng = SeededRNG(seed: seed)
        let p = (0..<n).map { _ in draw(&rng) }
        try write(prompts, (0..<n).map { #"{"id": "q\#($0)", "prompt": "prompt number \#($0)"}"# }.joined(separator: "\n") + "\n")
        try write("rates.csv", "id,p\n" + p.enumerated().map { "q\($0.offset),\(Num.format($0.element))" }.joined(separator: "\n") + "\n")
        return p
    }

    func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try read(name).utf8)) as! [String: Any]
    }

    /// CSV rows as column → value dictionaries.
    func rows(_ name: String) throws -> [[String: String]] {
        let lines = try read(name).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }

    func collectSimulated(_ prompts: String, _ mode: [String], db: String, out: String, seed: Int = 5) throws {
        let r = try run(["collect", "--prompts", prompts, "--generator", "simulated", "--simulated-rates", "rates.csv", "--seed", "\(seed)",
                       "--quiet", "--db", db, "--out", out] + mode)
        XCTAssertEqual(r.code, 0, r.err)
    }
}
