import Foundation
import GRDB
import XCTest
import TTUCore
import TTUFiles
import TTUPipeline

/// The pipeline through the library API, without a process: settings built in Swift, the
/// stages called directly, and a collection killed (uncommitted rows lost) and resumed.
final class PipelineAPITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ttu-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    /// 120 prompts whose demo rate (TextRates.demo) spans 1e-4 … 0.2.
    func writePrompts() throws {
        let subjects = ["My boss", "The neighbor", "Our teacher", "The driver", "The kitten", "The troll"]
        let verbs = ["was angry and yelled", "sent a recipe", "got furious and started cursing", "said thanks", "called me an idiot", "went to the museum"]
        var rng = SeededRNG(seed: 5)
        var s = ""
        for i in 0..<120 {
            s += "{\"id\": \"q\(i)\", \"prompt\": \"\(subjects[Int(rng.next() % 6)]) \(verbs[Int(rng.next() % 6)]) (\(i))\"}\n"
        }
        try s.write(toFile: path("prompts.jsonl"), atomically: true, encoding: .utf8)
    }

    func settings() -> RunSettings {
        var s = RunSettings(prompts: path("prompts.jsonl"))
        s.seed = 3
        s.generator.kind = .simulated
        s.generator.concurrency = 4
        s.simulatedRateFunction = "demo"
        s.rater.kind = .lexicon
        s.trainingGenerations = 100
        s.plan.budget = 50
        s.testSampling = .perPrompt(500)
        return s
    }

    func testWholePipelineThroughTheAPIMatchesTheYAMLRun() async throws {
        try writePrompts()
        let summary = try await Pipeline(settings: settings(), layout: RunLayout(dir: dir.appendingPathComponent("api"))).run()
        XCTAssertTrue(summary.simulated)
        XCTAssertEqual(summary.test?.n, 24)
        let exact = try XCTUnwrap(summary.test?.evaluation?.exactCoverageSimulated)
        XCTAssertGreaterThan(exact, 0.75, "exact coverage on 24 test prompts")

        // The same run from a YAML config reaches the same settings, so the same bytes.
        let yaml = """
            prompts: prompts.jsonl
            seed: 3
            generator: {kind: simulated, simulated_rate_function: demo, concurrency: 4}
            rater: {kind: lexicon}
            training: {generations_per_prompt: 100}
            calibration: {budget: 50}
            test: {generations_per_prompt: 500}
            """
        try yaml.write(toFile: path("ttu.yaml"), atomically: true, encoding: .utf8)
        let config = try RunConfig(path: path("ttu.yaml"))
        try await Pipeline(settings: config.settings, layout: RunLayout(dir: dir.appendingPathComponent("yaml"))).run()
        for f in ["calibration.json", "lpb_test.csv", "plan.csv", "test_obs.csv", "model.json"] {
            XCTAssertEqual(try read("api/" + f), try read("yaml/" + f), f)
        }
    }

    /// A kill -9 during the calibration collection leaves: the earlier stages done, the
    /// calibration stage not recorded in the manifest, no output of it or after, and a log
    /// holding an arbitrary subset of the rated generations (what was committed). Built
    /// here deterministically from a finished run (seeded choice of the lost rows); the
    /// rerun must end with byte-identical bounds and draw only what was lost.
    func testKilledCollectionResumesToIdenticalBounds() async throws {
        try writePrompts()
        var s = settings()
        s.testSampling = .none
        let ref = dir.appendingPathComponent("ref"), killed = dir.appendingPathComponent("killed")
        try await Pipeline(settings: s, layout: RunLayout(dir: ref)).run()
        try FileManager.default.copyItem(at: ref, to: killed)

        let after = ["calibration_obs", "calibrate", "bound"]
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: killed.appendingPathComponent("manifest.json"))) as! [String: Any]
        var stages = manifest["stages"] as! [String: Any]
        for st in after { stages[st] = nil }
        manifest["stages"] = stages
        try JSONSerialization.data(withJSONObject: manifest).write(to: killed.appendingPathComponent("manifest.json"))
        for f in ["calibration_obs.csv", "calibration_obs.json", "calibration.json", "lpb_test.csv", "summary.json", "report.html"] {
            try? FileManager.default.removeItem(at: killed.appendingPathComponent(f))
        }
        let db = try DatabaseQueue(path: killed.appendingPathComponent("calibration_obs.sqlite").path)
        let rows = try await db.read { try Row.fetchAll($0, sql: "SELECT prompt_id, idx FROM generations ORDER BY prompt_id, idx") }
        XCTAssertGreaterThan(rows.count, 50)
        var rng = SeededRNG(seed: 99)
        let lost = rows.filter { _ in rng.uniformOpen() < 0.4 }
        try await db.write { d in
            for r in lost {
                try d.execute(sql: "DELETE FROM generations WHERE prompt_id = ? AND idx = ?",
                              arguments: [r["prompt_id"] as String, r["idx"] as Int])
            }
        }
        try db.close()

        let lines = Lines()
        try await Pipeline(settings: s, layout: RunLayout(dir: killed), console: Console(say: lines.add, progress: nil)).run()
        XCTAssertTrue(lines.text.contains("run: train: up to date"), lines.text)
        XCTAssertTrue(lines.text.contains("run: calibration_obs …"), lines.text)
        for f in ["calibration_obs.csv", "calibration.json", "lpb_test.csv"] {
            XCTAssertEqual(try read("killed/" + f), try read("ref/" + f), f)
        }
        let summary = try readJSON(CollectSummary.self, from: killed.appendingPathComponent("calibration_obs.json").path)
        XCTAssertLessThanOrEqual(summary.generationsThisRun, lost.count, "drew more than what was lost")
        XCTAssertGreaterThan(summary.generationsThisRun, 0)
    }
}

