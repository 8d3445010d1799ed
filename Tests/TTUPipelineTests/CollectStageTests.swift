import Foundation
import XCTest
import TTUCore
import TTUFiles
import TTUPipeline
import TTUSampling
import TTUTestSupport

/// `CollectStage` through the library against the loopback stub: a model the server does
/// not list is refused before anything is drawn.
final class CollectStageTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ttu-collect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "{\"id\": \"a\", \"prompt\": \"hello\"}\n{\"id\": \"b\", \"prompt\": \"world\"}\n"
            .write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }
    func path(_ s: String) -> String { dir.appendingPathComponent(s).path }

    func settings(_ stub: StubServer, model: String, raterModel: String? = nil) -> CollectStage.Settings {
        var s = CollectStage.Settings(prompts: path("p.jsonl"), mode: .perPrompt(3, earlyStop: true), db: path("log.sqlite"), out: path("o.csv"))
        s.generator.endpoints = [stub.baseURL]
        s.generator.model = model
        s.rater.kind = .moderation
        s.rater.model = raterModel
        return s
    }

    func testModelsTheServerDoesNotListAreRefusedBeforeDrawing() async throws {
        var config = StubServer.Config()
        config.models = ["smollm2", "omni-moderation-latest"]
        let stub = StubServer(config: config)
        try stub.start()
        defer { stub.stop() }
        for (model, rater, mention) in [("gpt-4o-mini", nil, "'gpt-4o-mini' (--model"), ("smollm2", "text-moderation-007", "'text-moderation-007' (--rater-model")] {
            do {
                try await CollectStage.run(settings(stub, model: model, raterModel: rater))
                XCTFail("accepted \(model) / \(rater ?? "-")")
            } catch let e as FatalSamplingError {
                XCTAssertTrue(e.message.contains(mention) && e.message.contains("lists: smollm2, omni-moderation-latest"), e.message)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("log.sqlite")), "nothing may be drawn or logged")
            XCTAssertEqual(stub.generationRequestsReceived.count, 0)
        }
        try await CollectStage.run(settings(stub, model: "smollm2", raterModel: "omni-moderation-latest"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("o.csv")))
    }

    func testAServerWithoutAModelListGetsAWarning() async throws {
        let stub = StubServer(config: StubServer.Config())
        try stub.start()
        defer { stub.stop() }
        let lines = Lines()
        try await CollectStage.run(settings(stub, model: "anything"), console: Console(say: lines.add, progress: nil))
        XCTAssertTrue(lines.text.contains("warning: \(stub.baseURL)/models gives no list of models"), lines.text)
        XCTAssertEqual(try ObservationsFile.read(path("o.csv")).ids, ["a", "b"])
    }

    /// `--concurrency auto` against a server with 6 slots that refuses a 7th request with
    /// 429: the collection finishes, what it writes equals a fixed-concurrency run's, and
    /// few requests are refused (AIMD keeps it just under the slots instead of flooding).
    func testAutoConcurrencyFindsTheServersSlots() async throws {
        var prompts = ""
        for i in 0..<40 { prompts += "{\"id\": \"q\(i)\", \"prompt\": \"prompt number \(i)\"}\n" }
        try prompts.write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
        var config = StubServer.Config()
        config.slots = 6
        config.rate = { _ in 0.05 }
        let stub = StubServer(config: config)
        try stub.start()
        defer { stub.stop() }
        func run(_ name: String, auto: Bool) async throws -> String {
            var s = settings(stub, model: "m")
            s.mode = .perPrompt(10, earlyStop: false)
            (s.db, s.out) = (path(name + ".sqlite"), path(name + ".csv"))
            s.rater.kind = .lexicon
            s.generator.adaptiveConcurrency = auto
            s.generator.concurrency = 6
            s.generator.maxRetries = 20
            try await CollectStage.run(s)
            return try String(contentsOfFile: s.out, encoding: .utf8)
        }
        let fixed = try await run("fixed", auto: false)
        XCTAssertEqual(stub.refusedForSlots, 0, "6 in flight never exceed 6 slots")
        let auto = try await run("auto", auto: true)
        XCTAssertEqual(auto, fixed, "the same counts whatever the concurrency")
        let refused = stub.refusedForSlots, accepted = stub.generationRequestsReceived.count - 400
        XCTAssertEqual(accepted, 400)
        XCTAssertGreaterThan(refused, 0, "the limit must have probed above 6 at least once")
        XCTAssertLessThanOrEqual(Double(refused), 0.10 * Double(refused + accepted), "refused \(refused) of \(refused + accepted)")
    }

    func testConcurrencySettingIsValidatedOnce() throws {
        var g = GeneratorSettings()
        g.endpoints = ["http://127.0.0.1:9/v1"]; g.model = "m"
        g.maxConcurrency = 0
        g.adaptiveConcurrency = true
        XCTAssertThrowsError(try g.validate()) { XCTAssertEqual(($0 as? SettingError)?.key, "generator.max_concurrency") }
        g.maxConcurrency = 64; g.adaptiveConcurrency = false; g.concurrency = 0
        XCTAssertThrowsError(try g.validate()) { XCTAssertEqual(($0 as? SettingError)?.key, "generator.concurrency") }
    }

    /// Chat prompts reach the server as their turns, a system prompt before plain ones; the
    /// completions API refuses a conversation before anything is drawn.
    func testChatPromptsAndSystemPromptReachTheServerAsMessages() async throws {
        try """
        {"id": "c", "prompt": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}, {"role": "user", "content": "Swear"}]}
        {"id": "t", "prompt": "plain"}

        """.write(to: dir.appendingPathComponent("chat.jsonl"), atomically: true, encoding: .utf8)
        let stub = StubServer(config: StubServer.Config())
        try stub.start()
        defer { stub.stop() }
        var s = settings(stub, model: "m")
        (s.prompts, s.mode, s.rater.kind) = (path("chat.jsonl"), .perPrompt(1, earlyStop: true), .lexicon)
        do {
            try await CollectStage.run(s)
            XCTFail("the completions API took a conversation")
        } catch let e as InputError {
            XCTAssertEqual(e.field, "prompt")
            XCTAssertTrue(e.message.contains("prompt id 'c' is a chat conversation") && e.message.contains("--api chat"), e.message)
        }
        s.generator.sampling.systemPrompt = "Be safe."
        XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("generator.system_prompt") && "\($0)".contains("api: chat"), "\($0)") }
        XCTAssertEqual(stub.generationRequestsReceived.count, 0)
        s.generator.sampling.api = .chat
        try await CollectStage.run(s)
        let turns = stub.generationRequestsReceived.compactMap(\.turns).sorted { $0.count > $1.count }
        XCTAssertEqual(turns, [["system: Be safe.", "user: Hi", "assistant: Hey", "user: Swear"], ["system: Be safe.", "user: plain"]])
        XCTAssertEqual(try ObservationsFile.read(path("o.csv")).ids, ["c", "t"])
        // Another system prompt makes other generations: the log refuses to mix them.
        s.generator.sampling.systemPrompt = "Be rude."
        do { try await CollectStage.run(s); XCTFail("a log made with another system prompt was reused") } catch {
            XCTAssertTrue("\(error)".contains("system_prompt"), "\(error)")
        }
    }

    /// rater.input: the lexicon reads the completion alone, or the prompt followed by it (a
    /// prompt with the unsafe word then makes every generation unsafe); judge and guard,
    /// which see both as a conversation, refuse the setting.
    func testRaterInputPromptPlusCompletion() async throws {
        try "{\"id\": \"a\", \"prompt\": \"oh damn\"}\n{\"id\": \"b\", \"prompt\": \"hello\"}\n"
            .write(to: dir.appendingPathComponent("p.jsonl"), atomically: true, encoding: .utf8)
        try "id,p\na,0\nb,0\n".write(to: dir.appendingPathComponent("rates.csv"), atomically: true, encoding: .utf8)
        func run(_ input: RaterInput, db: String) async throws -> [Observation] {
            var s = CollectStage.Settings(prompts: path("p.jsonl"), mode: .perPrompt(5, earlyStop: true), db: path(db), out: path(db + ".csv"))
            (s.generator.kind, s.generator.simulatedRates, s.rater.input) = (.simulated, path("rates.csv"), input)
            try await CollectStage.run(s)
            return try ObservationsFile.read(path(db + ".csv")).rows
        }
        let alone = try await run(.completion, db: "c")
        XCTAssertEqual(alone.map(\.event), [false, false])
        XCTAssertEqual(alone.map(\.observed), [5, 5])
        let both = try await run(.promptAndCompletion, db: "pc")
        XCTAssertEqual(both.map(\.event), [true, false])
        XCTAssertEqual(both.map(\.observed), [1, 5])
        // The log knows what its rater read: the other input is refused, not mixed in.
        do { _ = try await run(.promptAndCompletion, db: "c"); XCTFail("a log rated on completions took prompt+completion ratings") } catch {
            XCTAssertTrue("\(error)".contains("rater_input"), "\(error)")
        }
        var judge = RaterSettings()
        (judge.kind, judge.model, judge.input) = (.judge, "j", .promptAndCompletion)
        XCTAssertThrowsError(try judge.validate(generatorEndpoints: ["http://127.0.0.1:1/v1"])) {
            XCTAssertTrue("\($0)".contains("rater.input"), "\($0)")
        }
    }
}
