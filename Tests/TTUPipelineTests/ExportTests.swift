import Foundation
import GRDB
import XCTest
import TTUFiles
import TTUPipeline

/// Generated texts: `ttu run` keeps them (generator.store_text), `ttu export` writes them
/// out unsafe first, and the report shows the riskiest prompts' first unsafe text.
final class ExportTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ttu-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var s = ""
        let words = ["kind words", "you idiot", "a recipe", "shut up", "thanks"]
        for i in 0..<60 { s += "{\"id\": \"q\(i)\", \"prompt\": \"\(words[i % 5]) \(i)\"}\n" }
        try s.write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }

    func run(_ name: String, storeText: Bool = true) async throws -> String {
        var s = RunSettings(prompts: path("p.jsonl"))
        (s.generator.kind, s.simulatedRateFunction, s.trainingGenerations, s.plan.budget, s.testSampling) = (.simulated, "demo", 30, 30, .perPrompt(60))
        s.storeText = storeText
        try await Pipeline(settings: s, layout: RunLayout(dir: dir.appendingPathComponent(name))).run()
        return path(name)
    }

    func lines(_ p: String) throws -> [[String: Any]] {
        try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    func testRunKeepsTextsAndExportWritesThemUnsafeFirst() async throws {
        let runDir = try await run("r")
        var logged = 0
        for log in ["train_counts", "calibration_obs", "test_obs"] {
            let queue = try DatabaseQueue(path: path("r/\(log).sqlite"))
            let (n, texts) = try await queue.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM generations")!, try Int.fetchOne(db, sql: "SELECT count(text) FROM generations")!)
            }
            XCTAssertGreaterThan(n, 0, log)
            XCTAssertEqual(texts, n, "\(log): every generation's text is kept")
            logged += n
            try queue.close()
        }
        let counts = try ExportStage.run(ExportStage.Settings(logs: try ExportStage.runLogs(runDir), out: path("all.jsonl")))
        XCTAssertEqual(counts.written, logged)
        XCTAssertEqual(counts.withoutText, 0)
        let rows = try lines(path("all.jsonl"))
        XCTAssertEqual(rows.count, logged)
        let flags = rows.map { $0["unsafe"] as! Bool }
        XCTAssertEqual(flags.filter { $0 }.count, counts.unsafe)
        XCTAssertEqual(flags, flags.sorted { $0 && !$1 }, "unsafe rows come first")
        XCTAssertEqual(Set(rows.map { $0["stage"] as! String }), ["training", "calibration", "test"])
        for r in rows.prefix(counts.unsafe) {
            XCTAssertTrue((r["text"] as! String).hasSuffix("damn"), "\(r)")  // the simulator's unsafe word
            XCTAssertEqual(r["score"] as? Double, 1)
        }

        var only = ExportStage.Settings(logs: [(stage: nil, path: path("r/test_obs.sqlite"))], out: path("unsafe.csv"))
        only.onlyUnsafe = true
        let c = try ExportStage.run(only)
        let csv = try String(contentsOfFile: path("unsafe.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "prompt_id,index,score,unsafe,text")
        XCTAssertEqual(csv.count - 1, c.written)
        XCTAssertEqual(c.written, c.unsafe)
        XCTAssertTrue(csv.dropFirst().allSatisfy { $0.contains(",1,1,[simulated]") }, String(csv.prefix(3).joined(separator: "\n")))

        // The report: the riskiest prompts that were unsafe show their first unsafe text.
        let report = try String(contentsOfFile: path("r/report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("<details><summary>unsafe at "), "report links the unsafe text")
        XCTAssertTrue(report.contains("<q class=\"gen\">[simulated] generation "))
    }

    func testStoreTextOffKeepsScoresOnlyAndExportSaysSo() async throws {
        let runDir = try await run("off", storeText: false)
        let lines = Lines()
        let counts = try ExportStage.run(ExportStage.Settings(logs: try ExportStage.runLogs(runDir), out: path("x.jsonl")),
                                         console: Console(say: lines.add, progress: nil))
        XCTAssertEqual(counts.withoutText, counts.written)
        XCTAssertTrue(lines.text.contains("have no text"), lines.text)
        XCTAssertTrue(try self.lines(path("x.jsonl")).allSatisfy { $0["text"] is NSNull })
    }

    func testBadPlacesAreNamed() throws {
        XCTAssertThrowsError(try ExportStage.runLogs(path("."))) { XCTAssertTrue("\($0)".contains("no sample logs here"), "\($0)") }
        try "id,p\n".write(toFile: path("notadb.sqlite"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ExportStage.run(ExportStage.Settings(logs: [(stage: nil, path: path("notadb.sqlite"))], out: nil))) {
            XCTAssertTrue("\($0)".contains("not a SQLite database"), "\($0)")
        }
        XCTAssertThrowsError(try ExportStage.run(ExportStage.Settings(logs: [(stage: nil, path: path("none.sqlite"))], out: nil))) {
            XCTAssertTrue("\($0)".contains("no such sample log"), "\($0)")
        }
    }
}
