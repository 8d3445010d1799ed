import Foundation
import TTUCore
import TTUFiles
import XCTest
@testable import TTUSampling
import TTUTestSupport

/// The batch backend against `BatchStub`: rounds, equality with the online path, line
/// errors, failed and expired batches, a kill between submit and ingest, offline files.
/// No wall-clock sleeps (polls go through a sleeper that returns at once) and no timing
/// assertions; every prompt set and seed is fixed.
final class BatchCollectTests: XCTestCase {
    let key = "sk-test-SECRET-batch-0123456789"
    let cap = 24

    func prompts() -> [PromptRecord] { stubPrompts(12, seed: 5) }

    func startStub(_ configure: (inout BatchStub.Config) -> Void = { _ in }) throws -> BatchStub {
        var c = BatchStub.Config()
        c.rate = { rateFromPrompt($0) }
        configure(&c)
        let s = BatchStub(config: c)
        try s.start()
        return s
    }

    func options(base: String, transport: HTTPTransport, db: String, prompts: [PromptRecord], api: SamplingSettings.API = .completions,
                 n: Int = 1) -> CollectOptions {
        let settings = SamplingSettings(model: "stub-model", api: api, maxTokens: 20, temperature: 1, n: n)
        let gen = OpenAIGenerator(base: base, settings: settings, transport: transport)
        return CollectOptions(prompts: prompts, caps: prompts.map { _ in cap }, seed: 21,
                              endpoints: [Endpoint(generator: gen, concurrency: 4)],
                              rater: ModerationRater(base: base, transport: transport), dbPath: db, storeText: true,
                              retry: fastRetry(), parameters: ["seed": "21"])
    }

    /// One batch collection run (online Batch API at the stub, or offline in `offline`).
    func runBatch(_ stub: BatchStub?, dir: TempDir, db: String = "batch.sqlite", prompts: [PromptRecord]? = nil,
                  offline: String? = nil, maxAttempts: Int = 3, api: SamplingSettings.API = .completions, n: Int = 1,
                  kill: BatchFaultPoint? = nil, maxRequests: Int = 50_000) async throws -> CollectResult {
        let transport = HTTPTransport(apiKey: key, timeout: 5, connectionsPerHost: 4)
        defer { Task { await transport.shutdown() } }
        let base = stub?.baseURL ?? "http://127.0.0.1:9/v1"
        var b = BatchOptions(chunk: 4, pollInterval: 30, offlineDir: offline, maxAttempts: maxAttempts, maxRequests: maxRequests, sleep: { _ in })
        b.faultInjection = kill
        let o = options(base: base, transport: transport, db: dir.file(db), prompts: prompts ?? self.prompts(), api: api, n: n)
        return try await BatchCollector(o, batch: b, api: offline == nil ? BatchAPI(base: base, transport: transport, retry: fastRetry()) : nil).run()
    }

    /// The same collection online, against `StubServer` with the same rates.
    func runOnline(dir: TempDir, prompts: [PromptRecord]? = nil, api: SamplingSettings.API = .completions, n: Int = 1) async throws -> CollectResult {
        var c = StubServer.Config()
        c.rate = { rateFromPrompt($0) }
        let stub = StubServer(config: c)
        try stub.start()
        defer { stub.stop() }
        let transport = HTTPTransport(apiKey: key, timeout: 5, connectionsPerHost: 4)
        let result = try await Collector(options(base: stub.baseURL, transport: transport, db: dir.file("online.sqlite"),
                                                 prompts: prompts ?? self.prompts(), api: api, n: n)).run()
        await transport.shutdown()
        return result
    }

    func observationsText(_ r: CollectResult, _ dir: TempDir, _ name: String) throws -> String {
        try r.observations.write(to: dir.file(name))
        return try String(contentsOfFile: dir.file(name), encoding: .utf8)
    }

