import Foundation
import TTUCore
import TTUFiles
import XCTest
@testable import TTUSampling
import TTUTestSupport

final class HTTPCollectTests: XCTestCase {
    let key = "sk-test-SECRET-0123456789abcdef"
    /// Seconds a request may take: what a stall costs, and far more than a loopback answer
    /// needs even on a loaded machine (a slower answer is only retried, and the tests
    /// assert nothing about retries of fault-free requests).
    let requestTimeout = 1.0

    /// A stalled request is answered only after `stall` seconds, far beyond the client's
    /// `requestTimeout`: the client's timeout always fires first, however slow the machine.
    func startStub(faultRate: Double = 0, faultAttempts: Int = 2, faults: [StubServer.Fault] = StubServer.Fault.allCases,
                   stall: Double = 600) throws -> StubServer {
        var c = StubServer.Config()
        c.rate = { rateFromPrompt($0) }
        c.faultRate = faultRate
        c.faultAttempts = faultAttempts
        c.faults = faults
        c.stallSeconds = stall
        c.faultSeed = 7
        let s = StubServer(config: c)
        try s.start()
        return s
    }

    func run(_ stub: StubServer, dir: TempDir, api: SamplingSettings.API = .completions, rater: String = "moderation",
             prompts: [PromptRecord], cap: Int = 30, retry: RetryPolicy = fastRetry(), concurrency: Int = 8,
             n: Int = 1, db: String = "run.sqlite", progress: (@Sendable (CollectProgress) -> Void)? = nil) async throws -> CollectResult {
        let transport = HTTPTransport(apiKey: key, timeout: requestTimeout, connectionsPerHost: concurrency)
        let settings = SamplingSettings(model: "stub-model", api: api, maxTokens: 20, temperature: 1, n: n)
        let gen = OpenAIGenerator(base: stub.baseURL, settings: settings, transport: transport)
        let r: any Rater = rater == "judge"
            ? JudgeRater(base: stub.baseURL, model: "judge", transport: transport)
            : ModerationRater(base: stub.baseURL, transport: transport)
        let o = CollectOptions(prompts: prompts, caps: prompts.map { _ in cap }, seed: 21,
                               endpoints: [Endpoint(generator: gen, concurrency: concurrency)], rater: r,
                               dbPath: dir.file(db), storeText: true, retry: retry,
                               parameters: ["seed": "21"], progressInterval: 0.05, progress: progress)
        do {
            let result = try await Collector(o).run()
            await transport.shutdown()
            return result
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    /// The expected observation from the stub's ground truth.
    func truth(_ p: PromptRecord, cap: Int) -> Observation {
        for j in 1...cap {
            let g = GenerationRequest(promptID: p.id, prompt: p.prompt, firstIndex: j, runSeed: 21)
            if StubServer.unsafe(prompt: p.prompt, seed: g.wireSeed, choice: 0, rate: rateFromPrompt(p.prompt)) {
                return Observation(cap: cap, observed: j, event: true)
            }
        }
        return Observation(cap: cap, observed: cap, event: false)
    }

    func testFaultFreeRunMatchesStubGroundTruth() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let prompts = stubPrompts(30)
        let r = try await run(stub, dir: dir, prompts: prompts)
        XCTAssertTrue(r.incomplete.isEmpty)
        for (k, p) in prompts.enumerated() { XCTAssertEqual(r.outcomes[k], .observed(truth(p, cap: 30)), p.id) }
        let rows = try readLog(dir.file("run.sqlite"))
        assertLogConsistent(rows, r)
        // Nothing counted safe that was not rated safe: each logged verdict matches its text.
        for row in rows { XCTAssertEqual(row.unsafe, row.text!.contains(StubServer.unsafeMarker), "\(row.id)#\(row.idx)") }
    }

    func testFaultyRunEqualsFaultFreeRun() async throws {
        let prompts = stubPrompts(30)
        let clean = try startStub()
        let d1 = TempDir()
        let expected = try await run(clean, dir: d1, prompts: prompts)
        clean.stop()

        let faulty = try startStub(faultRate: 0.25)
        defer { faulty.stop() }
        let d2 = TempDir()
        let got = try await run(faulty, dir: d2, prompts: prompts)
        // Not a count that depends on scheduling: the fault schedule is a pure function of
        // (request, attempt), and every run draws at least each prompt's indices up to its
        // observation, so the faults hit are a superset of those of a run at concurrency 1
        // (where every kind occurs 31–44 times).
        let counts = faulty.faultCounts
        for f in StubServer.Fault.allCases { XCTAssertGreaterThan(counts[f] ?? 0, 0, "fault \(f) never injected") }
        XCTAssertGreaterThan(got.retries, 0)
        XCTAssertTrue(got.incomplete.isEmpty, "\(got.incomplete)")
        XCTAssertEqual(observationRows(got), observationRows(expected))
        let rows = try readLog(d2.file("run.sqlite"))
        assertLogConsistent(rows, got)
        for row in rows { XCTAssertEqual(row.unsafe, row.text!.contains(StubServer.unsafeMarker), "\(row.id)#\(row.idx)") }
    }

    func testChatAndJudgeRater() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let prompts = stubPrompts(12)
        let r = try await run(stub, dir: dir, api: .chat, rater: "judge", prompts: prompts, cap: 15)
        XCTAssertTrue(r.incomplete.isEmpty)
        let rows = try readLog(dir.file("run.sqlite"))
        assertLogConsistent(rows, r)
        for row in rows { XCTAssertEqual(row.unsafe, row.text!.contains(StubServer.unsafeMarker)) }
        XCTAssertGreaterThan(r.observations.rows.filter(\.event).count, 0)
    }

