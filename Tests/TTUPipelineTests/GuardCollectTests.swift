import Foundation
import GRDB
import TTUFiles
import TTUPipeline
import XCTest
import TTUTestSupport

/// `ttu collect --rater guard` against a loopback generator (`StubServer`) and a loopback
/// Llama-Guard-shaped classifier (`GuardStub`).
final class GuardCollectTests: XCTestCase {
    var t: TTURunner!
    var generator: StubServer!
    var guardStub: GuardStub!

    override func setUpWithError() throws {
        t = try TTURunner()
        var c = StubServer.Config()
        c.rate = { p in
            guard let a = p.range(of: "[rate="), let b = p[a.upperBound...].firstIndex(of: "]") else { return 0 }
            return Double(p[a.upperBound..<b]) ?? 0
        }
        generator = StubServer(config: c)
        try generator.start()
        guardStub = GuardStub()
        try guardStub.start()
        let rates = [0, 0.05, 0.2, 0.5]
        try t.write("p.jsonl", (0..<40).map { #"{"id": "q\#($0)", "prompt": "[rate=\#(rates[$0 % 4])] say something \#($0)"}"# }.joined(separator: "\n") + "\n")
    }

    override func tearDown() {
        generator.stop()
        guardStub.stop()
        t.cleanup()
    }

    func collect(_ rater: [String], db: String, out: String) throws -> (code: Int32, out: String, err: String) {
        try t.run(["collect", "--prompts", "p.jsonl", "--per-prompt", "15", "--no-early-stop", "--endpoint", generator.baseURL,
                   "--model", "m", "--seed", "3", "--concurrency", "4", "--store-text", "--quiet", "--db", db, "--out", out] + rater)
    }

    /// (id#idx) → (unsafe, score, text) of a sample log.
    func log(_ name: String) throws -> [String: (Bool, Double, String)] {
        let q = try DatabaseQueue(path: t.path(name))
        return try q.read { db in
            var out: [String: (Bool, Double, String)] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT prompt_id, idx, unsafe, score, text FROM generations") {
                out["\(r[0] as String)#\(r[1] as Int)"] = (r[2], r[3], r[4])
            }
            return out
        }
    }

    /// Like `TTURunner.assertRefused`, but the stub generator gives no model list, so a
    /// warning line may come first: the error itself must be the last line, and one line.
    func refused(_ args: [String], output: String, mentions: [String], exitCode: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try t.run(args)
        XCTAssertEqual(r.code, exitCode, r.err, file: file, line: line)
        let lines = r.err.split(separator: "\n")
        XCTAssertTrue(lines.dropLast().allSatisfy { $0.hasPrefix("warning: ") }, r.err, file: file, line: line)
        let msg = String(lines.last ?? "")
        XCTAssertTrue(msg.hasPrefix("error: "), msg, file: file, line: line)
        for m in mentions { XCTAssertTrue(msg.contains(m), "'\(msg)' should mention '\(m)'", file: file, line: line) }
        XCTAssertFalse(t.exists(output), "\(output) must not be written", file: file, line: line)
    }

    func testGuardFlagsExactlyWhatModerationFlags() throws {
        let mod = try collect(["--rater", "moderation", "--rater-endpoint", generator.baseURL], db: "mod.sqlite", out: "mod.csv")
        XCTAssertEqual(mod.code, 0, mod.err)
        let grd = try collect(["--rater", "guard", "--rater-endpoint", guardStub.baseURL, "--rater-model", guardStub.config.model],
                              db: "guard.sqlite", out: "guard.csv")
        XCTAssertEqual(grd.code, 0, grd.err)
        let a = try log("mod.sqlite"), b = try log("guard.sqlite")
        XCTAssertEqual(a.count, 40 * 15)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        var unsafe = 0
        for (k, m) in a {
            let g = b[k]!
            XCTAssertEqual(m.2, g.2, "the same completion for \(k)")
            XCTAssertEqual(m.0, g.0, "verdicts differ for \(k): \(m.2)")
            XCTAssertEqual(g.1, g.0 ? GuardStub.unsafeScore : GuardStub.safeScore, accuracy: 1e-12, "the log stores the logprob score")
            if m.0 { unsafe += 1 }
        }
        XCTAssertGreaterThan(unsafe, 50)
        XCTAssertLessThan(unsafe, 400)
        XCTAssertEqual(try t.read("mod.csv"), try t.read("guard.csv"))
        XCTAssertEqual(guardStub.requestCount, 40 * 15)
        XCTAssertEqual(guardStub.rejectedCount, 0)
        let summary = try t.read("guard.json")
        XCTAssertTrue(summary.contains("guard:\(guardStub.config.model)"), summary)

        // A stricter threshold reuses the logged scores: nothing drawn or rated again.
        let strict = try collect(["--rater", "guard", "--rater-endpoint", guardStub.baseURL, "--rater-model", guardStub.config.model,
                                  "--threshold", "0.99"], db: "guard.sqlite", out: "strict.csv")
        XCTAssertEqual(strict.code, 0, strict.err)
        XCTAssertEqual(guardStub.requestCount, 40 * 15)
        let counts = try t.read("strict.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",").last.map(String.init) }
        XCTAssertEqual(counts.count, 40)
        XCTAssertTrue(counts.allSatisfy { $0 == "0" }, "\(counts)")

        // The categories are part of the log's identity.
        try refused(["collect", "--prompts", "p.jsonl", "--per-prompt", "15", "--no-early-stop", "--endpoint", generator.baseURL,
                             "--model", "m", "--seed", "3", "--quiet", "--db", "guard.sqlite", "--out", "other.csv", "--rater", "guard",
                             "--rater-endpoint", guardStub.baseURL, "--rater-model", guardStub.config.model, "--guard-categories", "S10"],
                            output: "other.csv", mentions: ["guard_categories: all in the log, S10 now"], exitCode: 1)
    }

    func testGuardFlagsAreValidated() throws {
        let base = ["collect", "--prompts", "p.jsonl", "--per-prompt", "2", "--endpoint", generator.baseURL, "--model", "m",
                    "--db", "x.sqlite", "--out", "x.csv"]
        try refused(base + ["--rater", "guard", "--rater-endpoint", guardStub.baseURL], output: "x.csv",
                            mentions: ["--rater-model", "guard"], exitCode: 64)
        try refused(base + ["--rater", "moderation", "--guard-categories", "S1"], output: "x.csv",
                            mentions: ["--guard-categories", "guard rater"], exitCode: 64)
        try refused(base + ["--rater", "guard", "--rater-model", "nope", "--rater-endpoint", guardStub.baseURL], output: "x.csv",
                            mentions: ["nope"], exitCode: 1)
    }

    func testRunConfigReadsGuardKeys() throws {
        let head = "prompts: p.jsonl\ngenerator:\n  endpoints: [http://127.0.0.1:9/v1]\n  model: m\nrater:\n"
        let cfg = try RunConfig(path: t.path("ok.yaml"), text: head + "  kind: guard\n  model: llama-guard\n  categories: [S1, S10]\n")
        XCTAssertEqual(cfg.settings.rater.kind, .guard)
        XCTAssertEqual(cfg.settings.rater.model, "llama-guard")
        XCTAssertEqual(cfg.settings.rater.categories, ["S1", "S10"])
        for (yaml, mention) in [("  kind: guard\n", "'rater.model'"), ("  kind: lexicon\n  categories: [S1]\n", "'rater.categories'")] {
            XCTAssertThrowsError(try RunConfig(path: t.path("bad.yaml"), text: head + yaml)) { e in
                let line = "\(e)"
                XCTAssertTrue(line.contains("bad.yaml:"), line)
                XCTAssertTrue(line.contains(mention), line)
            }
        }
    }
}
