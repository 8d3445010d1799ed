import Foundation
import TTUCore
import TTUFiles
import TTUPipeline

/// `ttu calibrate` as a whole process against the dense numpy reference
/// (`bench/dense_reference.py`) on the same files: a plan of n prompts × m levels
/// (`optimized`, simulated p̂) and its simulated observations, one row per prompt.
/// Figures and ratios, never a pass/fail; the two selected indices are printed side by side.
public enum CalibrateBenchmark {
    public struct Files: Sendable {
        public var dir: String
        public var plan: String
        public var observations: String
        public var sampled: Int
    }

    /// Writes `plan.csv` + `plan.json` and `obs.csv` into `dir`: `n` prompts with the
    /// synthetic experiment's mixture of rates (90% on [1e-3, 1e-2], 10% on [1e-5, 1e-4]),
    /// p̂ = p·exp(0.5·N(0, 1)), an `optimized` plan at budget `budget` on an m-level grid,
    /// and observations drawn from the true p (cap-0 rows included, as `ttu observe` writes).
    public static func generate(n: Int, levels: Int, budget: Double = 100, seed: UInt64 = 1, dir: String) throws -> Files {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SeededRNG(seed: seed)
        var p = [Double](), pHat = [Double]()
        p.reserveCapacity(n); pHat.reserveCapacity(n)
        for _ in 0..<n {
            let x = rng.uniformOpen() < 0.9 ? pow(10, -3 + rng.uniformOpen()) : pow(10, -5 + rng.uniformOpen())
            p.append(x)
            pHat.append(min(0.5, x * exp(0.5 * rng.normal())))
        }
        let settings = PlanSettings(strategy: .optimized, budget: budget, maxWeight: 100,
                                    tauGrid: TauGrid(minLog10: -3, maxLog10: -0.75, count: levels), seed: seed)
        let plan = try Allocation.plan(pHat: pHat, settings: settings)
        let ids = (0..<n).map { "prompt-\($0)" }
        let planPath = dir + "/plan.csv", obsPath = dir + "/obs.csv"
        try PlanFile(ids: ids, plan: plan).write(to: planPath)
        var orng = SeededRNG(seed: seed).derived(7)
        let (observed, event) = SimulatedSampling.observe(p: p, cap: plan.cap, rng: &orng)
        let rows = (0..<n).map { Observation(cap: plan.cap[$0], observed: observed[$0], event: event[$0]) }
        try ObservationsFile(ids: ids, rows: rows).write(to: obsPath)
        return Files(dir: dir, plan: planPath, observations: obsPath, sampled: plan.cap.filter { $0 > 0 }.count)
    }

    public struct Result: Sendable {
        public var ttuSeconds: [Double]
        public var referenceSeconds: [Double]
        public var ttuIndex: Int
        public var referenceIndex: Int?
        /// Why the reference did not run (no python3 or numpy, script not found).
        public var referenceSkipped: String?
        /// In-process stage times of one calibrate: reading the plan, the observations, join, curve + selection.
        public var stages: [(String, Double)]
        public var ttuMedian: Double { CollectBenchmark.median(ttuSeconds) }
        public var referenceMedian: Double { CollectBenchmark.median(referenceSeconds) }
    }

