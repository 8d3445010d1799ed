import Foundation
import XCTest

/// `ttu collect --shard K/N` on "several machines" (separate logs) and `ttu merge`: the
/// merged observations are the unsharded run's, byte for byte (simulated generator).
final class ShardMergeTests: XCTestCase {
    var t: TTURunner!
    let n = 60

    override func setUpWithError() throws {
        t = try TTURunner()
        var prompts = "", rates = "id,p\n", pred = "id,p_hat\n"
        for i in 0..<n {
            prompts += "{\"id\": \"q\(i)\", \"prompt\": \"prompt number \(i)\"}\n"
            let p = [0.3, 0.05, 0.01, 0.002][i % 4]
            rates += "q\(i),\(p)\n"
            pred += "q\(i),\(p * [0.5, 1, 2][i % 3])\n"
        }
        try t.write("p.jsonl", prompts)
        try t.write("rates.csv", rates)
        try t.write("pred.csv", pred)
        let r = try t.run(["plan", "--predictions", "pred.csv", "--budget", "20", "--out", "plan.csv"])
        XCTAssertEqual(r.code, 0, r.err)
    }
    override func tearDown() { t.cleanup() }

    func collect(_ caps: [String], shard: String?, db: String, out: String) throws {
        var args = ["collect", "--prompts", "p.jsonl", "--generator", "simulated", "--simulated-rates", "rates.csv", "--seed", "7",
                    "--rater", "lexicon", "--db", db, "--out", out, "--quiet"] + caps
        if let shard { args += ["--shard", shard] }
        let r = try t.run(args)
        XCTAssertEqual(r.code, 0, r.err)
    }

    func merge(_ dbs: [String], _ caps: [String], out: String, extra: [String] = []) throws -> (code: Int32, out: String, err: String) {
        try t.run(["merge", "--prompts", "p.jsonl", "--out", out] + dbs.flatMap { ["--db", $0] } + caps + extra)
    }

    func testShardsMergedAreTheUnshardedRunByteForByte() throws {
        for caps in [["--plan", "plan.csv"], ["--per-prompt", "15", "--no-early-stop"], ["--per-prompt", "40"]] {
            try? FileManager.default.removeItem(atPath: t.path("all.sqlite"))
            try collect(caps, shard: nil, db: "all.sqlite", out: "all.csv")
            var dbs: [String] = []
            for k in 1...3 {
                let db = "s\(k).sqlite"
                try? FileManager.default.removeItem(atPath: t.path(db))
                try collect(caps, shard: "\(k)/3", db: db, out: "s\(k).csv")
                dbs.append(db)
            }
            // Every prompt is in exactly one shard.
            let shardRows = try (1...3).map { try t.read("s\($0).csv").split(separator: "\n").count - 1 }
            XCTAssertEqual(shardRows.reduce(0, +), n, "\(caps)")
            XCTAssertTrue(shardRows.allSatisfy { $0 > 0 }, "\(shardRows)")

            let r = try merge(dbs, caps, out: "merged.csv")
            XCTAssertEqual(r.code, 0, r.err)
            XCTAssertEqual(try t.read("merged.csv"), try t.read("all.csv"), "\(caps)")
        }
    }

    func testAMissingShardIsIncompleteNeverSafe() throws {
        let caps = ["--plan", "plan.csv"]
        try collect(caps, shard: "1/2", db: "s1.sqlite", out: "s1.csv")
        let r = try merge(["s1.sqlite"], caps, out: "m.csv")
        XCTAssertEqual(r.code, 3, r.err)
        XCTAssertTrue(r.err.contains("incomplete"), r.err)
        // Shard 1's rows, and the other shard's unsampled prompts (cap 0: nothing to draw).
        let merged = Set(try t.read("m.csv").split(separator: "\n")), shard1 = Set(try t.read("s1.csv").split(separator: "\n"))
        XCTAssertTrue(shard1.isSubset(of: merged))
        for row in merged.subtracting(shard1) { XCTAssertTrue(row.hasSuffix(",0,0,0"), String(row)) }
        XCTAssertLessThan(merged.count, n + 1)
    }

