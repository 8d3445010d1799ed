import Foundation
import TTUFiles
import TTUSampling
import TTUTestSupport

/// `--concurrency auto` against fixed levels, on a loopback server with a hard slot limit
/// that refuses one request more with HTTP 429 (`Retry-After: 0`), once answering at once
/// and once after 50 ms: generations per second, the ratio to the best fixed level, and
/// the share of requests refused.
public enum AutoConcurrencyBenchmark {
    public struct Row: Sendable {
        public var latency: Double
        public var label: String
        public var perSecond: Double
        public var requests: Int
        public var refused: Int
    }

    public static func run(slots: Int = 6, latencies: [Double] = [0, 0.05], fixed: [Int] = [4, 6, 8],
                           generationsInstant: Int = 6000, generationsSlow: Int = 1200) async throws -> [Row] {
        var rows: [Row] = []
        for latency in latencies {
            var config = StubServer.Config()
            config.slots = slots
            config.slotSeconds = latency
            config.canned = true
            config.recordRequests = false
            let stub = StubServer(config: config)
            try stub.start()
            defer { stub.stop() }
            let total = latency == 0 ? generationsInstant : generationsSlow
            let cap = 20, n = max(1, total / cap)
            let prompts = (0..<n).map { PromptRecord(id: "a\($0)", prompt: "Complete the sentence: the weather today is (\($0))") }
            let dir = NSTemporaryDirectory() + "ttu-bench-auto-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let levels: [(String, Int?)] = fixed.map { ("fixed \($0)", $0) } + [("auto (≤ 64)", nil)]
            for (k, (label, level)) in levels.enumerated() {
                let transport = HTTPTransport(apiKey: nil, timeout: 30, connectionsPerHost: level ?? 64)
                let gen = OpenAIGenerator(base: stub.baseURL, settings: SamplingSettings(model: "stub"), transport: transport)
                let endpoint = level.map { Endpoint(generator: gen, concurrency: $0) }
                    ?? Endpoint(generator: gen, concurrency: 64, limiter: ConcurrencyLimiter(initial: 4, maximum: 64))
                let before = (stub.requestCount, stub.refusedForSlots)
                let options = CollectOptions(prompts: prompts, caps: [Int](repeating: cap, count: n), earlyStop: false, seed: 1,
                                             endpoints: [endpoint], rater: LexiconRater.standard, dbPath: dir + "/run-\(k).sqlite",
                                             retry: RetryPolicy(maxRetries: 50, baseDelay: 0.01, maxDelay: 0.5))
                let result = try await Collector(options).run()
                await transport.shutdown()
                rows.append(Row(latency: latency, label: label, perSecond: Double(result.generationsThisRun) / result.elapsed,
                                requests: stub.requestCount - before.0, refused: stub.refusedForSlots - before.1))
            }
        }
        return rows
    }

    /// The table `ttu bench` prints (and README quotes).
    public static func table(_ rows: [Row], slots: Int = 6) -> [String] {
        var out = ["--concurrency auto vs fixed: loopback server with \(slots) slots, a 7th request refused with 429"]
        for latency in Set(rows.map(\.latency)).sorted() {
            let group = rows.filter { $0.latency == latency }
            let best = group.filter { $0.label.hasPrefix("fixed") }.map(\.perSecond).max() ?? 0
            out.append("  server answering \(latency == 0 ? "at once" : "after \(Int(latency * 1000)) ms"):")
            for r in group {
                let share = r.requests > 0 ? Double(r.refused) / Double(r.requests) : 0
                out.append("    " + r.label.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + " \(Num.fixed(r.perSecond, 1)) gen/s, \(Num.fixed(r.perSecond / max(best, 1e-9), 2))× the best fixed, "
                    + "\(r.refused) of \(r.requests) requests refused (\(Num.fixed(100 * share, 1)) %)")
            }
        }
        return out
    }
}
