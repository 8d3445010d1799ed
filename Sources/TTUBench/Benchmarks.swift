import Foundation
import TTUCore
import TTUFiles
import TTUPipeline
import TTUReport
import TTUSampling

/// What `ttu bench` runs: figures and ratios, never a pass/fail.
/// 1. The miscoverage curve and selection for n prompts × m levels, for optimized and
///    naive, against a dense n×m loop on a subset. 2. `ttu calibrate` as a whole process
///    on 500,000 prompts × 300 levels against the dense numpy reference on the same files.
/// 3. The default `ttu simulate`. 4. `ttu collect`'s request rate against a loopback stub
///    that answers instantly, next to a plain HTTP load, and its memory for many simulated
///    generations.
public enum Benchmarks {
    public struct Settings: Sendable {
        public var n = 1_000_000
        public var m = 1000
        public var skipSimulate = false
        public var skipCollect = false
        public var skipCalibrate = false
        /// Prompts and levels of the calibrate-vs-numpy benchmark.
        public var calibrateN = 500_000
        public var calibrateLevels = 300
        public var calibrateRounds = 3
        /// Where the calibrate benchmark writes its files (kept); default a temporary folder (removed).
        public var calibrateDir: String? = nil
        public var skipCurve = false
        /// The dense numpy reference (default: bench/dense_reference.py of the source tree).
        public var reference: String? = nil
        /// The `ttu` executable to time (default: this process's own).
        public var ttu: String? = nil
        public var collectGenerations = 1_000_000
        public var collectRounds = 5
        public var collectRequests = 20_000
        /// Rounds of `bench/collect_vs_wrk.py` (wrk, ttu collect and aiohttp against one
        /// stub process); 0 skips it.
        public var wrkRounds = 3
        public var seed: UInt64 = 1
        public init() {}
    }

    public static func run(_ s: Settings, out: @escaping (String) -> Void) async throws {
        if !s.skipCurve { try benchCurve(s, out: out) }
        if !s.skipCalibrate { try benchCalibrate(s, out: out) }
        if !s.skipSimulate {
            out("default simulate (100000 prompts, 4 strategies × 10 budgets × 20 reps):")
            var clock = Stopwatch()
            let setup = try SyntheticSetup.make(n: 100_000, seed: 1, trainGenerations: 500, epochs: 10)
            let t1 = clock.lap()
            let rows = try setup.study.run(CalibrationStudy.Settings())
            let t2 = clock.lap()
            out("  population \(Num.fixed(setup.seconds.population, 2)) s, MLP training \(Num.fixed(setup.seconds.training, 2)) s, "
                + "\(rows.count) calibrations \(Num.fixed(t2, 2)) s (\(ms(t2 / Double(rows.count))) each); total \(Num.fixed(t1 + t2, 2)) s")
        }
        if !s.skipCollect { try await benchCollect(s, out: out) }
    }