    func testNGreaterThanOneKeepsIndicesAndIsReproducible() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let prompts = stubPrompts(15)
        let d1 = TempDir(), d2 = TempDir()
        let a = try await run(stub, dir: d1, prompts: prompts, cap: 20, concurrency: 3, n: 4)
        let b = try await run(stub, dir: d2, prompts: prompts, cap: 20, concurrency: 9, n: 4)
        XCTAssertEqual(observationRows(a), observationRows(b))
        XCTAssertTrue(a.incomplete.isEmpty)
        assertLogConsistent(try readLog(d1.file("run.sqlite")), a)
    }

    func testPersistentFailureLeavesPromptIncompleteNeverSafe() async throws {
        // Every attempt fails: nothing may be logged, and every sampled prompt is incomplete.
        let stub = try startStub(faultRate: 1, faultAttempts: 1000, faults: [.status500, .garbage, .missingField])
        defer { stub.stop() }
        let dir = TempDir()
        let lines = LinesBox()
        let r = try await run(stub, dir: dir, prompts: stubPrompts(4), cap: 5, retry: fastRetry(2),
                              progress: { lines.add($0.line) })
        XCTAssertEqual(r.incomplete.count, 4)
        XCTAssertTrue(r.observations.rows.isEmpty)
        XCTAssertEqual(try readLog(dir.file("run.sqlite")).count, 0)
        XCTAssertTrue(r.incomplete[0].reason.contains("index 1"), r.incomplete[0].reason)
        // The progress line says why it is retrying, with the URL. Which of the three
        // faults came last depends on scheduling, and each words it differently ("URL: HTTP
        // 500", "malformed URL response", "malformed response from URL"): only the URL is
        // certain. The final report always has a last retry.
        XCTAssertTrue(lines.all.contains { $0.contains("retries (last: ") && $0.contains("\(stub.baseURL)/") },
                      lines.all.last ?? "no progress line")
    }

    /// A server that is not there stops the run before anything is drawn, naming the URL
    /// (instead of every request retrying into it); a rater endpoint likewise.
    func testUnreachableEndpointStopsTheRunAtOnce() async throws {
        let gone = try startStub()
        let deadURL = gone.baseURL
        gone.stop()
        let live = try startStub()
        defer { live.stop() }
        let dir = TempDir()
        let transport = HTTPTransport(apiKey: nil, timeout: 1, connectionsPerHost: 2)
        defer { Task { await transport.shutdown() } }
        for (genBase, raterBase) in [(deadURL, live.baseURL), (live.baseURL, deadURL)] {
            let message = try await fatalMessage(generatorBase: genBase, rater: ModerationRater(base: raterBase, transport: transport),
                                                 transport: transport, db: dir.file("dead.sqlite"))
            XCTAssertTrue(message.contains("cannot connect to \(deadURL)/models"), message)
            XCTAssertEqual(try readLog(dir.file("dead.sqlite")).count, 0)
        }
        // A server that answers the probe with an error status is reachable: the run goes on.
        try await transport.probe(live.baseURL + "/models")
    }

    func testAPIKeyNeverStoredOrPrinted() async throws {
        let stub = try startStub(faultRate: 0.3)
        defer { stub.stop() }
        let dir = TempDir()
        let lines = LinesBox()
        let r = try await run(stub, dir: dir, prompts: stubPrompts(10), cap: 10, progress: { lines.add($0.line) })
        XCTAssertTrue(r.incomplete.isEmpty)
        // Error path: a server that echoes the Authorization header in an error body.
        let transport = HTTPTransport(apiKey: key, timeout: 1, connectionsPerHost: 1)
        let gen = OpenAIGenerator(base: stub.baseURL + "/nowhere", settings: SamplingSettings(model: "m"), transport: transport)
        var message = ""
        do { _ = try await gen.generate(promptID: "a", prompt: "x", index: 1, runSeed: 1) } catch { message = "\(error)" }
        await transport.shutdown()
        XCTAssertTrue(message.contains("HTTP 404"), message)
        XCTAssertTrue(message.contains("[redacted]"), message)
        XCTAssertFalse(message.contains(key), message)
        // Nowhere in the log files or the progress output.
        // The log may still be closing: its -wal file can vanish between listing and reading
        // once it is checkpointed into the database, so a vanished file is skipped and every
        // database is read again afterwards (what the -wal held is then in it).
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        for f in files + files.filter({ $0.hasSuffix(".sqlite") }) {
            guard let data = FileManager.default.contents(atPath: dir.file(f)) else { continue }
            XCTAssertNil(data.range(of: Data(key.utf8)), "API key found in \(f)")
        }
        XCTAssertFalse(lines.all.joined().contains(key))
        XCTAssertFalse(lines.all.isEmpty)
    }

    func testFatalHTTPErrorStopsRun() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let transport = HTTPTransport(apiKey: nil, timeout: 1, connectionsPerHost: 2)
        let message = try await fatalMessage(generatorBase: stub.baseURL + "/wrong", rater: LexiconRater.standard,
                                             transport: transport, db: dir.file("x.sqlite"))
        XCTAssertTrue(message.contains("HTTP 404"), message)
        await transport.shutdown()
    }

    /// Runs a small collect that must stop with a `FatalSamplingError`; returns its message.
    func fatalMessage(generatorBase: String, rater: any Rater, transport: HTTPTransport, db: String) async throws -> String {
        let gen = OpenAIGenerator(base: generatorBase, settings: SamplingSettings(model: "m"), transport: transport)
        let o = CollectOptions(prompts: stubPrompts(3), caps: [2, 2, 2], seed: 1,
                               endpoints: [Endpoint(generator: gen, concurrency: 2)], rater: rater,
                               dbPath: db, retry: fastRetry())
        do {
            _ = try await Collector(o).run()
        } catch let e as FatalSamplingError {
            return e.message
        }
        XCTFail("the run must stop with a fatal error")
        return ""
    }
}

