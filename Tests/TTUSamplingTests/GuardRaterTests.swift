import Foundation
import NIOCore
import TTUCore
import TTUFiles
import XCTest
@testable import TTUSampling
import TTUTestSupport

final class GuardRaterTests: XCTestCase {
    /// A chat completion whose verdict token has these top logprobs (token, probability).
    func response(_ content: String, top: [(String, Double)]?, chosen: String? = nil) -> ByteBuffer {
        var lp = "null"
        if let top {
            let entries = top.map { #"{"token":\#(quote($0.0)),"logprob":\#(log($0.1))}"# }.joined(separator: ",")
            let token = chosen ?? top[0].0
            lp = #"{"content":[{"token":"\n\n","logprob":0,"top_logprobs":[]},{"token":\#(quote(token)),"logprob":-0.1,"top_logprobs":[\#(entries)]}]}"#
        }
        return ByteBuffer(string: #"{"choices":[{"index":0,"message":{"role":"assistant","content":\#(quote(content))},"logprobs":\#(lp)}]}"#)
    }

    func quote(_ s: String) -> String { JSONAccess.quote(s) }

    func testVerdictsAndCategories() throws {
        XCTAssertEqual(try GuardRater.verdict("safe"), .init(unsafe: false, categories: []))
        XCTAssertEqual(try GuardRater.verdict("\n\nunsafe\nS1,S10"), .init(unsafe: true, categories: ["S1", "S10"]))
        XCTAssertEqual(try GuardRater.verdict(" Unsafe \n s2, s10 \n"), .init(unsafe: true, categories: ["S2", "S10"]))
        XCTAssertEqual(try GuardRater.verdict("unsafe"), .init(unsafe: true, categories: []))
        for bad in ["", "\n", "I cannot help with that.", "unsure\nS1", "safe-ish", "unsafe.", "The answer is safe"] {
            XCTAssertThrowsError(try GuardRater.verdict(bad), bad.debugDescription) { XCTAssertTrue($0 is TransientError, "\($0)") }
        }
    }

    func testScoreFromLogprobsNormalisedOverSafeAndUnsafe() throws {
        // 0.6 + 0.1 unsafe (two spellings), 0.2 + 0.05 safe: 0.7 / 0.95.
        let top = [("unsafe", 0.6), (" SAFE", 0.2), ("Unsafe ", 0.1), ("safe", 0.05), ("\n", 0.05)]
        let s = try GuardRater.parse(response("unsafe\nS1", top: top), categories: nil, url: "u")
        XCTAssertEqual(s, 0.7 / 0.95, accuracy: 1e-12)
        // A safe verdict keeps its (small) probability of unsafe: a stricter threshold can use it.
        let s2 = try GuardRater.parse(response("safe", top: [("safe", 0.8), ("unsafe", 0.2)]), categories: nil, url: "u")
        XCTAssertEqual(s2, 0.2, accuracy: 1e-12)
        // No logprobs, a verdict split over tokens, or neither word in the top ones: 1 or 0 from the verdict.
        XCTAssertEqual(try GuardRater.parse(response("unsafe\nS1", top: nil), categories: nil, url: "u"), 1)
        XCTAssertEqual(try GuardRater.parse(response("safe", top: nil), categories: nil, url: "u"), 0)
        XCTAssertEqual(try GuardRater.parse(response("unsafe\nS1", top: [("un", 0.7), ("safe", 0.3)]), categories: nil, url: "u"), 1)
        XCTAssertEqual(try GuardRater.parse(response("unsafe\nS1", top: [("unsure", 0.6), ("no", 0.4)], chosen: "unsafe"), categories: nil, url: "u"), 1)
        // Malformed logprobs are malformed responses, not a default.
        let bad = ByteBuffer(string: #"{"choices":[{"message":{"content":"safe"},"logprobs":{"content":[{"token":"safe","top_logprobs":[{"token":"safe"}]}]}}]}"#)
        XCTAssertThrowsError(try GuardRater.parse(bad, categories: nil, url: "u")) { XCTAssertTrue($0 is TransientError) }
        XCTAssertThrowsError(try GuardRater.parse(ByteBuffer(string: #"{"object":"x"}"#), categories: nil, url: "u")) { XCTAssertTrue($0 is TransientError) }
    }

    func testCategoriesOutsideTheSetScoreZero() async throws {
        let top = [("unsafe", 0.9), ("safe", 0.1)]
        let r = response("unsafe\nS1,S10", top: top)
        XCTAssertEqual(try GuardRater.parse(r, categories: ["S10"], url: "u"), 0.9, accuracy: 1e-12)
        XCTAssertEqual(try GuardRater.parse(r, categories: ["S2", "S3"], url: "u"), 0)
        XCTAssertEqual(try GuardRater.parse(r, categories: nil, url: "u"), 0.9, accuracy: 1e-12)
        // With a set of categories, an unsafe verdict must say which: otherwise it is malformed.
        XCTAssertThrowsError(try GuardRater.parse(response("unsafe", top: top), categories: ["S1"], url: "u")) { XCTAssertTrue($0 is TransientError) }
        XCTAssertEqual(GuardRater.normalise([" s10", "S1", "", "s1"]), ["S1", "S10"])
        let t = HTTPTransport(apiKey: nil, timeout: 1, connectionsPerHost: 1)
        XCTAssertEqual(GuardRater(base: "http://h/v1/", model: "g", categories: ["s2"], transport: t).name, "guard:g[S2]")
        XCTAssertEqual(GuardRater(base: "http://h/v1", model: "g", categories: [], transport: t).name, "guard:g")
        await t.shutdown()
    }

    // MARK: against the loopback guard stub

    func collect(_ guardStub: GuardStub, generator: StubServer, dir: TempDir, prompts: [PromptRecord], cap: Int,
                 retry: RetryPolicy, categories: [String]? = nil, db: String) async throws -> CollectResult {
        let transport = HTTPTransport(apiKey: nil, timeout: 5, connectionsPerHost: 4)
        let gen = OpenAIGenerator(base: generator.baseURL, settings: SamplingSettings(model: "m", api: .completions, maxTokens: 20, temperature: 1),
                                  transport: transport)
        let rater = GuardRater(base: guardStub.baseURL, model: guardStub.config.model, categories: categories, transport: transport)
        let o = CollectOptions(prompts: prompts, caps: prompts.map { _ in cap }, earlyStop: false, seed: 5,
                               endpoints: [Endpoint(generator: gen, concurrency: 4)], rater: rater, dbPath: dir.file(db),
                               storeText: true, retry: retry, parameters: ["seed": "5"])
        do {
            let r = try await Collector(o).run()
            await transport.shutdown()
            return r
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    func startGenerator() throws -> StubServer {
        var c = StubServer.Config()
        c.rate = { rateFromPrompt($0) }
        let s = StubServer(config: c)
        try s.start()
        return s
    }

    /// Malformed answers are retried and end exactly like a clean run; a guard that never
    /// answers properly leaves every prompt incomplete with nothing logged, never safe.
    func testMalformedAnswersAreRetriedNeverSafe() async throws {
        let generator = try startGenerator()
        defer { generator.stop() }
        let prompts = stubPrompts(12, seed: 4)
        let clean = GuardStub()
        try clean.start()
        let d1 = TempDir()
        let expected = try await collect(clean, generator: generator, dir: d1, prompts: prompts, cap: 10, retry: fastRetry(), db: "a.sqlite")
        clean.stop()
        XCTAssertTrue(expected.incomplete.isEmpty)
        XCTAssertEqual(clean.rejectedCount, 0)

        var fc = GuardStub.Config()
        fc.malformedAttempts = 3
        let flaky = GuardStub(config: fc)
        try flaky.start()
        let d2 = TempDir()
        let got = try await collect(flaky, generator: generator, dir: d2, prompts: prompts, cap: 10, retry: fastRetry(6), db: "b.sqlite")
        flaky.stop()
        XCTAssertEqual(got.outcomes, expected.outcomes)
        XCTAssertEqual(flaky.malformedCount, 3 * 12 * 10)
        XCTAssertEqual(got.retries, 3 * 12 * 10)
        let a = try readLog(d1.file("a.sqlite")), b = try readLog(d2.file("b.sqlite"))
        XCTAssertEqual(a.map(\.score), b.map(\.score))
        XCTAssertTrue(a.contains { $0.unsafe } && a.contains { !$0.unsafe })

        var bc = GuardStub.Config()
        bc.malformedAttempts = 1_000
        let broken = GuardStub(config: bc)
        try broken.start()
        let d3 = TempDir()
        let none = try await collect(broken, generator: generator, dir: d3, prompts: prompts, cap: 10, retry: fastRetry(2), db: "c.sqlite")
        broken.stop()
        XCTAssertEqual(none.incomplete.count, prompts.count)
        XCTAssertEqual(none.completeCount, 0)
        XCTAssertEqual(try readLog(d3.file("c.sqlite")).count, 0, "a malformed answer must never be logged as a rating")
    }

    /// The logged scores are the normalised logprobs; categories outside the set score 0.
    func testLoggedScoresAndCategoryFilter() async throws {
        let generator = try startGenerator()
        defer { generator.stop() }
        var c = GuardStub.Config()
        c.categories = { oddSeed($0) ? "S1,S10" : "S2" }  // depends on the text only
        let g = GuardStub(config: c)
        try g.start()
        defer { g.stop() }
        let prompts = stubPrompts(15, seed: 9)
        let d = TempDir()
        _ = try await collect(g, generator: generator, dir: d, prompts: prompts, cap: 12, retry: fastRetry(), categories: ["s10"], db: "f.sqlite")
        let rows = try readLog(d.file("f.sqlite"))
        var kept = 0, dropped = 0
        for r in rows {
            let text = r.text!
            if !text.contains(StubServer.unsafeMarker) {
                XCTAssertEqual(r.score, GuardStub.safeScore, accuracy: 1e-12)
            } else if oddSeed(text) {
                XCTAssertEqual(r.score, GuardStub.unsafeScore, accuracy: 1e-12); kept += 1
            } else {
                XCTAssertEqual(r.score, 0); dropped += 1
            }
            XCTAssertEqual(r.unsafe, r.score >= 0.5)
        }
        XCTAssertGreaterThan(kept, 0)
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertEqual(g.rejectedCount, 0)
    }
}

/// Whether the stub completion's seed ("… (seed N)") is odd: the guard stub's categories key.
@Sendable func oddSeed(_ text: String) -> Bool {
    (text.last(where: \.isNumber)?.wholeNumberValue ?? 0) % 2 == 1
}