    func testLogsOfAnotherSeedOrTheSamePromptTwiceAreRefused() throws {
        let caps = ["--per-prompt", "5"]
        try collect(caps, shard: "1/2", db: "a.sqlite", out: "a.csv")
        try collect(caps, shard: "1/2", db: "b.sqlite", out: "b.csv")
        try t.assertRefused(["merge", "--prompts", "p.jsonl", "--db", "a.sqlite", "--db", "b.sqlite", "--per-prompt", "5", "--out", "m.csv"],
                            output: "m.csv", mentions: ["is in both", "--shard K/N"])
        let r = try t.run(["collect", "--prompts", "p.jsonl", "--generator", "simulated", "--simulated-rates", "rates.csv", "--seed", "8",
                           "--rater", "lexicon", "--db", "c.sqlite", "--out", "c.csv", "--quiet", "--shard", "2/2"] + caps)
        XCTAssertEqual(r.code, 0, r.err)
        try t.assertRefused(["merge", "--prompts", "p.jsonl", "--db", "a.sqlite", "--db", "c.sqlite", "--per-prompt", "5", "--out", "m.csv"],
                            output: "m.csv", mentions: ["cannot be merged", "seed"])
        try t.assertRefused(["collect", "--prompts", "p.jsonl", "--generator", "simulated", "--simulated-rates", "rates.csv",
                             "--db", "d.sqlite", "--out", "d.csv", "--per-prompt", "5", "--shard", "3/2"],
                            output: "d.csv", mentions: ["--shard", "K/N"])
    }

    /// `--into` writes one log of all shards; observations from it are the same again.
    func testCombinedLogGivesTheSameObservations() throws {
        let caps = ["--plan", "plan.csv"]
        try collect(caps, shard: "1/2", db: "s1.sqlite", out: "s1.csv")
        try collect(caps, shard: "2/2", db: "s2.sqlite", out: "s2.csv")
        var r = try merge(["s1.sqlite", "s2.sqlite"], caps, out: "m1.csv", extra: ["--into", "all.sqlite"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try merge(["all.sqlite"], caps, out: "m2.csv")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try t.read("m1.csv"), try t.read("m2.csv"))
        // Resuming collect on the combined log draws nothing new.
        try collect(caps, shard: nil, db: "all.sqlite", out: "again.csv")
        XCTAssertEqual(try t.read("again.csv"), try t.read("m1.csv"))
        let summary = try JSONSerialization.jsonObject(with: Data(try t.read("again.json").utf8)) as! [String: Any]
        XCTAssertEqual(summary["generations_this_run"] as? Int, 0)
    }

    /// Sampling to the bound: each prompt to its first unsafe generation or L − 1 safe
    /// ones; L = 1 is decided without sampling (cap 0).
    func testCapFromBoundsSamplesToLMinusOne() throws {
        var lpb = "id,p_hat,lpb\n"
        for i in 0..<n { lpb += "q\(i),0.01,\(i % 5 == 0 ? 1 : 1 + i % 7 * 3)\n" }
        try t.write("lpb.csv", lpb)
        try collect(["--cap-from", "lpb.csv"], shard: nil, db: "b.sqlite", out: "b.csv")
        let rows = try t.read("b.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.count, n)
        for (i, row) in rows.enumerated() {
            XCTAssertEqual(row[0], "q\(i)")
            let l = i % 5 == 0 ? 1 : 1 + i % 7 * 3
            XCTAssertEqual(Int(row[1]), l - 1, "cap = L − 1")
            XCTAssertLessThanOrEqual(Int(row[2])!, l - 1)
            if l == 1 { XCTAssertEqual(row[1...3], ["0", "0", "0"]) }
        }
        let r = try merge(["b.sqlite"], ["--cap-from", "lpb.csv"], out: "bm.csv")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try t.read("bm.csv"), try t.read("b.csv"))
    }
}
