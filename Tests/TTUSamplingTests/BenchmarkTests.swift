import Foundation
import XCTest
@testable import TTUSampling

/// Benchmarks print figures and never assert on time; they run only when asked:
///     TTU_BENCH=1 swift test -c release --filter TTUSamplingTests.BenchmarkTests
final class BenchmarkTests: XCTestCase {
    func testCollectThroughputAgainstInstantStub() async throws {
        guard ProcessInfo.processInfo.environment["TTU_BENCH"] != nil else {
            throw XCTSkip("benchmark: set TTU_BENCH=1 to run (prints raw HTTP vs collect throughput)")
        }
        let k = Int(ProcessInfo.processInfo.environment["TTU_BENCH_CONCURRENCY"] ?? "") ?? 32
        let n = Int(ProcessInfo.processInfo.environment["TTU_BENCH_REQUESTS"] ?? "") ?? 20_000
        let r = try await CollectBenchmark.run(concurrency: k, requests: n)
        print(r.report)
        if let g = Int(ProcessInfo.processInfo.environment["TTU_BENCH_MEMORY_GENERATIONS"] ?? "") {
            let m = try await CollectBenchmark.memory(generations: g)
            print(String(format: "memory: %d simulated generations with the SQLite log: %.0f gen/s, peak RSS %.0f MB", g, m.perSecond, m.peakRSSMB))
        }
    }
}
