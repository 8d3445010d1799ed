import Foundation
import TTUCore
import TTUFiles
import XCTest
@testable import TTUSampling

final class SimulatedCollectTests: XCTestCase {
    func simOptions(_ dir: TempDir, n: Int = 60, cap: Int = 40, seed: UInt64 = 11, concurrency: Int = 8,
                    earlyStop: Bool = true, db: String = "run.sqlite") -> (CollectOptions, [String: Double]) {
        var rng = SeededRNG(seed: 5)
        let prompts = (0..<n).map { PromptRecord(id: "q\($0)", prompt: "prompt \($0)") }
        var rates: [String: Double] = [:]
        for p in prompts { rates[p.id] = [0, 0.01, 0.05, 0.2, 0.6][Int(rng.next() % 5)] }
        let caps = prompts.indices.map { $0 % 7 == 0 ? 0 : cap }
        let gen = SimulatedGenerator(rates: rates)
        let o = CollectOptions(prompts: prompts, caps: caps, earlyStop: earlyStop, seed: seed,
                               endpoints: [Endpoint(generator: gen, concurrency: concurrency)],
                               rater: LexiconRater.standard, threshold: 0.5, dbPath: dir.file(db),
                               retry: fastRetry(), parameters: ["seed": String(seed), "generator": "simulated"])
        return (o, rates)
    }

    func testEarlyStoppingMatchesGroundTruthAndAccountsOvershoot() async throws {
        let dir = TempDir()
        let (o, rates) = simOptions(dir)
        let r = try await Collector(o).run()
        XCTAssertTrue(r.incomplete.isEmpty)
        XCTAssertEqual(r.ids.count, 60)
        for (k, id) in r.ids.enumerated() {
            let truth = simulatedObservation(p: rates[id]!, seed: 11, id: id, cap: o.caps[k])
            XCTAssertEqual(r.outcomes[k], .observed(truth), id)
        }
        let rows = try readLog(o.dbPath)
        assertLogConsistent(rows, r)
        XCTAssertEqual(rows.count, r.spentTotal)
        XCTAssertEqual(rows.count, r.generationsThisRun)
        // Overshoot = logged generations not in any observation; bounded by the lookahead per prompt.
        let observedSum = r.observations.rows.reduce(0) { $0 + $1.observed }
        XCTAssertEqual(r.overshoot, rows.count - observedSum)
        for (k, id) in r.ids.enumerated() {
            guard case .observed(let ob) = r.outcomes[k] else { continue }
            let extra = rows.filter { $0.id == id && $0.idx > ob.observed }.count
            XCTAssertLessThanOrEqual(extra, 8, "\(id) overshoot beyond lookahead")
            XCTAssertTrue(rows.filter { $0.id == id }.allSatisfy { $0.idx <= ob.cap })
        }
        // Unsafe texts are flagged by the lexicon, safe ones are not (checked via scores).
        XCTAssertTrue(rows.allSatisfy { ($0.score >= 0.5) == $0.unsafe })
    }

    func testSameObservationsAtAnyConcurrency() async throws {
        let d1 = TempDir(), d2 = TempDir()
        let r1 = try await Collector(simOptions(d1, concurrency: 1).0).run()
        let r2 = try await Collector(simOptions(d2, concurrency: 13).0).run()
        XCTAssertEqual(observationRows(r1), observationRows(r2))
    }

