import XCTest
@testable import TTUSampling

/// What the progress line says: prompts done move in every mode, unsafe counts include a
/// resumed log, and the ETA appears only once it is stable.
final class ProgressTests: XCTestCase {
    /// Drains a scheduler one job at a time (as one worker would), rating every index safe.
    func drain(_ sched: Scheduler, doneAfterEachJob: inout [Int]) async {
        while let job = await sched.next() {
            sched.complete(job, unsafe: job.wanted.map { _ in false })
            doneAfterEachJob.append(sched.snapshot().done)
        }
    }

    func testCountsModeCompletesPromptsOneAfterAnother() async {
        let sched = Scheduler(caps: [5, 5, 5, 5], earlyStop: false, block: 1, maxAhead: 8)
        sched.start()
        var done: [Int] = []
        await drain(sched, doneAfterEachJob: &done)
        XCTAssertEqual(done.count, 20)
        // Round-robin would finish all four prompts in the last four jobs.
        XCTAssertEqual(done[4], 1, "\(done)")
        XCTAssertEqual(done[9], 2, "\(done)")
        XCTAssertEqual(done.last, 4)
    }

    /// 16 requests in flight, a prompt allowed 16 past its rated prefix, caps of 20: a started
    /// prompt whose prefix moves must be served before prompts not yet started, or dozens of
    /// prompts sit at 16 of 20 (as a real two-server training collection showed).
    func testCountsModeFinishesPromptsInOrderWithManyInFlight() async {
        let sched = Scheduler(caps: Array(repeating: 20, count: 40), earlyStop: false, block: 1, maxAhead: 16)
        sched.start()
        var inFlight: [Job] = []
        var started = Set<Int>(), mostOpen = 0, jobs = 0
        while true {
            while inFlight.count < 16, sched.snapshot().inFlight == inFlight.count, let j = await nextIfAny(sched) {
                inFlight.append(j); started.insert(j.slot)
            }
            guard !inFlight.isEmpty else { break }
            let j = inFlight.removeFirst()  // the oldest request answers first
            sched.complete(j, unsafe: j.wanted.map { _ in false })
            jobs += 1
            mostOpen = max(mostOpen, started.count - sched.snapshot().done)
        }
        XCTAssertEqual(jobs, 800)
        XCTAssertEqual(sched.snapshot().done, 40)
        XCTAssertLessThanOrEqual(mostOpen, 3, "prompts started but unfinished at once")
    }

    /// The next job, or nil when none can be issued now (without waiting for completions).
    func nextIfAny(_ sched: Scheduler) async -> Job? {
        sched.snapshot().inFlight < 16 && sched.hasIssuable ? await sched.next() : nil
    }

    func testProgressPercentIsAgainstWhatIsLeftToDraw() {
        var p = CollectProgress(promptsDone: 60, promptsTotal: 60, generationsThisRun: 488, generationsPerSecond: 100, unsafeFound: 49,
                                spent: 488, planned: 1200, failures: 0, retries: 0, elapsed: 5)
        p.remainingAtMost = 0
        XCTAssertTrue(p.line.hasPrefix("collect: 100.0% done, 60/60 prompts done") && p.line.contains("budget 488/1200"), p.line)
        p.remainingAtMost = 488
        XCTAssertTrue(p.line.contains("50.0% done"), p.line)
        let sched = Scheduler(caps: [10, 10], earlyStop: true, block: 1, maxAhead: 4)
        sched.preload(slot: 0, index: 1, unsafe: true)
        sched.preload(slot: 1, index: 1, unsafe: false)
        sched.preload(slot: 1, index: 3, unsafe: false)
        sched.start()
        XCTAssertEqual(sched.snapshot().remainingAtMost, 8, "prompt 0 is done; prompt 1 has 1 and 3 of 10 rated")
    }

    func testUnsafeCountIncludesTheResumedLog() {
        let sched = Scheduler(caps: [10, 10], earlyStop: true, block: 1, maxAhead: 4)
        sched.preload(slot: 0, index: 1, unsafe: false)
        sched.preload(slot: 0, index: 2, unsafe: true)
        sched.preload(slot: 1, index: 1, unsafe: true)
        sched.start()
        let s = sched.snapshot()
        XCTAssertEqual(s.unsafeLogged, 2)
        XCTAssertEqual(s.unsafeThisRun, 0)
        XCTAssertEqual(s.done, 2)
        var p = CollectProgress(promptsDone: 2, promptsTotal: 2, generationsThisRun: 0, generationsPerSecond: 0, unsafeFound: 0,
                                spent: 3, planned: 20, failures: 0, retries: 0, elapsed: 1)
        p.unsafeLogged = s.unsafeLogged
        XCTAssertTrue(p.line.contains("2 unsafe (0 this run)"), p.line)
    }

    func testETAIsShownOnlyOnceStable() {
        var e = CollectProgress.EstimateStabilizer()
        // Early in the run: never, however steady.
        XCTAssertNil(e.update(remaining: 1000, rate: 10, elapsed: 5))
        XCTAssertNil(e.update(remaining: 990, rate: 10, elapsed: 6))
        XCTAssertNil(e.update(remaining: 980, rate: 10, elapsed: 7))
        // Past 20 s but swinging (100 s, 570 s): not yet.
        XCTAssertNil(e.update(remaining: 970, rate: 1.7, elapsed: 21))
        // Three estimates within 25% of each other: shown.
        XCTAssertNil(e.update(remaining: 960, rate: 9, elapsed: 22))
        XCTAssertNil(e.update(remaining: 950, rate: 9.5, elapsed: 23))
        XCTAssertEqual(e.update(remaining: 940, rate: 9.4, elapsed: 24)!, 100, accuracy: 1e-9)
    }
}
