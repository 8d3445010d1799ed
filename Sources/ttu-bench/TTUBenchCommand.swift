import ArgumentParser
import TTUBench
import TTUPipeline

/// `ttu-bench`: the benchmarks, in their own executable so that the loopback stub servers
/// they need (TTUTestSupport) never ship inside `ttu`. `ttu bench …` runs this binary.
@main
struct TTUBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ttu-bench",
        abstract: "Benchmarks: print wall times and ratios (no pass/fail).",
        discussion: """
        1. The miscoverage curve and selection for n prompts × m levels
           (default 10⁶ × 1000), for optimized and naive, against a dense n×m
           loop on a subset.
        2. `ttu calibrate` as a whole process on --calibrate-n prompts ×
           --calibrate-levels levels (default 500,000 × 300; generated files,
           optimized plan, simulated observations) against the dense numpy
           reference bench/dense_reference.py on the same files (when python3
           with numpy is found): both times, the ratio and both selected
           indices, unless --skip-calibrate.
        3. The default `ttu simulate` (MLP training and every calibration),
           unless --skip-simulate.
        4. `ttu collect`'s request rate against a loopback stub that answers
           instantly, next to a plain concurrent HTTP load at the same
           concurrency; the same against wrk and a Python aiohttp sampler,
           each in its own process against one stub process, at concurrency
           16 (bench/collect_vs_wrk.py, --wrk-rounds; needs wrk); and its
           memory for many simulated generations (SQLite log on), unless
           --skip-collect.
        """)

    @Option(help: "Prompts for the curve benchmark.") var n = 1_000_000
    @Option(help: "Levels for the curve benchmark.") var m = 1000
    @Flag(help: "Skip timing the default simulate.") var skipSimulate = false
    @Flag(help: "Skip the collect benchmarks.") var skipCollect = false
    @Flag(help: "Skip the calibrate-vs-numpy benchmark.") var skipCalibrate = false
    @Option(help: "Prompts for the calibrate-vs-numpy benchmark.") var calibrateN = 500_000
    @Option(help: "Levels for the calibrate-vs-numpy benchmark.") var calibrateLevels = 300
    @Option(help: "Alternating ttu/numpy rounds of the calibrate benchmark (medians are printed).") var calibrateRounds = 3
    @Option(help: "The dense numpy reference script (default: bench/dense_reference.py of the source tree).") var reference: String?
    @Option(help: "Write (and keep) the calibrate benchmark's plan.csv, plan.json and obs.csv in this folder.") var calibrateDir: String?
    @Flag(help: "Skip the miscoverage-curve benchmark.") var skipCurve = false
    @Option(help: "Generations for the collect memory benchmark.") var collectGenerations = 1_000_000
    @Option(help: "Alternating raw/collect rounds of the collect throughput benchmark (medians are printed).") var collectRounds = 5
    @Option(help: "Requests per round of the collect throughput benchmark (the same on both sides).") var collectRequests = 20_000
    @Option(help: "Rounds of the collect-vs-wrk comparison (bench/collect_vs_wrk.py: wrk, ttu collect and a Python aiohttp sampler against one stub process; needs wrk); 0 skips it.")
    var wrkRounds = 3
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Flag(name: .customLong("concurrency-only"), help: "Run only the --concurrency auto vs fixed comparison (slot-limited stub, instant and 50 ms).")
    var concurrencyOnly = false
    @Option(help: ArgumentHelp("Serve the instant stub on 127.0.0.1:PORT (0: a free port) until killed; print its base URL.", visibility: .hidden))
    var serveStub: Int?
    @Option(help: ArgumentHelp("Event-loop threads of --serve-stub.", visibility: .hidden)) var stubThreads = 1

    func run() async throws {
        if let port = serveStub {
            // bench/collect_vs_wrk.sh: the same instant stub for wrk, ttu collect and aiohttp.
            let stub = try StandaloneStub.start(port: port, threads: stubThreads)
            Terminal.out(stub.baseURL)
            while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
        }
        if concurrencyOnly {
            for line in AutoConcurrencyBenchmark.table(try await AutoConcurrencyBenchmark.run()) { Terminal.out(line) }
            return
        }
        var s = Benchmarks.Settings()
        (s.n, s.m, s.skipSimulate, s.skipCollect) = (n, m, skipSimulate, skipCollect)
        (s.calibrateDir, s.skipCurve) = (calibrateDir, skipCurve)
        (s.skipCalibrate, s.calibrateN, s.calibrateLevels, s.calibrateRounds, s.reference) = (skipCalibrate, calibrateN, calibrateLevels, calibrateRounds, reference)
        (s.collectGenerations, s.collectRounds, s.collectRequests, s.seed) = (collectGenerations, collectRounds, collectRequests, seed)
        s.wrkRounds = wrkRounds
        try await Benchmarks.run(s, out: Terminal.out)
    }
}
