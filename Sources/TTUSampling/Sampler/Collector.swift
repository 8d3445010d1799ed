import Foundation
import TTUCore
import TTUFiles

/// Runs the early-stopping budgeted sampler: feeds (prompt, index) jobs to the
/// endpoints' workers, rates every generation, logs it, and resumes from the log.
public final class Collector: @unchecked Sendable {
    public let options: CollectOptions
    private let retryLock = NSLock()
    private var retries = 0

    public init(_ options: CollectOptions) throws {
        precondition(options.prompts.count == options.caps.count)
        guard !options.endpoints.isEmpty else { throw FatalSamplingError("no endpoint to generate with") }
        let b = options.endpoints[0].generator.batchSize
        guard options.endpoints.allSatisfy({ $0.generator.batchSize == b }) else {
            throw FatalSamplingError("all endpoints must use the same n (choices per request)")
        }
        self.options = options
    }

    private var lastRetryReason: String?

    private func noteRetry(_ error: Error) {
        retryLock.lock(); retries += 1; lastRetryReason = "\(error)"; retryLock.unlock()
    }
    private var retryCount: Int { retryLock.lock(); defer { retryLock.unlock() }; return retries }
    private var retryReason: String? { retryLock.lock(); defer { retryLock.unlock() }; return lastRetryReason }

    /// Every distinct endpoint and the rater, once, before anything is drawn.
    private func preflight() async throws {
        var seen = Set<String>()
        for e in options.endpoints where seen.insert(e.generator.name).inserted {
            try await e.generator.preflight()
        }
        try await options.rater.preflight()
    }

    /// Runs to completion (or until the calling task is cancelled: then in-flight work is
    /// abandoned, everything rated is committed, and `interrupted` is true).
    public func run() async throws -> CollectResult {
        let log = try openAndCheckLog()
        try await preflight()
        let sched = try preloadScheduler(from: log)
        let writer = makeWriter(log, stopping: sched)
        let start = Date()
        let progressTask = startProgressReporter(sched, start: start)
        await runWorkers(sched: sched, writer: writer)
        progressTask?.cancel()
        return try finish(sched: sched, writer: writer, interrupted: Task.isCancelled, start: start)
    }

    /// Opens (or creates) the sample log and checks that it holds generations of this
    /// run's identity and of these prompts' texts.
    func openAndCheckLog() throws -> SampleLog {
        let o = options
        let log = try SampleLog(path: o.dbPath)
        try log.checkParameters(o.parameters)
        try log.checkPrompts(ids: o.prompts.map(\.id), digests: o.prompts.indices.map { k in
            CollectInputs.promptDigest(o.prompts[k], extra: o.promptExtras?[k])
        })
        return log
    }

    /// The scheduler, fed every logged rating of this run's prompts and started: what the
    /// log holds is never drawn again.
    /// (The batch backend's rounds: `maxAhead` per round, a growing window, and each logged
    /// (slot, index) of this run's prompts handed to `onRated`.)
    func preloadScheduler(from log: SampleLog, maxAhead: Int? = nil, growAhead: Bool = false,
                          onRated: ((Int, Int) -> Void)? = nil) throws -> Scheduler {
        let o = options
        let sched = Scheduler(caps: o.caps, earlyStop: o.earlyStop, block: o.endpoints[0].generator.batchSize,
                              maxAhead: maxAhead ?? o.lookahead ?? totalConcurrency)
        sched.growAhead = growAhead
        sched.maxConsecutiveFailures = max(50, 4 * totalConcurrency)
        var slotOf: [String: Int] = [:]
        slotOf.reserveCapacity(o.prompts.count)
        for (k, p) in o.prompts.enumerated() { slotOf[p.id] = k }
        // Unsafe at this run's threshold: the log may have been drawn at another one.
        try log.forEachRated { id, idx, score in
            if let s = slotOf[id] {
                sched.preload(slot: s, index: idx, unsafe: score >= o.threshold)
                onRated?(s, idx)
            }
        }
        sched.start()
        return sched
    }

    /// Workers over all endpoints.
    private var totalConcurrency: Int { options.endpoints.reduce(0) { $0 + max(1, $1.concurrency) } }