    static func benchCurve(_ s: Settings, out: (String) -> Void) throws {
        var rng = SeededRNG(seed: s.seed)
        let pHat = (0..<s.n).map { _ in pow(10, -5 + 3 * rng.uniformOpen()) }
        let p = pHat.map { min(1, $0 * exp(0.5 * rng.normal())) }
        let grid = TauGrid(minLog10: -3, maxLog10: -0.75, count: s.m)
        out("ttu bench — \(s.n) prompts × \(s.m) grid points (simulated data)")
        for strategy in [AllocationStrategy.optimized, .naive] {
            let settings = PlanSettings(strategy: strategy, budget: 1000, maxWeight: 100, tauGrid: grid, seed: s.seed)
            var clock = Stopwatch()
            let plan = try Allocation.plan(pHat: pHat, settings: settings)
            let tPlan = clock.lap()
            var trng = SeededRNG(seed: s.seed ^ 7)
            let (obs, ev) = SimulatedSampling.observe(p: p, cap: plan.cap, rng: &trng)
            let sample = CalibrationSample(strategy: strategy, budget: 1000, pHat: pHat, pi: plan.pi, cap: plan.cap, observed: obs, event: ev)
            let bounds = CandidateBounds(grid: grid, cap: settings.boundCap)
            _ = clock.lap()
            let marginal = try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.1, guarantee: .marginal)
            let tCurve = clock.lap()
            let pac = try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.1, guarantee: .pac(delta: 0.05, bound: .bernstein))
            let tPac = clock.lap()
            let bet = try Calibrator.calibrate(sample, bounds: bounds, alpha: 0.1, guarantee: .pac(delta: 0.05, bound: .betting), seed: s.seed)
            let tBet = clock.lap()
            out("  \(TextTable.pad(strategy.rawValue, 10)) plan \(ms(tPlan)), curve + marginal selection \(ms(tCurve)) (ĵ = \(marginal.tauIndex)), "
                + "+ pac/bernstein \(ms(tPac)) (ĵ = \(pac.tauIndex)), + pac/betting \(ms(tBet)) (ĵ = \(bet.tauIndex))")
            if strategy == .optimized {
                // The dense n×m evaluation the fast curve avoids, timed on a subset and scaled.
                let sub = min(s.n, 50_000)
                _ = clock.lap()
                var dense = [Double](repeating: 0, count: s.m)
                for i in 0..<sub where plan.cap[i] > 0 {
                    for j in 0..<s.m where Double(obs[i]) < bounds.bound(j, pHat: pHat[i]) { dense[j] += 1 / plan.pi![i] }
                }
                let tDense = clock.lap() * Double(s.n) / Double(sub)
                out("    dense n×m loop (extrapolated from \(sub) prompts): \(ms(tDense)) — fast curve is \(Num.fixed(tDense / max(tCurve, 1e-9), 0))× faster")
            }
        }
    }

    static func benchCalibrate(_ s: Settings, out: (String) -> Void) throws {
        let dir = s.calibrateDir ?? NSTemporaryDirectory() + "ttu-bench-calibrate-" + UUID().uuidString
        defer { if s.calibrateDir == nil { try? FileManager.default.removeItem(atPath: dir) } }
        var clock = Stopwatch()
        let files = try CalibrateBenchmark.generate(n: s.calibrateN, levels: s.calibrateLevels, seed: s.seed, dir: dir)
        let tGen = clock.lap()
        let size = { (p: String) in ((try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0) / 1_000_000 }
        out("calibrate, whole process, \(s.calibrateN) prompts × \(s.calibrateLevels) levels (optimized, \(files.sampled) sampled; "
            + "plan.csv \(size(files.plan)) MB, obs.csv \(size(files.observations)) MB, written in \(Num.fixed(tGen, 1)) s):")
        let r = try CalibrateBenchmark.run(files: files, rounds: s.calibrateRounds, ttu: s.ttu ?? CalibrateBenchmark.currentExecutable(),
                                           python: CalibrateBenchmark.which("python3"), reference: s.reference ?? CalibrateBenchmark.defaultReference())
        out("  in-process stages, CPU time (fastest of 5): " + r.stages.map { "\($0.0) \(ms($0.1))" }.joined(separator: ", ") + ")")
        if r.ttuSeconds.isEmpty { return }
        let ttuLine = "  ttu calibrate \(ms(r.ttuMedian)) (median of \(r.ttuSeconds.count): \(r.ttuSeconds.map { ms($0) }.joined(separator: ", "))), tau_index \(r.ttuIndex)"
        if let why = r.referenceSkipped {
            out(ttuLine)
            out("  dense numpy reference not run: \(why)")
        } else {
            out(ttuLine)
            out("  numpy reference \(ms(r.referenceMedian)) (median of \(r.referenceSeconds.count): \(r.referenceSeconds.map { ms($0) }.joined(separator: ", "))), "
                + "tau_index \(r.referenceIndex.map(String.init) ?? "?")" + (r.referenceIndex == r.ttuIndex ? " (same)" : " (DIFFERENT)"))
            out("  ratio numpy / ttu: \(Num.fixed(r.referenceMedian / max(r.ttuMedian, 1e-9), 1))× (medians), "
                + "\(Num.fixed((r.referenceSeconds.min() ?? 0) / max(r.ttuSeconds.min() ?? 1, 1e-9), 1))× (fastest runs)")
        }
    }

    static func benchCollect(_ s: Settings, out: (String) -> Void) async throws {
        out("collect against a loopback stub that answers instantly (concurrency 32):")
        let r = try await CollectBenchmark.run(concurrency: 32, requests: s.collectRequests, cap: 100, rounds: s.collectRounds)
        out("  plain HTTP \(Num.fixed(r.rawPerSecond, 0)) req/s, ttu collect \(Num.fixed(r.collectPerSecond, 0)) generations/s "
            + "(ratio \(Num.fixed(r.ratio, 3))), peak RSS \(Num.fixed(r.peakRSSMB, 0)) MB; medians of \(r.rawRates.count) alternating rounds")
        let rawCPU = CollectBenchmark.median(r.rawCPUMicros), colCPU = CollectBenchmark.median(r.collectCPUMicros)
        out("  process CPU per request: plain HTTP \(Num.fixed(rawCPU, 1)) µs, ttu collect \(Num.fixed(colCPU, 1)) µs "
            + "(raw/collect \(Num.fixed(colCPU > 0 ? rawCPU / colCPU : 0, 3)))")
        if r.rawRates.count > 1 {
            out("  rounds (raw/collect): " + zip(r.rawRates, r.collectRates).map { "\(Num.fixed($0, 0))/\(Num.fixed($1, 0))" }.joined(separator: ", "))
        }
        if s.wrkRounds > 0 { benchCollectVsWrk(s, out: out) }
        for line in AutoConcurrencyBenchmark.table(try await AutoConcurrencyBenchmark.run()) { out("  " + line) }
        let mem = try await CollectBenchmark.memory(generations: s.collectGenerations)
        out("  \(s.collectGenerations) simulated generations with the SQLite log: \(Num.fixed(mem.perSecond, 0)) generations/s, peak RSS \(Num.fixed(mem.peakRSSMB, 0)) MB")
    }

    /// `bench/collect_vs_wrk.py`: wrk, `ttu collect` (this executable) and the aiohttp
    /// sampler in one run against one stub process; its lines are printed as they come.
    static func benchCollectVsWrk(_ s: Settings, out: (String) -> Void) {
        let root = URL(fileURLWithPath: CalibrateBenchmark.defaultReference()).deletingLastPathComponent()
        let script = root.appendingPathComponent("collect_vs_wrk.py").path
        guard CalibrateBenchmark.which("wrk") != nil, let python = CalibrateBenchmark.which("python3"),
              FileManager.default.fileExists(atPath: script) else {
            out("  vs wrk: not run (needs wrk, python3 and \(script)); bench/collect_vs_wrk.sh installs and runs it")
            return
        }
        let venv = root.appendingPathComponent(".venv/bin/python").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script, "--ttu", s.ttu ?? CalibrateBenchmark.currentExecutable(), "--rounds", String(s.wrkRounds),
                       "--python", FileManager.default.isExecutableFile(atPath: venv) ? venv : python]
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { out("  vs wrk: not run (\(error))"); return }
        var pending = Data()
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let nl = pending.firstIndex(of: 0x0A) {
                out("  " + String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...nl)
            }
        }
        p.waitUntilExit()
        if p.terminationStatus != 0 { out("  vs wrk: bench/collect_vs_wrk.py failed (exit \(p.terminationStatus))") }
    }

    static func ms(_ s: Double) -> String { s < 1 ? "\(Num.fixed(s * 1000, 1)) ms" : "\(Num.fixed(s, 2)) s" }
}