/// Collects a console's lines.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    var text: String { all.joined(separator: "\n") }
}

extension PipelineAPITests {
    /// RealToxicityPrompts' own JSONL (nested prompt, no id) and its CSV twin give the same
    /// run: the same bounds, test truth and plan, with a nested numeric key as the feature;
    /// the split files keep every record as the input has it.
    func testRealToxicityPromptsJSONLAndItsCSVTwinGiveTheSameRun() async throws {
        try writePrompts()
        let records = try PromptFile.read(path("prompts.jsonl"))
        var jsonl = "", csv = "text,score\n"
        for (k, r) in records.enumerated() {
            let score = Double(k % 7) / 7 + 1e-17 * Double(k)
            jsonl += "{\"filename\": \"f\(k).txt\", \"prompt\": {\"text\": \"\(r.prompt)\", \"toxicity\": \(score)}}\n"
            csv += "\(r.prompt),\(score)\n"
        }
        try jsonl.write(toFile: path("rtp.jsonl"), atomically: true, encoding: .utf8)
        try csv.write(toFile: path("rtp.csv"), atomically: true, encoding: .utf8)
        func run(_ prompts: String, _ format: PromptFormat, _ field: String, _ out: String) async throws -> RunLayout {
            var s = settings()
            (s.prompts, s.promptFormat) = (path(prompts), format)
            (s.trainingGenerations, s.training.features, s.training.fields, s.testSampling) = (20, .fields, [field], .bound)
            let layout = RunLayout(dir: dir.appendingPathComponent(out))
            try await Pipeline(settings: s, layout: layout).run()
            return layout
        }
        let a = try await run("rtp.jsonl", PromptFormat(promptField: "prompt.text"), "prompt.toxicity", "a")
        var b = try await run("rtp.csv", PromptFormat(promptField: "text"), "score", "b")
        b.promptExtension = "csv"
        for file in ["lpb_test.csv", "test_obs.csv", "plan.csv", "predictions_test.csv", "train_counts.csv"] {
            XCTAssertEqual(try read("a/" + file), try read("b/" + file), file)
        }
        let split = try String(contentsOfFile: a.testPrompts, encoding: .utf8)
        XCTAssertTrue(split.hasPrefix("{\"id\":\"") && split.contains("\"filename\": \"f"), String(split.prefix(200)))
        XCTAssertTrue(try String(contentsOfFile: b.testPrompts, encoding: .utf8).hasPrefix("id,text,score\n"))
        let summary = try read("a/summary.json")
        XCTAssertTrue(summary.contains("\"undecided\" : 0"), "bound-mode test truth decides every prompt")
    }
}