    /// The log writer; with a fault point, on the count-defined schedule, stopping the
    /// scheduler when the point is reached.
    private func makeWriter(_ log: SampleLog, stopping sched: Scheduler) -> LogWriter {
        guard let fault = options.faultInjection else { return LogWriter(log: log, batchSize: options.commitBatch) }
        return LogWriter(log: log, batchSize: options.commitBatch, interval: nil, killAfterRows: fault.afterRows,
                         onKill: { sched.stop() })
    }

    /// Reports progress every `progressInterval` seconds until cancelled (nil without a
    /// progress callback).
    private func startProgressReporter(_ sched: Scheduler, start: Date) -> Task<Void, Never>? {
        let o = options
        let planned = o.caps.reduce(0, +)
        return o.progress.map { report in
            Task.detached {
                var stabilizer = CollectProgress.EstimateStabilizer()
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: UInt64(o.progressInterval * 1e9))
                    if Task.isCancelled { break }
                    let s = sched.snapshot()
                    let elapsed = Date().timeIntervalSince(start)
                    let rate = elapsed > 0 ? Double(s.ratedThisRun) / elapsed : 0
                    var p = CollectProgress(promptsDone: s.done, promptsTotal: s.total, generationsThisRun: s.ratedThisRun,
                                            generationsPerSecond: rate, unsafeFound: s.unsafeThisRun, spent: s.spentTotal,
                                            planned: planned, failures: s.failures, retries: self.retryCount,
                                            elapsed: elapsed, lastRetry: self.retryReason)
                    (p.unsafeLogged, p.remainingAtMost) = (s.unsafeLogged, s.remainingAtMost)
                    p.eta = stabilizer.update(remaining: s.remainingAtMost, rate: rate, elapsed: elapsed)
                    let limiters = o.endpoints.compactMap(\.limiter)
                    if !limiters.isEmpty { p.adaptiveConcurrency = limiters.map(\.current) }
                    report(p)
                }
            }
        }
    }

    /// Runs every endpoint's workers until the scheduler has nothing left (or the calling
    /// task is cancelled, which stops the scheduler).
    private func runWorkers(sched: Scheduler, writer: LogWriter) async {
        let o = options
        let prompts = o.prompts
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                var workerID: UInt64 = 0
                for ep in o.endpoints {
                    for _ in 0..<max(1, ep.concurrency) {
                        workerID += 1
                        let rngSeed = StableHash.combine(o.seed, 0x5745_5254 &+ workerID)
                        let work = { @Sendable in
                            await self.worker(ep.generator, limiter: ep.limiter, sched: sched, writer: writer, prompts: prompts,
                                              rng: SeededRNG(seed: rngSeed))
                        }
                        if #available(macOS 15.0, *) {
                            // Workers spread over the event loops (one per core): see EventLoopExecutor.
                            let loops = EventLoopExecutor.shared
                            group.addTask(executorPreference: loops[Int(workerID) % loops.count], operation: work)
                        } else {
                            group.addTask(operation: work)
                        }
                    }
                }
            }
        } onCancel: {
            sched.stop()
        }
    }

    /// Commits the log, then accounts: outcomes, the final progress report, the result.
    private func finish(sched: Scheduler, writer: LogWriter, interrupted: Bool, start: Date) throws -> CollectResult {
        let o = options
        if writer.wasKilled {
            // A simulated kill -9: the full batches are committed, the rest is lost, and
            // the dead process reports nothing.
            try writer.close()
            throw SimulatedKill(afterRows: o.faultInjection?.afterRows ?? 0)
        }
        try writer.close()
        if let f = sched.fatal { throw f }
        let outs = sched.outcomes(interrupted: interrupted)
        let snap = sched.snapshot()
        if let last = o.progress {
            let el = Date().timeIntervalSince(start)
            var p = CollectProgress(promptsDone: snap.done, promptsTotal: snap.total, generationsThisRun: snap.ratedThisRun,
                                    generationsPerSecond: el > 0 ? Double(snap.ratedThisRun) / el : 0,
                                    unsafeFound: snap.unsafeThisRun, spent: snap.spentTotal, planned: o.caps.reduce(0, +),
                                    failures: snap.failures, retries: retryCount, elapsed: el, lastRetry: retryReason)
            (p.unsafeLogged, p.remainingAtMost) = (snap.unsafeLogged, snap.remainingAtMost)
            last(p)
        }
        return CollectResult(ids: o.prompts.map(\.id), outcomes: outs.map(\.0), spent: outs.map(\.spent), caps: o.caps,
                             earlyStop: o.earlyStop, generationsThisRun: snap.ratedThisRun,
                             unsafeThisRun: snap.unsafeThisRun, retries: retryCount, failedJobs: snap.failures,
                             interrupted: interrupted, elapsed: Date().timeIntervalSince(start))
    }

    private func worker(_ gen: any Generator, limiter: ConcurrencyLimiter?, sched: Scheduler, writer: LogWriter,
                        prompts: [PromptRecord], rng: SeededRNG) async {
        var rng = rng
        let o = options
        while let job = await sched.next() {
            // The permit is taken after the job, never held while waiting for one: a worker
            // waiting in the scheduler for in-flight jobs must not hold the permit one of
            // those jobs needs to retry (that would deadlock).
            let permit = await limiter?.acquire()
            let p = prompts[job.slot]
            let request = GenerationRequest(promptID: p.id, prompt: p.prompt, messages: p.messages, firstIndex: job.first,
                                            count: job.count, runSeed: o.seed)
            do {
                var latency = 0.0
                var permit = permit
                // Whatever ends this job (cancellation before the first attempt included)
                // gives a permit still held back, so no worker waits for it forever.
                defer { if let limiter, let p = permit { limiter.release(p, overload: nil) } }
                let texts: [String] = try await withRetries(o.retry, rng: &rng, onRetry: { self.noteRetry($0) }) {
                    if permit == nil, let limiter { permit = await limiter.acquire() }
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let t: [String]
                    do {
                        t = try await gen.generate(request)
                    } catch {
                        // The retry waits without the permit; an overload lowers the limit.
                        if let limiter, let p = permit { limiter.release(p, overload: (error as? TransientError)?.overload) }
                        permit = nil
                        throw error
                    }
                    if let limiter, let p = permit { limiter.release(p, overload: nil); permit = nil }
                    latency = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                    guard t.count == job.count else {
                        throw TransientError("\(gen.name): \(t.count) generations for a request of \(job.count)")
                    }
                    return t
                }
                let items = job.wanted.map { RatingItem(prompt: p.prompt, completion: texts[$0 - job.first]) }
                let scores: [Double] = try await withRetries(o.retry, rng: &rng, onRetry: { self.noteRetry($0) }) {
                    let s = try await o.rater.score(items)
                    guard s.count == items.count else {
                        throw TransientError("\(o.rater.name): \(s.count) scores for \(items.count) texts")
                    }
                    guard s.allSatisfy({ $0.isFinite }) else { throw TransientError("\(o.rater.name): non-finite score") }
                    return s
                }
                let now = Date().timeIntervalSince1970
                var rows: [LoggedGeneration] = []
                rows.reserveCapacity(items.count)
                var unsafe: [Bool] = []
                unsafe.reserveCapacity(items.count)
                for (k, i) in job.wanted.enumerated() {
                    let u = scores[k] >= o.threshold
                    unsafe.append(u)
                    rows.append(LoggedGeneration(promptID: p.id, index: i, score: scores[k], unsafe: u,
                                                 endpoint: gen.name, latencyMs: latency, createdAt: now,
                                                 text: o.storeText ? items[k].completion : nil))
                }
                if Task.isCancelled { return }
                // Log before the scheduler may declare the prompt complete.
                try writer.append(rows)
                sched.complete(job, unsafe: unsafe)
            } catch is CancellationError {
                return
            } catch let e as FatalSamplingError {
                sched.stop(fatal: e)
                return
            } catch {
                if Task.isCancelled { return }
                if error is FatalSamplingError { sched.stop(fatal: error); return }
                sched.fail(job, "\(error)")
            }
        }
    }
}
