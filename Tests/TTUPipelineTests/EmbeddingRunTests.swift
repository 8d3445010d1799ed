import Foundation
import GRDB
import XCTest
import TTUCore
import TTUTestSupport

/// `ttu run` with `training.features: embeddings` against the loopback stub server
/// (completions, moderations and embeddings on 127.0.0.1): the run fetches every prompt's
/// embedding once, before anything is sampled, and train and predict read the cache.
final class EmbeddingRunTests: XCTestCase {
    var t: TTURunner!
    var stub: StubServer!

    override func setUpWithError() throws {
        t = try TTURunner()
        var c = StubServer.Config()
        // Prompts with "storm" are 15× riskier: a word the stub's bag-of-words embedding sees.
        c.rate = { $0.contains("storm") ? 0.3 : 0.02 }
        stub = StubServer(config: c)
        try stub.start()
    }

    override func tearDown() {
        stub.stop()
        t.cleanup()
    }

    func testRunWithEmbeddingFeaturesFetchesEachPromptOnce() throws {
        let n = 120
        var prompts = ""
        for i in 0..<n {
            let text = i % 2 == 0 ? "a storm is coming to town number \(i)" : "a quiet day in the garden number \(i)"
            prompts += "{\"id\": \"e\(i)\", \"prompt\": \"\(text)\"}\n"
        }
        try t.write("prompts.jsonl", prompts)
        let yaml = """
            title: embeddings against the stub
            prompts: prompts.jsonl
            seed: 4
            split: {train: 0.4, calibration: 0.4, test: 0.2}
            generator: {kind: openai, endpoints: [\(stub.baseURL)], model: stub, api: completions, concurrency: 8}
            rater: {kind: moderation, endpoint: \(stub.baseURL), category: profanity, threshold: 0.5}
            training: {generations_per_prompt: 30, features: embeddings, embedding_model: stub-embedder, model: logistic}
            calibration: {budget: 20, max_weight: 2}
            test: {generations_per_prompt: 50}
            """
        try t.write("emb.yaml", yaml)
        let r = try t.run(["run", "--config", "emb.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(stub.embeddedTexts, n, "every prompt embedded exactly once")

        // The report and summary: embeddings features, a predictor that beats the constant.
        let html = try t.read("run/report.html")
        XCTAssertTrue(html.contains("embeddings"), "the report names the features")
        XCTAssertTrue(html.contains("stub-embedder"), "the report names the embedding model")
        let summary = try JSONSerialization.jsonObject(with: Data(try t.read("run/summary.json").utf8)) as! [String: Any]
        let training = summary["training"] as! [String: Any]
        XCTAssertEqual(training["features"] as? String, "embeddings")
        XCTAssertGreaterThan(training["validation_log_likelihood_per_generation"] as! Double,
                             training["constant_validation_log_likelihood_per_generation"] as! Double)
        XCTAssertNotNil(summary["test"])
        // p̂ follows the word the rate depends on.
        let rows = try t.read("run/predictions_test.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let storm = rows.filter { Int($0[0].dropFirst())! % 2 == 0 }.map { Double($0[1])! }
        let quiet = rows.filter { Int($0[0].dropFirst())! % 2 == 1 }.map { Double($0[1])! }
        XCTAssertGreaterThan(Evaluation.median(storm), Evaluation.median(quiet))

        // The cache holds one vector per prompt, keyed by the model name.
        let db = try DatabaseQueue(path: t.path("run/embeddings.sqlite"))
        let (rowsInCache, models) = try db.read { d in
            (try Int.fetchOne(d, sql: "SELECT COUNT(*) FROM embeddings")!,
             try String.fetchAll(d, sql: "SELECT DISTINCT model FROM embeddings"))
        }
        try db.close()
        XCTAssertEqual(rowsInCache, n)
        XCTAssertEqual(models, ["stub-embedder"])

        // A training change retrains and re-predicts from the cache: nothing is fetched again.
        try t.write("emb.yaml", yaml.replacingOccurrences(of: "model: logistic}", with: "model: logistic, epochs: 50}"))
        let again = try t.run(["run", "--config", "emb.yaml", "--out", "run", "--quiet"])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssertEqual(stub.embeddedTexts, n, "a rerun must read the cache, not the endpoint")
        let manifest = try t.read("run/manifest.json")
        XCTAssertTrue(manifest.contains("\"train\""), manifest)
    }
}