    /// Runs `ttu calibrate` (the executable `ttu`) and the reference `rounds` times each,
    /// alternating, on the same files; medians are reported.
    public static func run(files: Files, alpha: Double = 0.1, rounds: Int = 3, stageRepeats: Int = 5, ttu: String, python: String?,
                           reference: String?) throws -> Result {
        var result = Result(ttuSeconds: [], referenceSeconds: [], ttuIndex: -2, referenceIndex: nil, referenceSkipped: nil, stages: [])
        // In-process stage times (what the process spends beyond start-up), in CPU time of
        // this thread (the two-thread read: of the process), the fastest of `stageRepeats`
        // runs of each: wall time on a busy machine mostly measures the other processes.
        var best = [Double](repeating: .infinity, count: 6)
        for _ in 0..<max(1, stageRepeats) {
            var clock = CPUClock()
            let planFile = try PlanFile.read(files.plan)
            let tPlan = clock.lap()
            let obs = try ObservationsFile.read(files.observations, checkDuplicateIDs: false)
            let tObs = clock.lap()
            let sample = try planFile.join(obs, planPath: files.plan, observationsPath: files.observations,
                                           missingIsMiscovered: false)
            let tJoin = clock.lap()
            let settings = planFile.plan.settings
            _ = try Calibrator.calibrate(sample, bounds: CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap),
                                         alpha: alpha, guarantee: .marginal)
            let tCurve = clock.lap()
            let p0 = CollectBenchmark.cpuSeconds()
            _ = try PlanFile.readWithObservations(plan: files.plan, observations: files.observations)
            let tBoth = CollectBenchmark.cpuSeconds() - p0
            _ = clock.lap()
            _ = IDIndex.build(planFile.ids)
            let tIndex = clock.lap()
            for (k, t) in [tPlan, tObs, tJoin, tCurve, tBoth, tIndex].enumerated() { best[k] = min(best[k], t) }
        }
        result.stages = zip(["read plan", "read observations", "join", "curve + selection", "(both files on two threads, CPU of all threads",
                             "plan id index alone"], best).map { ($0, $1) }

        var refCommand: [String]? = nil
        if let python, let reference {
            if !FileManager.default.fileExists(atPath: reference) {
                result.referenceSkipped = "\(reference) not found"
            } else if (try? runProcess(python, ["-c", "import numpy"]))?.status != 0 {
                result.referenceSkipped = "\(python) has no numpy"
            } else {
                refCommand = [python, reference, files.plan, files.observations, String(alpha)]
            }
        } else {
            result.referenceSkipped = "no python3 found"
        }
        let out = files.dir + "/calibration.json"
        for _ in 0..<rounds {
            let r = try runProcess(ttu, ["calibrate", "--plan", files.plan, "--observations", files.observations,
                                         "--alpha", String(alpha), "--out", out])
            guard r.status == 0 else { throw TTUError.invalidArgument("ttu calibrate failed: \(r.output)") }
            result.ttuSeconds.append(r.seconds)
            if let cmd = refCommand {
                let q = try runProcess(cmd[0], Array(cmd.dropFirst()))
                guard q.status == 0 else { throw TTUError.invalidArgument("\(reference!) failed: \(q.output)") }
                result.referenceSeconds.append(q.seconds)
                result.referenceIndex = Int(q.output.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        if rounds > 0 {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
            result.ttuIndex = (json?["tau_index"] as? Int) ?? -2
        }
        return result
    }

    /// Runs `exe args`, waits, and returns its exit status, stdout and wall time.
    public static func runProcess(_ exe: String, _ args: [String]) throws -> (status: Int32, output: String, seconds: Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        let t0 = DispatchTime.now().uptimeNanoseconds
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return (p.terminationStatus, String(decoding: data, as: UTF8.self), seconds)
    }

    /// The first `name` on PATH that is an executable file.
    public static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// This process's executable (`ttu` when run from the CLI).
    /// The `ttu` the benchmarks run as a process: the one beside this `ttu-bench`.
    public static func currentExecutable() -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
        let dir = URL(fileURLWithPath: me).deletingLastPathComponent()
        return dir.appendingPathComponent("ttu").path
    }

    /// `bench/dense_reference.py` of the source tree this was built from, else of the working directory.
    public static func defaultReference() -> String {
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench/dense_reference.py").path
        return FileManager.default.fileExists(atPath: fromSource) ? fromSource : "bench/dense_reference.py"
    }
}

/// CPU time of the calling thread, lap by lap.
struct CPUClock {
    private var last = CPUClock.now()
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    mutating func lap() -> Double {
        let n = CPUClock.now()
        defer { last = n }
        return n - last
    }
}
