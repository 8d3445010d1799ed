import Foundation
import NIOCore
import TTUReport

/// Throughput and memory of `collect` against an in-process stub that answers instantly.
///
/// `run` measures (1) a plain load generator: `concurrency` tasks POSTing the same
/// completion request through the same `HTTPClient` configuration, reading each body, no
/// parsing; (2) the full collect path (request building, JSON parsing, lexicon rating,
/// scheduling, SQLite logging) at the same concurrency against the same stub. It prints
/// nothing; `report` formats the figures. Benchmarks, not tests: no assertions.
public enum CollectBenchmark {
    public struct Result: Sendable {
        public var concurrency: Int
        public var requests: Int
        public var rawPerSecond: Double
        public var collectPerSecond: Double
        public var peakRSSMB: Double
        public var ratio: Double { collectPerSecond / rawPerSecond }
        public var report: String {
            String(format: "collect vs raw HTTP at concurrency %d, %d requests: raw %.0f req/s, collect %.0f gen/s (%.1f%%), peak RSS %.0f MB",
                   concurrency, requests, rawPerSecond, collectPerSecond, 100 * ratio, peakRSSMB)
        }
    }

    /// Peak resident memory of this process (VmHWM), in MB; 0 where /proc is absent.
    public static func peakRSSMB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }

    public static func run(concurrency: Int = 32, requests: Int = 20_000, cap: Int = 100) async throws -> Result {
        var config = StubServer.Config()
        config.canned = true
        let stub = StubServer(config: config)
        try stub.start()
        defer { stub.stop() }
        let transport = HTTPTransport(apiKey: nil, timeout: 30, connectionsPerHost: concurrency)
        do {
            let settings = SamplingSettings(model: "stub", maxTokens: 30)
            let gen = OpenAIGenerator(base: stub.baseURL, settings: settings, transport: transport)
            let body = gen.body(GenerationRequest(promptID: "p", prompt: "Complete the sentence: the weather today is", firstIndex: 1, runSeed: 1))
            let url = gen.url

            // Warm-up: open the connections.
            try await raw(transport: transport, url: url, body: body, concurrency: concurrency, total: concurrency * 20)
            let t0 = Date()
            try await raw(transport: transport, url: url, body: body, concurrency: concurrency, total: requests)
            let rawRate = Double(requests) / Date().timeIntervalSince(t0)

            let dir = NSTemporaryDirectory() + "ttu-bench-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let n = max(1, requests / cap)
            let prompts = (0..<n).map { PromptRecord(id: "b\($0)", prompt: "Complete the sentence: the weather today is (\($0))") }
            let options = CollectOptions(prompts: prompts, caps: [Int](repeating: cap, count: n), seed: 1,
                                         endpoints: [Endpoint(generator: gen, concurrency: concurrency)],
                                         rater: LexiconRater.standard, dbPath: dir + "/bench.sqlite")
            let result = try await Collector(options).run()
            let collectRate = Double(result.generationsThisRun) / result.elapsed
            await transport.shutdown()
            return Result(concurrency: concurrency, requests: n * cap, rawPerSecond: rawRate,
                          collectPerSecond: collectRate, peakRSSMB: peakRSSMB())
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    static func raw(transport: HTTPTransport, url: String, body: String, concurrency: Int, total: Int) async throws {
        let counter = AtomicCounter(total)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while counter.take() {
                        _ = try await transport.postJSON(url, body: ByteBuffer(string: body))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Memory for many generations: runs the simulated generator (no HTTP) over
    /// `generations` draws (all safe, so every prompt goes to its cap) with the SQLite log,
    /// and returns (generations per second, peak RSS in MB).
    public static func memory(generations: Int = 1_000_000, cap: Int = 1000, concurrency: Int = 32) async throws -> (perSecond: Double, peakRSSMB: Double) {
        let dir = NSTemporaryDirectory() + "ttu-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = max(1, generations / cap)
        let prompts = (0..<n).map { PromptRecord(id: "m\($0)", prompt: "prompt \($0)") }
        var rates: [String: Double] = [:]
        for p in prompts { rates[p.id] = 0 }
        let options = CollectOptions(prompts: prompts, caps: [Int](repeating: cap, count: n), seed: 1,
                                     endpoints: [Endpoint(generator: SimulatedGenerator(rates: rates), concurrency: concurrency)],
                                     rater: LexiconRater.standard, dbPath: dir + "/mem.sqlite")
        let r = try await Collector(options).run()
        return (Double(r.generationsThisRun) / r.elapsed, peakRSSMB())
    }
}

final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    init(_ n: Int) { remaining = n }
    func take() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if remaining <= 0 { return false }
        remaining -= 1
        return true
    }
}