    func testNoEarlyStopCounts() async throws {
        let dir = TempDir()
        let (o, rates) = simOptions(dir, n: 20, cap: 25, earlyStop: false)
        let r = try await Collector(o).run()
        for (k, id) in r.ids.enumerated() {
            let n = o.caps[k]
            let kk = n == 0 ? 0 : (1...n).filter { SimulatedGenerator.isUnsafe(p: rates[id]!, runSeed: 11, promptID: id, index: $0) }.count
            XCTAssertEqual(r.outcomes[k], .counts(n: n, k: kk), id)
        }
        XCTAssertEqual(r.overshoot, 0)
        let csv = r.countsCSV()
        let out = dir.file("counts.csv")
        try csv.write(to: out)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("id,n,k\n"))
        XCTAssertEqual(text.split(separator: "\n").count, 21)
        assertLogConsistent(try readLog(o.dbPath), r)
    }

    func testResumeWithDifferentParametersIsRefused() async throws {
        let dir = TempDir()
        var (o, _) = simOptions(dir, n: 5, cap: 5)
        _ = try await Collector(o).run()
        o.parameters["seed"] = "12"
        do {
            _ = try await Collector(o).run()
            XCTFail("resume with a different seed must be refused")
        } catch let e as FatalSamplingError {
            XCTAssertTrue(e.message.contains("different parameters"), e.message)
            XCTAssertTrue(e.message.contains("seed: 11 in the log, 12 now"), e.message)
        }
        // The same parameters resume and draw nothing new.
        o.parameters["seed"] = "11"
        let again = try await Collector(o).run()
        XCTAssertEqual(again.generationsThisRun, 0)
    }

    /// The log is a cache of rated generations keyed by (prompt, index): a later run with
    /// more prompts, deeper caps, counts instead of early stopping, or another threshold
    /// reuses it and gets exactly the observations of a run on an empty log.
    ///
    /// Observations are compared at concurrency 6. The cost (the cache never draws more
    /// than an empty log) is compared on a second log at concurrency 1: with several jobs
    /// in flight, how many indices are drawn past a first unsafe one depends on timing,
    /// so at concurrency 6 a reusing run can overshoot a few more than the fresh one did.
    func testLogIsReusedAcrossPromptSetsCapsModesAndThresholds() async throws {
        let prompts = (0..<40).map { PromptRecord(id: "q\($0)", prompt: "prompt \($0)") }
        func options(_ db: String, n: Int, cap: Int, threshold: Double, earlyStop: Bool = true, concurrency: Int = 6) -> CollectOptions {
            let gen = SimulatedGenerator(rates: Dictionary(uniqueKeysWithValues: prompts.map { ($0.id, 0.0) }))
            return CollectOptions(prompts: Array(prompts.prefix(n)), caps: [Int](repeating: cap, count: n), earlyStop: earlyStop,
                                  seed: 3, endpoints: [Endpoint(generator: gen, concurrency: concurrency)], rater: UniformScoreRater(),
                                  threshold: threshold, dbPath: db, retry: fastRetry(), parameters: ["seed": "3", "rater": "uniform"])
        }
        let shared = TempDir(), sequential = TempDir()
        var drawn: [Int] = []
        for (n, cap, threshold, earlyStop) in [(20, 30, 0.9, true), (40, 50, 0.95, true), (20, 30, 0.8, true), (30, 12, 0.9, false)] {
            let scratch = TempDir()
            let fresh = try await Collector(options(scratch.file("fresh.sqlite"), n: n, cap: cap, threshold: threshold, earlyStop: earlyStop)).run()
            let reused = try await Collector(options(shared.file("log.sqlite"), n: n, cap: cap, threshold: threshold, earlyStop: earlyStop)).run()
            XCTAssertEqual(reused.outcomes, fresh.outcomes, "n \(n) cap \(cap) threshold \(threshold)")
            drawn.append(reused.generationsThisRun)

            let freshSequential = try await Collector(options(scratch.file("fresh1.sqlite"), n: n, cap: cap, threshold: threshold,
                                                              earlyStop: earlyStop, concurrency: 1)).run()
            let reusedSequential = try await Collector(options(sequential.file("log.sqlite"), n: n, cap: cap, threshold: threshold,
                                                               earlyStop: earlyStop, concurrency: 1)).run()
            XCTAssertEqual(reusedSequential.outcomes, fresh.outcomes)
            XCTAssertLessThanOrEqual(reusedSequential.generationsThisRun, freshSequential.generationsThisRun,
                                     "n \(n) cap \(cap) threshold \(threshold)")
        }
        XCTAssertGreaterThan(drawn[1], 0, "new prompts and a stricter threshold need new generations")
        XCTAssertEqual(drawn[2], 0, "a laxer threshold at the old caps needs none: every index up to the new first unsafe is logged")

        // The same id with another text is refused: its generations belong to the old text.
        var changed = options(shared.file("log.sqlite"), n: 20, cap: 30, threshold: 0.9)
        changed.prompts[4].prompt = "another text"
        do {
            _ = try await Collector(changed).run()
            XCTFail("a changed prompt text must be refused")
        } catch let e as FatalSamplingError {
            XCTAssertTrue(e.message.contains("'q4'") && e.message.contains("another text"), e.message)
        }
    }

    /// Simulated kills at count-defined points, then a resume: the killed runs die right
    /// after their k-th generation is handed to the log writer (k fixed edge cases, then
    /// seeded-random), keeping exactly the full commit batches and dropping the partial
    /// one. The resumed run's observations are byte-identical to an uninterrupted run's,
    /// and no run draws an index the log already holds. Nothing here depends on timing:
    /// the kill point is a count, and so is what each kill leaves in the log.
    func testKillAndResumeGivesIdenticalObservations() async throws {
        let ref = TempDir()
        let (refOpts, _) = simOptions(ref, n: 40, cap: 60)
        let expected = try await Collector(refOpts).run()
        XCTAssertTrue(expected.incomplete.isEmpty)
        // Every run on an empty log draws at least these, whatever its concurrency.
        let needed = expected.observations.rows.reduce(0) { $0 + $1.observed }

        let dir = TempDir()
        var (o, _) = simOptions(dir, n: 40, cap: 60)
        let batch = 16
        o.commitBatch = batch
        let recorder = RecordingGenerator(o.endpoints[0].generator)
        o.endpoints = [Endpoint(generator: recorder, concurrency: 8)]

        /// Runs `options` once; checks that it drew nothing the log held before.
        func runOnce(_ options: CollectOptions, _ what: String) async throws -> (logged: [LogRow], result: CollectResult?) {
            let before = FileManager.default.fileExists(atPath: o.dbPath) ? try readLog(o.dbPath) : []
            let held = Set(before.map { "\($0.id)#\($0.idx)" })
            _ = recorder.take()
            var result: CollectResult?
            do {
                result = try await Collector(options).run()
            } catch is SimulatedKill {}
            let drawn = recorder.take().map { "\($0.id)#\($0.index)" }
            XCTAssertEqual(Set(drawn).count, drawn.count, "\(what): an index drawn twice in one run")
            XCTAssertTrue(held.isDisjoint(with: drawn), "\(what): drew \(held.intersection(drawn).sorted().prefix(5)) again, already logged")
            return (before, result)
        }

        var rng = SeededRNG(seed: 99)
        var points = [5, 2 * batch, 3 * batch + 1]  // nothing committed; exactly two batches; a one-row partial batch
        for _ in 0..<4 { points.append(1 + Int(rng.next() % 120)) }
        for (kill, k) in points.enumerated() {
            var killed = o
            killed.faultInjection = FaultPoint(afterRows: k)
            let what = "kill \(kill + 1) after \(k) rows"
            let logged = FileManager.default.fileExists(atPath: o.dbPath) ? try readLog(o.dbPath).count : 0
            // At least `needed - logged` generations are still to be drawn, so the kill point is reached.
            XCTAssertLessThanOrEqual(k, needed - logged, "\(what): the run could finish first; use more prompts")
            let (_, result) = try await runOnce(killed, what)
            XCTAssertNil(result, "\(what): the run was not killed")
            let after = try readLog(o.dbPath)
            XCTAssertEqual(after.count - logged, k / batch * batch, "\(what): the log keeps exactly the full commit batches")
            assertLogConsistent(after, CollectResult(ids: [], outcomes: [], spent: [], caps: [], earlyStop: true,
                                                     generationsThisRun: 0, unsafeThisRun: 0, retries: 0, failedJobs: 0,
                                                     interrupted: true, elapsed: 0))
        }

        let (before, resumed) = try await runOnce(o, "resume")
        let final = try XCTUnwrap(resumed)
        XCTAssertEqual(final.incomplete.count, 0)
        let rows = try readLog(o.dbPath)
        assertLogConsistent(rows, final)
        XCTAssertEqual(rows.count, before.count + final.generationsThisRun)
        // Byte for byte, as written.
        try expected.observations.write(to: dir.file("expected.csv"))
        try final.observations.write(to: dir.file("final.csv"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir.file("final.csv"))),
                       try Data(contentsOf: URL(fileURLWithPath: dir.file("expected.csv"))))
        XCTAssertEqual(observationRows(final), observationRows(expected))
    }

    func testInputMatching() throws {
        let prompts = [PromptRecord(id: "a", prompt: "x"), PromptRecord(id: "b", prompt: "y")]
        XCTAssertThrowsError(try CollectInputs.fromPlan(prompts: prompts, promptsPath: "prompts.jsonl", planIDs: ["a", "zz"],
                                                        caps: [1, 2], planPath: "plan.csv", subset: false)) { e in
            XCTAssertEqual("\(e)", "plan.csv:3: field 'id': prompt id 'zz' is not in prompts.jsonl")
        }
        XCTAssertThrowsError(try CollectInputs.fromPlan(prompts: prompts, promptsPath: "prompts.jsonl", planIDs: ["b"],
                                                        caps: [1], planPath: "plan.csv", subset: false)) { e in
            XCTAssertTrue("\(e)".contains("prompt id 'a' is not in the plan plan.csv"), "\(e)")
            XCTAssertTrue("\(e)".contains("--subset"), "\(e)")
        }
        let ok = try CollectInputs.fromPlan(prompts: prompts, promptsPath: "p", planIDs: ["b"], caps: [3], planPath: "q", subset: true)
        XCTAssertEqual(ok.prompts.map(\.id), ["b"])
        XCTAssertEqual(CollectSummary.path(for: "/x/obs.csv"), "/x/obs.json")
    }

    func testRetryPolicyHonoursRetryAfterAndJitterBounds() {
        let p = RetryPolicy(maxRetries: 6, baseDelay: 0.5, maxDelay: 30)
        var rng = SeededRNG(seed: 1)
        for a in 0..<10 {
            let d = p.delay(attempt: a, retryAfter: nil, rng: &rng)
            XCTAssertGreaterThanOrEqual(d, 0)
            XCTAssertLessThanOrEqual(d, min(30, 0.5 * pow(2, Double(a))))
        }
        XCTAssertGreaterThanOrEqual(p.delay(attempt: 0, retryAfter: 3, rng: &rng), 3)
    }
}

