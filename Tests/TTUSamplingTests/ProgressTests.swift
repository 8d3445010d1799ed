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
