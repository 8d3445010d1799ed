import Foundation
import NIOCore
import TTUCore
import TTUFiles
import TTUSampling
import TTUTestSupport

/// Throughput and memory of `collect` against an in-process stub that answers instantly.
///
/// `run` measures (1) a plain load generator: `concurrency` tasks POSTing the same
/// completion request through the same `HTTPTransport`, placed on the event loops as
/// collect's workers are, reading each body, no parsing; (2) the full collect path (request building, JSON parsing, lexicon rating,
/// scheduling, SQLite logging) at the same concurrency against the same stub. It prints
/// nothing; `report` formats the figures. Benchmarks, not tests: no assertions.
public enum CollectBenchmark {
    public struct Result: Sendable {
        public var concurrency: Int
        public var requests: Int
        /// Per round, in order: raw then collect, alternating.
        public var rawRates: [Double]
        public var collectRates: [Double]
        /// Process CPU time (user + system, all threads, stub included) per request, in µs,
        /// per round: less sensitive than rates to other processes on a shared machine.
        public var rawCPUMicros: [Double] = []
        public var collectCPUMicros: [Double] = []
        public var peakRSSMB: Double
        public var rawPerSecond: Double { median(rawRates) }
        public var collectPerSecond: Double { median(collectRates) }
        /// Median over rounds of collect / raw of the same round (each pair measured
        /// back to back, so a change in background load affects both sides alike).
        public var ratio: Double { median(zip(collectRates, rawRates).map { $0 / $1 }) }
        public var report: String {
            String(format: "collect vs raw HTTP at concurrency %d, %d requests, median of %d rounds: raw %.0f req/s, collect %.0f gen/s (%.1f%%), peak RSS %.0f MB",
                   concurrency, requests, rawRates.count, rawPerSecond, collectPerSecond, 100 * ratio, peakRSSMB)
        }
    }

    /// CPU seconds (user + system) this process has used.
    public static func cpuSeconds() -> Double {
        var u = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        #else
        getrusage(RUSAGE_SELF, &u)
        #endif
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    public static func median(_ xs: [Double]) -> Double {
        if xs.isEmpty { return 0 }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
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

    /// `rounds` alternating (raw, collect) measurements; each collect round is a fresh
    /// run with a new log.
    public static func run(concurrency: Int = 32, requests: Int = 20_000, cap: Int = 100, rounds: Int = 1) async throws -> Result {
        var config = StubServer.Config()
        config.canned = true
        let stub = StubServer(config: config)
        try stub.start()
        defer { stub.stop() }
        let transport = HTTPTransport(apiKey: nil, timeout: 30, connectionsPerHost: concurrency)
        do {
            let settings = SamplingSettings(model: "stub")
            let gen = OpenAIGenerator(base: stub.baseURL, settings: settings, transport: transport)
            let body = gen.body(GenerationRequest(promptID: "p", prompt: "Complete the sentence: the weather today is", firstIndex: 1, runSeed: 1))
            let url = gen.url
            let dir = NSTemporaryDirectory() + "ttu-bench-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let n = max(1, requests / cap)
            let prompts = (0..<n).map { PromptRecord(id: "b\($0)", prompt: "Complete the sentence: the weather today is (\($0))") }

            // Warm-up: open the connections.
            try await raw(transport: transport, url: url, body: body, concurrency: concurrency, total: concurrency * 20)
            var rawRates: [Double] = [], collectRates: [Double] = [], rawCPU: [Double] = [], collectCPU: [Double] = []
            for round in 0..<max(1, rounds) {
                // The same number of requests on both sides.
                let t0 = Date(), c0 = cpuSeconds()
                try await raw(transport: transport, url: url, body: body, concurrency: concurrency, total: n * cap)
                rawRates.append(Double(n * cap) / Date().timeIntervalSince(t0))
                rawCPU.append((cpuSeconds() - c0) * 1e6 / Double(n * cap))

                let options = CollectOptions(prompts: prompts, caps: [Int](repeating: cap, count: n), seed: 1,
                                             endpoints: [Endpoint(generator: gen, concurrency: concurrency)],
                                             rater: LexiconRater.standard, dbPath: dir + "/bench-\(round).sqlite")
                let c1 = cpuSeconds()
                let result = try await Collector(options).run()
                collectRates.append(Double(result.generationsThisRun) / result.elapsed)
                collectCPU.append((cpuSeconds() - c1) * 1e6 / Double(max(1, result.generationsThisRun)))
            }
            await transport.shutdown()
            return Result(concurrency: concurrency, requests: n * cap, rawRates: rawRates, collectRates: collectRates,
                          rawCPUMicros: rawCPU, collectCPUMicros: collectCPU, peakRSSMB: peakRSSMB())
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    static func raw(transport: HTTPTransport, url: String, body: String, concurrency: Int, total: Int) async throws {
        let counter = AtomicCounter(total)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for k in 0..<concurrency {
                let load = { @Sendable in
                    while counter.take() {
                        _ = try await transport.postJSON(url, body: ByteBuffer(string: body))
                    }
                }
                // Placed like collect's workers (over the event loops), so the two differ
                // only by what collect does besides HTTP.
                if #available(macOS 15.0, *) {
                    group.addTask(executorPreference: EventLoopExecutor.shared[k % EventLoopExecutor.shared.count], operation: load)
                } else {
                    group.addTask(operation: load)
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