    func testBatchAndOnlineGiveByteIdenticalObservations() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let batch = try await runBatch(stub, dir: dir)
        let online = try await runOnline(dir: dir)
        XCTAssertEqual(batch.completeCount, prompts().count)
        XCTAssertEqual(try observationsText(batch, dir, "b.csv"), try observationsText(online, dir, "o.csv"))
        XCTAssertTrue(batch.observations.rows.contains { $0.event } && batch.observations.rows.contains { !$0.event })
        assertLogConsistent(try readLog(dir.file("batch.sqlite")), batch)
        // Same texts per (prompt, index) in both logs wherever both drew.
        let online1 = Dictionary(uniqueKeysWithValues: try readLog(dir.file("online.sqlite")).map { ("\($0.id)#\($0.idx)", $0.text) })
        for r in try readLog(dir.file("batch.sqlite")) where online1["\(r.id)#\(r.idx)"] != nil {
            XCTAssertEqual(r.text, online1["\(r.id)#\(r.idx)"]!, "\(r.id) #\(r.idx)")
        }
        // Rounds: the first asks every prompt for its first chunk; the key went with every call.
        XCTAssertGreaterThan(stub.batchesCreated.count, 1)
        XCTAssertEqual(stub.batchesCreated[0].customIDs.count, prompts().count * 4)
        XCTAssertTrue(stub.authorizationsReceived.allSatisfy { $0 == "Bearer " + key })
        // The key is never in the log or the round files.
        for f in try FileManager.default.subpathsOfDirectory(atPath: dir.path) {
            let d = FileManager.default.contents(atPath: dir.file(f)) ?? Data()
            XCTAssertNil(d.range(of: Data(key.utf8)), f)
        }
    }

    func testChatAndSeveralChoicesPerRequestEqualOnline() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let batch = try await runBatch(stub, dir: dir, api: .chat, n: 2)
        let online = try await runOnline(dir: dir, api: .chat, n: 2)
        XCTAssertEqual(try observationsText(batch, dir, "b.csv"), try observationsText(online, dir, "o.csv"))
        XCTAssertEqual(stub.batchesCreated[0].endpoint, "/v1/chat/completions")
        // Aligned blocks of n = 2: a chunk of 4 is blocks 1 and 3.
        XCTAssertEqual(stub.batchesCreated[0].customIDs.filter { $0.hasSuffix(":" + prompts()[0].id) }, ["1:p0", "3:p0"])
    }

    /// Killed before its upload was accepted (here: every upload attempt of the first run
    /// failed): the rerun uploads the recorded round's requests and goes on.
    func testARoundRecordedButNotUploadedIsSubmittedOnRerun() async throws {
        let dir = TempDir()
        let clean = try await runOnline(dir: dir)
        let stub = try startStub { $0.uploadFailures = 7 }  // fastRetry(): 7 attempts
        defer { stub.stop() }
        do { _ = try await runBatch(stub, dir: dir); XCTFail("uploaded") } catch is TransientError {}
        let rounds = try SampleLog(path: dir.file("batch.sqlite")).batchRounds()
        XCTAssertEqual(rounds.map(\.state), [.prepared])
        XCTAssertNil(rounds[0].inputFileID)
        let r = try await runBatch(stub, dir: dir)
        XCTAssertEqual(stub.batchesCreated[0].customIDs, rounds[0].requests)
        XCTAssertEqual(try observationsText(r, dir, "b.csv"), try observationsText(clean, dir, "o.csv"))
    }

    func testRoundsLargerThanABatchAreSplitOverRounds() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let r = try await runBatch(stub, dir: dir, maxRequests: 7)
        XCTAssertTrue(stub.batchesCreated.allSatisfy { $0.customIDs.count <= 7 })
        // Round-robin: the first batch holds the first block of the first 7 prompts.
        XCTAssertEqual(stub.batchesCreated[0].customIDs, prompts().prefix(7).map { "1:" + $0.id })
        let online = try await runOnline(dir: dir)
        XCTAssertEqual(try observationsText(r, dir, "b.csv"), try observationsText(online, dir, "o.csv"))
    }

    func testRequestLinesCarryTheOnlineBodies() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        _ = try await runBatch(stub, dir: dir)
        let text = try String(contentsOfFile: dir.file("batch.sqlite.batch/requests-round1.jsonl"), encoding: .utf8)
        let transport = HTTPTransport(apiKey: nil, timeout: 5, connectionsPerHost: 1)
        defer { Task { await transport.shutdown() } }
        let gen = OpenAIGenerator(base: stub.baseURL, settings: SamplingSettings(model: "stub-model", api: .completions, maxTokens: 20, temperature: 1),
                                  transport: transport)
        let p = prompts()[0]
        let first = text.split(separator: "\n")[0]
        let body = gen.body(GenerationRequest(promptID: p.id, prompt: p.prompt, firstIndex: 1, runSeed: 21))
        XCTAssertEqual(String(first), #"{"custom_id":"1:\#(p.id)","method":"POST","url":"/v1/completions","body":"# + body + "}")
        XCTAssertEqual(BatchRequest(customID: "12:a:b"), BatchRequest(promptID: "a:b", firstIndex: 12))
        XCTAssertNil(BatchRequest(customID: "x:a"))
    }

    /// A chat prompt's turns and the system prompt go into the batch line as they go online.
    func testChatPromptTurnsAndSystemPromptInTheBatchLine() throws {
        let transport = HTTPTransport(apiKey: nil, timeout: 5, connectionsPerHost: 1)
        defer { Task { await transport.shutdown() } }
        let gen = OpenAIGenerator(base: "http://127.0.0.1:9/v1", settings: SamplingSettings(model: "m", api: .chat, systemPrompt: "Be safe."),
                                  transport: transport)
        let p = PromptRecord(id: "c", messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hey"),
                                                 ChatMessage(role: "user", content: "Swear")])
        let line = BatchRequest(promptID: "c", firstIndex: 3).line(prompt: p, generator: gen, runSeed: 5)
        let online = gen.body(GenerationRequest(promptID: "c", prompt: p.prompt, messages: p.messages, firstIndex: 3, runSeed: 5))
        XCTAssertEqual(line, #"{"custom_id":"3:c","method":"POST","url":"/v1/chat/completions","body":"# + online + "}")
        XCTAssertTrue(online.contains(#"{"role":"system","content":"Be safe."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hey"}"#), online)
    }

    func testErrorLinesAndExpiryAndFailureAreRequestedAgainNeverSafe() async throws {
        let dir = TempDir()
        let clean = try await runOnline(dir: dir)
        let ids = prompts().map(\.id)
        for (name, configure) in [
            ("line errors", { (c: inout BatchStub.Config) in c.lineError = { $0.hasSuffix(":" + ids[1]) || $0 == "1:" + ids[4] } }),
            ("expired", { (c: inout BatchStub.Config) in c.expiredBatches = [1]; c.expiredCompletedLines = 5 }),
            ("failed", { (c: inout BatchStub.Config) in c.failedBatches = [1, 2] }),
            ("upload 500", { (c: inout BatchStub.Config) in c.uploadFailures = 2 }),
        ] as [(String, (inout BatchStub.Config) -> Void)] {
            let stub = try startStub(configure)
            let d = TempDir()
            let r = try await runBatch(stub, dir: d)
            stub.stop()
            XCTAssertEqual(try observationsText(r, d, "b.csv"), try observationsText(clean, dir, "o.csv"), name)
            XCTAssertGreaterThan(r.retries + (name == "upload 500" ? 1 : 0), 0, name)
            assertLogConsistent(try readLog(d.file("batch.sqlite")), r)
            if name == "expired" {
                // The completed lines of the expired batch were kept, only the rest asked again.
                let first = stub.batchesCreated[0].customIDs, second = Set(stub.batchesCreated[1].customIDs)
                XCTAssertTrue(first.prefix(5).allSatisfy { !second.contains($0) }, name)
                // Index 1 of every prompt is needed whatever it shows: those left unanswered come again.
                XCTAssertTrue(first.dropFirst(5).filter { $0.hasPrefix("1:") }.allSatisfy { second.contains($0) }, name)
                XCTAssertEqual(first.dropFirst(5).filter { $0.hasPrefix("1:") }.count, prompts().count - 5, name)
            }
        }
    }

    func testPersistentLineErrorLeavesThePromptIncomplete() async throws {
        let id = prompts()[2].id
        let stub = try startStub { $0.lineError = { $0 == "1:" + id }; $0.lineErrorAttempts = 100 }
        defer { stub.stop() }
        let dir = TempDir()
        let r = try await runBatch(stub, dir: dir, maxAttempts: 2)
        XCTAssertEqual(r.incomplete.map(\.id), [id])
        XCTAssertTrue(r.incomplete[0].reason.contains("failed in 2 batch rounds"), r.incomplete[0].reason)
        XCTAssertFalse(r.observations.ids.contains(id))
        XCTAssertFalse(try readLog(dir.file("batch.sqlite")).contains { $0.id == id && $0.idx == 1 })
        XCTAssertEqual(stub.batchesCreated.filter { $0.customIDs.contains("1:" + id) }.count, 2)
    }

    func testGarbageOutputIsBadInputNamingFileAndLine() async throws {
        let stub = try startStub { $0.garbageOutputBatches = [1] }
        defer { stub.stop() }
        let dir = TempDir()
        do {
            _ = try await runBatch(stub, dir: dir)
            XCTFail("garbage output was accepted")
        } catch let e as InputError {
            XCTAssertEqual(e.file, dir.file("batch.sqlite.batch/results-round1.jsonl"))
            XCTAssertEqual(e.line, 2)
        }
        XCTAssertEqual(try readLog(dir.file("batch.sqlite")).count, 0, "nothing of a bad output file is logged")
    }

    func testKillBetweenSubmitAndIngestResumesByBatchID() async throws {
        let dir = TempDir()
        let uninterrupted: String
        do {
            let stub = try startStub()
            let r = try await runBatch(stub, dir: dir, db: "clean.sqlite")
            stub.stop()
            uninterrupted = try observationsText(r, dir, "clean.csv")
        }
        let stub = try startStub()
        defer { stub.stop() }
        for _ in 0..<2 {
            do {
                _ = try await runBatch(stub, dir: dir, kill: BatchFaultPoint(afterSubmits: 1))
                XCTFail("no kill")
            } catch is SimulatedBatchKill {}
            let rounds = try SampleLog(path: dir.file("batch.sqlite")).batchRounds()
            XCTAssertEqual(rounds.last?.state, .submitted)
            XCTAssertEqual(rounds.last?.batchID, stub.batchesCreated.last?.id)
        }
        // The second run resumed round 1 by id (no second batch for it), submitted round 2, died.
        XCTAssertEqual(stub.batchesCreated.count, 2)
        let before = stub.batchesCreated
        let r = try await runBatch(stub, dir: dir)
        XCTAssertEqual(Array(stub.batchesCreated.prefix(2)), before)
        for b in before {
            XCTAssertEqual(stub.batchesCreated.filter { $0.customIDs == b.customIDs }.count, 1, "resubmitted \(b.id)")
        }
        XCTAssertEqual(try observationsText(r, dir, "resumed.csv"), uninterrupted)
        assertLogConsistent(try readLog(dir.file("batch.sqlite")), r)
        func rows(_ db: String) throws -> [String] { try readLog(dir.file(db)).map { "\($0.id) \($0.idx) \($0.score) \($0.text ?? "")" } }
        XCTAssertEqual(try rows("batch.sqlite"), try rows("clean.sqlite"))
    }

    func testOfflineWritesRequestFilesAndIngestsResults() async throws {
        let stub = try startStub()  // only its answers (what vllm run-batch would write) and moderation
        defer { stub.stop() }
        let dir = TempDir()
        let off = dir.file("offline")
        var rounds = 0
        var result: CollectResult?
        while result == nil {
            do {
                result = try await runBatch(stub, dir: dir, offline: off)
            } catch let p as BatchPending {
                rounds += 1
                XCTAssertEqual(p.round, rounds)
                XCTAssertEqual(p.requestFile, off + "/requests-round\(rounds).jsonl")
                XCTAssertTrue(p.description.contains("vllm run-batch -i \(p.requestFile) -o \(p.resultsFile) --model stub-model"))
                // Rerun before the results exist: the same round is still pending, nothing new.
                do { _ = try await runBatch(stub, dir: dir, offline: off); XCTFail("not pending") } catch let q as BatchPending {
                    XCTAssertEqual(q.round, rounds)
                }
                let input = try String(contentsOfFile: p.requestFile, encoding: .utf8)
                try stub.runBatch(input).write(toFile: p.resultsFile, atomically: true, encoding: .utf8)
            }
            XCTAssertLessThan(rounds, 20)
        }
        XCTAssertGreaterThan(rounds, 1)
        XCTAssertTrue(stub.batchesCreated.isEmpty)
        let online = try await runOnline(dir: dir)
        XCTAssertEqual(try observationsText(result!, dir, "b.csv"), try observationsText(online, dir, "o.csv"))
    }

    /// Offline, every round is a rerun: the rounds a request failed in are counted from the
    /// log, so a request that always fails makes its prompt incomplete after `maxAttempts`
    /// rounds; a rerun after that report tries it again.
    func testOfflineFailuresAreCountedAcrossRerunsAndARerunRetries() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let off = dir.file("offline")
        let bad = "1:" + prompts()[2].id
        var result: CollectResult?
        var rounds = 0
        while result == nil, rounds < 20 {
            do {
                result = try await runBatch(stub, dir: dir, offline: off, maxAttempts: 2)
            } catch let p as BatchPending {
                rounds += 1
                let out = try stub.runBatch(try String(contentsOfFile: p.requestFile, encoding: .utf8)).split(separator: "\n").map { line in
                    line.contains("\"custom_id\":\"\(bad)\"")
                        ? #"{"custom_id":"\#(bad)","response":{"status_code":500,"body":{"error":{"message":"engine died"}}},"error":null}"#
                        : String(line)
                }
                try (out.joined(separator: "\n") + "\n").write(toFile: p.resultsFile, atomically: true, encoding: .utf8)
            }
        }
        let r = try XCTUnwrap(result)
        XCTAssertEqual(r.incomplete.map(\.id), [prompts()[2].id])
        XCTAssertTrue(r.incomplete[0].reason.contains("failed in 2 batch rounds (last: HTTP 500 engine died)"), r.incomplete[0].reason)
        XCTAssertEqual(r.completeCount, prompts().count - 1)
        do { _ = try await runBatch(stub, dir: dir, offline: off, maxAttempts: 2); XCTFail("no retry") } catch let p as BatchPending {
            XCTAssertEqual(try String(contentsOfFile: p.requestFile, encoding: .utf8).split(separator: "\n").count, 1)
            XCTAssertTrue(try String(contentsOfFile: p.requestFile, encoding: .utf8).contains("\"custom_id\":\"\(bad)\""))
        }
    }

    func testOfflineResultsWithAnUnknownCustomIDAreBadInput() async throws {
        let stub = try startStub()
        defer { stub.stop() }
        let dir = TempDir()
        let off = dir.file("offline")
        do { _ = try await runBatch(stub, dir: dir, offline: off); XCTFail("not pending") } catch let p as BatchPending {
            var out = try stub.runBatch(try String(contentsOfFile: p.requestFile, encoding: .utf8))
            out = out.replacingOccurrences(of: "\"custom_id\":\"1:\(prompts()[3].id)\"", with: "\"custom_id\":\"1:nobody\"")
            try out.write(toFile: p.resultsFile, atomically: true, encoding: .utf8)
            do {
                _ = try await runBatch(stub, dir: dir, offline: off)
                XCTFail("accepted")
            } catch let e as InputError {
                XCTAssertEqual(e.file, p.resultsFile)
                XCTAssertEqual(e.line, 4)
                XCTAssertEqual(e.field, "custom_id")
                XCTAssertTrue(e.description.contains("'1:nobody' was not requested"), e.description)
            }
        }
    }

    func testBatchOutputLines() throws {
        let ok = #"{"custom_id":"1:a","response":{"status_code":200,"body":{"choices":[{"index":0,"text":"hi"}]}},"error":null}"#
        let err = #"{"custom_id":"2:a","response":{"status_code":400,"body":{"error":{"message":"bad"}}},"error":null}"#
        let err2 = #"{"custom_id":"3:a","response":null,"error":{"code":"x","message":"expired"}}"#
        let noChoices = #"{"custom_id":"4:a","response":{"status_code":200,"body":{"id":"x"}},"error":null}"#
        let lines = try BatchOutput.parse(Data([ok, err, "", err2, noChoices].joined(separator: "\n").utf8), file: "out.jsonl",
                                          expected: ["1:a", "2:a", "3:a", "4:a"], chat: false, choices: 1)
        XCTAssertEqual(lines["1:a"], .texts(["hi"]))
        XCTAssertEqual(lines["2:a"], .failed("HTTP 400 bad"))
        XCTAssertEqual(lines["3:a"], .failed("error: expired"))
        guard case .failed? = lines["4:a"] else { return XCTFail("a body without choices is a failed generation") }
        XCTAssertThrowsError(try BatchOutput.parse(Data((ok + "\n" + ok).utf8), file: "out.jsonl", expected: ["1:a"], chat: false, choices: 1)) {
            XCTAssertEqual(($0 as? InputError)?.line, 2)
        }
        XCTAssertThrowsError(try BatchOutput.parse(Data(#"{"response":{}}"#.utf8), file: "out.jsonl", expected: [], chat: false, choices: 1)) {
            XCTAssertEqual(($0 as? InputError)?.field, "custom_id")
        }
    }
}