final class LinesBox: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

final class ExtraBodyTests: XCTestCase {
    func testTrailingCommaAndRepeatedKeyAreRefused() throws {
        XCTAssertThrowsError(try SamplingSettings.canonicalExtraBody("{\"top_k\": 0,}"))
        XCTAssertThrowsError(try SamplingSettings.canonicalExtraBody("{\"top_k\": 0, \"top_k\": 40}")) {
            XCTAssertTrue("\($0)".contains("key 'top_k' appears twice"), "\($0)")
        }
        XCTAssertThrowsError(try SamplingSettings.canonicalExtraBody("{\"messages\": []}")) {
            XCTAssertTrue("\($0)".contains("--system-prompt"), "\($0)")
        }
    }

    /// The chat body: a chat prompt's turns as they are, the system prompt first unless the
    /// conversation has its own; a plain prompt as one user turn after it.
    func testChatTurnsAndSystemPrompt() throws {
        let transport = HTTPTransport(apiKey: nil, timeout: 5, connectionsPerHost: 1)
        defer { Task { await transport.shutdown() } }
        let g = OpenAIGenerator(base: "http://127.0.0.1:9/v1", settings: SamplingSettings(model: "m", api: .chat, systemPrompt: "Be safe."),
                                transport: transport)
        func turns(_ r: GenerationRequest) throws -> [String] {
            let obj = try JSONSerialization.jsonObject(with: Data(g.body(r).utf8)) as! [String: Any]
            XCTAssertNil(obj["prompt"])
            return (obj["messages"] as! [[String: String]]).map { $0["role"]! + ": " + $0["content"]! }
        }
        XCTAssertEqual(try turns(GenerationRequest(promptID: "a", prompt: "Hi \"you\"", firstIndex: 0, runSeed: 1)),
                       ["system: Be safe.", "user: Hi \"you\""])
        let chat = [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello"), ChatMessage(role: "user", content: "Go")]
        XCTAssertEqual(try turns(GenerationRequest(promptID: "a", prompt: "", messages: chat, firstIndex: 0, runSeed: 1)),
                       ["system: Be safe.", "user: Hi", "assistant: Hello", "user: Go"])
        let own = [ChatMessage(role: "system", content: "Own."), ChatMessage(role: "user", content: "Go")]
        XCTAssertEqual(try turns(GenerationRequest(promptID: "a", prompt: "", messages: own, firstIndex: 0, runSeed: 1)), ["system: Own.", "user: Go"])
    }

    func testExtraFieldsAreMergedIntoEveryRequest() throws {
        let extra = try SamplingSettings.canonicalExtraBody(#"{"top_k": 0, "min_p": 0, "repeat_penalty": 1, "logit_bias": {"50256": -100}}"#)
        XCTAssertEqual(extra, #"{"logit_bias":{"50256":-100},"min_p":0,"repeat_penalty":1,"top_k":0}"#)
        let transport = HTTPTransport(apiKey: nil, timeout: 5, connectionsPerHost: 1)
        defer { Task { await transport.shutdown() } }
        for api in SamplingSettings.API.allCases {
            let g = OpenAIGenerator(base: "http://127.0.0.1:9/v1/",
                                    settings: SamplingSettings(model: "m", api: api, topP: 1, extraBody: extra), transport: transport)
            let body = g.body(GenerationRequest(promptID: "a", prompt: "Hi", firstIndex: 0, count: 1, runSeed: 1))
            let obj = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
            XCTAssertEqual(obj["top_k"] as? Int, 0)
            XCTAssertEqual(obj["min_p"] as? Int, 0)
            XCTAssertEqual(obj["repeat_penalty"] as? Int, 1)
            XCTAssertEqual((obj["logit_bias"] as? [String: Int])?["50256"], -100)
            XCTAssertEqual(obj["top_p"] as? Int, 1)
            XCTAssertNotNil(obj["seed"])
        }
        // an empty object adds nothing
        let g = OpenAIGenerator(base: "http://x/v1", settings: SamplingSettings(model: "m", extraBody: "{}"), transport: transport)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(g.body(GenerationRequest(promptID: "a", prompt: "Hi", firstIndex: 0, count: 1, runSeed: 1)).utf8)))
        for bad in ["[1]", "3", "{\"n\": 2}", "{\"prompt\": \"x\"}", "not json"] {
            XCTAssertThrowsError(try SamplingSettings.canonicalExtraBody(bad), bad)
        }
    }
}
