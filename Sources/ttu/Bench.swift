import ArgumentParser
import TTUBench
import TTUPipeline

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: print wall times and ratios (no pass/fail).",
        discussion: """
        1. The miscoverage curve and selection for n prompts × m levels
           (default 10⁶ × 1000), for optimized and naive, against a dense n×m
           loop on a subset.
        2. The default `ttu simulate` (MLP training and every calibration),
           unless --skip-simulate.
        3. `ttu collect`'s request rate against a loopback stub that answers
           instantly, next to a plain concurrent HTTP load at the same
           concurrency, and its memory for many simulated generations (SQLite
           log on), unless --skip-collect.
        """)

    @Option(help: "Prompts for the curve benchmark.") var n = 1_000_000
    @Option(help: "Levels for the curve benchmark.") var m = 1000
    @Flag(help: "Skip timing the default simulate.") var skipSimulate = false
    @Flag(help: "Skip the collect benchmarks.") var skipCollect = false
    @Option(help: "Generations for the collect memory benchmark.") var collectGenerations = 1_000_000
    @Option(help: "Alternating raw/collect rounds of the collect throughput benchmark (medians are printed).") var collectRounds = 5
    @Option(help: "Requests per round of the collect throughput benchmark (the same on both sides).") var collectRequests = 20_000
    @Option(help: "Seed.") var seed: UInt64 = 1

    func run() async throws {
        var s = Benchmarks.Settings()
        (s.n, s.m, s.skipSimulate, s.skipCollect) = (n, m, skipSimulate, skipCollect)
        (s.collectGenerations, s.collectRounds, s.collectRequests, s.seed) = (collectGenerations, collectRounds, collectRequests, seed)
        try await Benchmarks.run(s, out: Terminal.out)
    }
}
