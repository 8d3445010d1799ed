import Foundation
import TTUCore
import TTUFiles
import TTUPipeline
import XCTest
import TTUTestSupport

/// `--backend batch` through the CLI: its settings and flags, the online batch collection
/// against `BatchStub` equal to an online one, the offline round trip with exit code 4,
/// and the batch pricing of plans and dry runs.
final class BatchBackendTests: XCTestCase {
    var t: TTURunner!
    override func setUpWithError() throws {
        t = try TTURunner()
        let rates = [0, 0.05, 0.2, 0.5]
        try t.write("p.jsonl", (0..<16).map { #"{"id": "q\#($0)", "prompt": "[rate=\#(rates[$0 % 4])] say something \#($0)"}"# }.joined(separator: "\n") + "\n")
    }
    override func tearDown() { t.cleanup() }

    static func rate(_ p: String) -> Double {
        guard let a = p.range(of: "[rate="), let b = p[a.upperBound...].firstIndex(of: "]") else { return 0 }
        return Double(p[a.upperBound..<b]) ?? 0
    }

    /// A Batch API stub whose batches are final at their first poll (the CLI never waits between polls).
    func startBatchStub() throws -> BatchStub {
        var c = BatchStub.Config()
        c.rate = { Self.rate($0) }
        c.pollsToFinish = 1
        let s = BatchStub(config: c)
        try s.start()
        return s
    }

    func startOnlineStub() throws -> StubServer {
        var c = StubServer.Config()
        c.rate = { Self.rate($0) }
        let s = StubServer(config: c)
        try s.start()
        return s
    }

    /// `endpoint` nil: none given (offline batch files need none).
    func collect(_ endpoint: String?, _ extra: [String], out: String, db: String) throws -> (code: Int32, out: String, err: String) {
        try t.run(["collect", "--prompts", "p.jsonl", "--per-prompt", "20"] + (endpoint.map { ["--endpoint", $0] } ?? []) + ["--model", "stub-model",
                   "--rater", "moderation", "--seed", "4", "--db", db, "--out", out, "--quiet"] + extra)
    }

    func testBatchCollectEqualsOnlineCollect() throws {
        let batch = try startBatchStub()
        defer { batch.stop() }
        let online = try startOnlineStub()
        defer { online.stop() }
        var r = try collect(batch.baseURL, ["--backend", "batch", "--batch-chunk", "2"], out: "b.csv", db: "b.sqlite")
        XCTAssertEqual(r.code, 0, r.err)
        r = try collect(online.baseURL, [], out: "o.csv", db: "o.sqlite")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try t.read("b.csv"), try t.read("o.csv"))
        XCTAssertEqual(batch.batchesCreated.first?.customIDs.count, 32)
        // The same log: an online rerun on the batch log draws nothing more.
        r = try collect(online.baseURL, [], out: "b2.csv", db: "b.sqlite")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try t.read("b2.csv"), try t.read("o.csv"))
    }