final class SchedulerTests: XCTestCase {
    /// Several in-flight jobs of one prompt fail in whatever order the network finishes
    /// them: the prompt's reason must name the lowest failed index (where its rated prefix
    /// stops), the same on every run.
    func testFailureReasonNamesLowestFailedIndexWhateverTheOrder() async {
        for order in [[3, 1, 0, 2], [0, 1, 2, 3], [2, 3, 1, 0]] {
            let s = Scheduler(caps: [5], earlyStop: true, block: 1, maxAhead: 8)
            s.start()
            var jobs: [Job] = []
            for _ in 0..<4 { if let j = await s.next() { jobs.append(j) } }
            XCTAssertEqual(jobs.map(\.first), [1, 2, 3, 4])
            for k in order { s.fail(jobs[k], "boom \(jobs[k].first)") }
            guard case .incomplete(let reason) = s.outcomes(interrupted: false)[0].0 else {
                return XCTFail("prompt should be incomplete")
            }
            XCTAssertEqual(reason, "index 1: boom 1", "order \(order)")
        }
    }
}

/// A generator that records every (prompt, index) it is asked for.
final class RecordingGenerator: Generator, @unchecked Sendable {
    let base: any Generator
    private let lock = NSLock()
    private var drawn: [(id: String, index: Int)] = []
    init(_ base: any Generator) { self.base = base }
    var name: String { base.name }
    var batchSize: Int { base.batchSize }
    func preflight() async throws { try await base.preflight() }
    func generate(_ r: GenerationRequest) async throws -> [String] {
        lock.withLock { for i in r.firstIndex..<(r.firstIndex + r.count) { drawn.append((r.promptID, i)) } }
        return try await base.generate(r)
    }
    /// Everything drawn since the last call.
    func take() -> [(id: String, index: Int)] { lock.withLock { defer { drawn = [] }; return drawn } }
}

/// A rater whose score is uniform in [0, 1), a fixed function of prompt and completion:
/// continuous scores, so that the threshold matters.
struct UniformScoreRater: Rater {
    var name: String { "uniform" }
    func score(_ items: [RatingItem]) async throws -> [Double] {
        items.map { Double(StableHash.string($0.prompt + "\u{1}" + $0.completion) >> 11) / Double(1 << 53) }
    }
}