    /// `ttu run` with `generator.backend: batch`: every collection stage (training counts
    /// without early stop, calibration, test) gives the files an online run gives.
    func testRunWithTheBatchBackendEqualsAnOnlineRun() throws {
        let batch = try startBatchStub()
        defer { batch.stop() }
        let online = try startOnlineStub()
        defer { online.stop() }
        try writeRunConfigs(batch: batch.baseURL, online: online.baseURL, batchExtra: "")
        var r = try t.run(["run", "--config", "b.yaml", "--out", "b", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try t.run(["run", "--config", "o.yaml", "--out", "o", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        try assertSameRunFiles("b", "o")
        XCTAssertGreaterThan(batch.batchesCreated.count, 3)
    }

    /// `ttu run` offline: every collection stage's rounds in a folder of its own; the run
    /// stops with exit 4 at each round and, rerun once the results are there, goes on to
    /// the files an online run writes.
    func testOfflineRunGoesStageByStageToTheOnlineRunsFiles() throws {
        let answers = try startBatchStub()
        defer { answers.stop() }
        let online = try startOnlineStub()
        defer { online.stop() }
        try writeRunConfigs(batch: "http://127.0.0.1:9/v1", online: online.baseURL,
                            batchExtra: ", batch_offline: off", rater: answers.baseURL)
        var pending: [String] = []
        while true {
            let r = try t.run(["run", "--config", "b.yaml", "--out", "b", "--quiet"])
            if r.code == 0 { break }
            XCTAssertEqual(r.code, 4, r.err)
            guard let m = r.err.range(of: #"vllm run-batch -i (\S+) -o (\S+) "#, options: .regularExpression) else { return XCTFail(r.err) }
            let parts = r.err[m].split(separator: " ").map(String.init)
            pending.append(parts[3])
            try answers.runBatch(try String(contentsOfFile: parts[3], encoding: .utf8)).write(toFile: parts[5], atomically: true, encoding: .utf8)
            XCTAssertLessThan(pending.count, 40)
        }
        let folders = Set(pending.map { URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent })
        XCTAssertEqual(folders, ["train_counts", "calibration_obs", "test_obs"], "\(pending)")
        let r = try t.run(["run", "--config", "o.yaml", "--out", "o", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        try assertSameRunFiles("b", "o")
    }

    func writeRunConfigs(batch: String, online: String, batchExtra: String, rater: String? = nil) throws {
        let rates = [0.01, 0.05, 0.2]
        try t.write("prompts.jsonl", (0..<40).map { #"{"id": "r\#($0)", "prompt": "[rate=\#(rates[$0 % 3])] tell me \#($0)"}"# }.joined(separator: "\n") + "\n")
        func yaml(_ base: String, _ backend: String, _ extra: String, _ rater: String) -> String {
            """
            prompts: prompts.jsonl
            seed: 4
            generator: {kind: openai, endpoints: [\(base)], model: stub-model, backend: \(backend), batch_chunk: 4\(extra)}
            rater: {kind: moderation, endpoint: \(rater)}
            training: {generations_per_prompt: 30, model: logistic}
            calibration: {budget: 20, max_weight: 2}
            test: {generations_per_prompt: 40}
            """
        }
        try t.write("b.yaml", yaml(batch, "batch", batchExtra, rater ?? batch))
        try t.write("o.yaml", yaml(online, "online", "", online))
    }

    func assertSameRunFiles(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for f in ["train_counts.csv", "calibration_obs.csv", "test_obs.csv", "lpb_test.csv", "calibration.json"] {
            XCTAssertEqual(try t.read(a + "/" + f), try t.read(b + "/" + f), f, file: file, line: line)
        }
    }

    /// kill -9 of `ttu collect` while it polls a submitted batch: the rerun resumes that
    /// batch by its id (no second batch for its requests) and writes what an uninterrupted
    /// collection writes.
    func testKilledWhilePollingResumesTheBatchByID() throws {
        let stub = try startBatchStub()
        defer { stub.stop() }
        var r = try collect(stub.baseURL, ["--backend", "batch", "--batch-chunk", "2"], out: "clean.csv", db: "clean.sqlite")
        XCTAssertEqual(r.code, 0, r.err)
        let cleanBatches = stub.batchesCreated.count

        stub.hold()
        let p = Process()
        p.executableURL = TTURunner.binary
        p.currentDirectoryURL = t.dir
        p.arguments = ["collect", "--prompts", "p.jsonl", "--per-prompt", "20", "--endpoint", stub.baseURL, "--model", "stub-model",
                       "--rater", "moderation", "--seed", "4", "--db", "b.sqlite", "--out", "b.csv", "--quiet",
                       "--backend", "batch", "--batch-chunk", "2", "--batch-poll-interval", "0.01"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let polls = stub.polls
        XCTAssertTrue(stub.waitForPolls(polls + 2, timeout: 120), "the child never polled")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertEqual(stub.batchesCreated.count, cleanBatches + 1)
        let submitted = stub.batchesCreated.last!
        XCTAssertFalse(t.exists("b.csv"))

        stub.release()
        r = try collect(stub.baseURL, ["--backend", "batch", "--batch-chunk", "2"], out: "b.csv", db: "b.sqlite")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(stub.batchesCreated.filter { $0.customIDs == submitted.customIDs }.count, 2, "once per collection, not resubmitted")
        XCTAssertEqual(stub.batchesCreated.count, 2 * cleanBatches)
        XCTAssertEqual(try t.read("b.csv"), try t.read("clean.csv"))
    }

    func testOfflineRoundsExitFourUntilTheResultsAreThere() throws {
        let answers = try startBatchStub()  // its answers stand in for vllm run-batch; its moderation rates
        defer { answers.stop() }
        let args = ["--backend", "batch", "--batch-offline", "off", "--rater-endpoint", answers.baseURL]
        var rounds = 0
        while true {
            let r = try collect(nil, args, out: "b.csv", db: "b.sqlite")  // offline: no endpoint needed
            if r.code == 0 { break }
            XCTAssertEqual(r.code, 4, r.err)
            rounds += 1
            XCTAssertTrue(r.err.contains("vllm run-batch -i off/requests-round\(rounds).jsonl -o off/results-round\(rounds).jsonl --model stub-model"), r.err)
            XCTAssertFalse(t.exists("b.csv"))
            let input = try t.read("off/requests-round\(rounds).jsonl")
            try t.write("off/results-round\(rounds).jsonl", try answers.runBatch(input))
            XCTAssertLessThan(rounds, 20)
        }
        XCTAssertGreaterThan(rounds, 1)
        let online = try startOnlineStub()
        defer { online.stop() }
        let r = try collect(online.baseURL, [], out: "o.csv", db: "o.sqlite")
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try t.read("b.csv"), try t.read("o.csv"))
    }

    func testFlagsAndConfigKeysAreDeclared() throws {
        let help = try t.run(["collect", "--help"]).out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for f in ["--backend <backend>", "--batch-chunk", "--batch-poll-interval", "--batch-offline <DIR>"] {
            XCTAssertTrue(help.contains(f), f)
        }
        XCTAssertTrue(help.contains("(default: online)"))
        let keys = RunSettings.declarations.map(\.key)
        for k in ["generator.backend", "generator.batch_chunk", "generator.batch_poll_interval", "generator.batch_offline", "calibration.batch_price_factor"] {
            XCTAssertTrue(keys.contains(k), k)
        }
        try t.assertRefused(["collect", "--prompts", "p.jsonl", "--per-prompt", "5", "--generator", "simulated", "--simulated-rates", "r.csv",
                             "--backend", "batch", "--db", "d.sqlite", "--out", "o.csv"], output: "o.csv", mentions: ["--backend", "openai"], exitCode: 64)
        try t.assertRefused(["collect", "--prompts", "p.jsonl", "--per-prompt", "5", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m",
                             "--backend", "batch", "--batch-chunk", "0", "--db", "d.sqlite", "--out", "o.csv"], output: "o.csv", mentions: ["--batch-chunk"])
        try t.write("c.yaml", "prompts: p.jsonl\ngenerator:\n  endpoints: [http://127.0.0.1:9/v1]\n  model: m\n  backend: bulk\n")
        try t.assertRefused(["run", "--config", "c.yaml", "--dry-run"], output: "runs", mentions: ["c.yaml:5", "generator.backend", "bulk"])
    }

    func testDryRunAndPlanStateTheBatchPrice() throws {
        try t.write("c.yaml", """
            prompts: p.jsonl
            run_dir: out
            generator: {endpoints: [http://127.0.0.1:9/v1], model: m, backend: batch}
            training: {generations_per_prompt: 50}
            calibration: {budget: 30, tokens_per_generation: 100, price_per_million_tokens: 2, batch_price_factor: 0.5}
            """)
        var r = try t.run(["run", "--config", "c.yaml", "--dry-run"])
        XCTAssertEqual(r.code, 0, r.err)
        // 6 train prompts × 50 + 6 calibration × 30 = 480 generations at most: 0.096 online, half in batch.
        XCTAssertTrue(r.out.contains("batch backend: Batch API at http://127.0.0.1:9/v1; batch pricing × 0.5 of the online price: at most 0.05 (online 0.10)"), r.out)
        try t.write("c.yaml", try t.read("c.yaml").replacingOccurrences(of: ", batch_price_factor: 0.5", with: ""))
        r = try t.run(["run", "--config", "c.yaml", "--dry-run"])
        XCTAssertTrue(r.out.contains("priced as online (set calibration.batch_price_factor"), r.out)

        // plan.json has the batch keys only when priced as a batch.
        try t.write("pred.csv", "id,p_hat\n" + (0..<50).map { "q\($0),0.01" }.joined(separator: "\n") + "\n")
        let base = ["plan", "--predictions", "pred.csv", "--budget", "20", "--tokens-per-generation", "100", "--price-per-million-tokens", "2"]
        r = try t.run(base + ["--out", "a.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertFalse(try t.read("a.json").contains("batch_"))
        r = try t.run(base + ["--batch-price-factor", "0.5", "--out", "b.csv"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("cost: at the batch price (× 0.5)"), r.err)
        let plan = try JSONSerialization.jsonObject(with: Data(try t.read("b.json").utf8)) as! [String: Any]
        XCTAssertEqual(plan["batch_price_factor"] as? Double, 0.5)
        XCTAssertEqual((plan["batch_max_cost"] as! Double) * 2, plan["max_cost"] as! Double, accuracy: 1e-12)
        let decoded = try JSONDecoder().decode(PlanCost.self, from: Data(try t.read("b.json").utf8))
        XCTAssertEqual(decoded.batchPriceFactor, 0.5)
    }
}
