import Foundation
import TTUFiles

/// A unit of work: the aligned block of generations `first ..< first + count` of one
/// prompt; `wanted` are the indices in it still to be rated (the others are already in
/// the log, or beyond the cap, and are dropped).
struct Job: Sendable {
    let slot: Int
    let first: Int
    let count: Int
    let wanted: [Int]
}

/// What became of one prompt.
public enum PromptOutcome: Sendable, Equatable {
    /// Early stopping: `observed` generations drawn, `event` iff the last was unsafe.
    case observed(Observation)
    /// `--no-early-stop`: `n` generations, `k` of them unsafe.
    case counts(n: Int, k: Int)
    /// Could not be finished in this run (retries exhausted, interrupted, stopped).
    case incomplete(String)
}

/// The early-stopping sampler's bookkeeping: which indices each prompt still needs,
/// which are in flight, and when a prompt is complete.
///
/// A prompt's observation is read only from the contiguous prefix of rated indices
/// `1…prefix`: it is complete when an unsafe index `j` has all of `1…j` rated
/// (observed `j`, event 1) or all of `1…cap` are rated safe (observed `cap`, event 0).
/// Ratings beyond the prefix wait in `ahead`. With concurrency, indices past the first
/// unsafe one may already be in flight; they are logged (spent budget) but never change
/// the observation.
///
/// Scheduling is round-robin over prompts, each allowed at most `maxAhead` indices past
/// its rated prefix, so early stopping wastes little and work spreads over prompts.
final class Scheduler: @unchecked Sendable {
    struct State {
        var cap: Int
        var prefix = 0
        var nextBlock = 0
        var unsafeInPrefix = 0
        var firstUnsafe = Int.max
        var ahead: [Int: Bool] = [:]
        var inFlight = 0
        var spent = 0
        var failure: String?
        var failureIndex = Int.max
        var outcome: PromptOutcome?
        var inQueue = false
    }

    private let lock = NSLock()
    private var states: [State]
    let earlyStop: Bool
    let block: Int
    let maxAhead: Int
    private var queue: [Int32] = []
    private var head = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var totalInFlight = 0
    private var stopped = false
    private(set) var fatal: Error?

    // Counters (read through `snapshot`).
    private(set) var done = 0
    private var ratedThisRun = 0
    private var unsafeThisRun = 0
    /// Unsafe ratings within the caps in the log, this run's and a resumed log's.
    private var unsafeLogged = 0
    private var spentTotal = 0
    private var failures = 0
    private var consecutiveFailures = 0
    /// Give up on the whole run after this many jobs in a row failed (a dead endpoint).
    var maxConsecutiveFailures = 50
    /// The batch backend's window: a prompt may run `max(maxAhead, prefix)` indices past its
    /// rated prefix, so the window doubles with every round a prompt stays safe.
    var growAhead = false

    init(caps: [Int], earlyStop: Bool, block: Int, maxAhead: Int) {
        states = caps.map { State(cap: $0) }
        self.earlyStop = earlyStop
        self.block = max(1, block)
        self.maxAhead = max(maxAhead, self.block)
    }

    var count: Int { states.count }

    // MARK: - resume

    /// Feeds one logged rating (before `start`).
    func preload(slot: Int, index: Int, unsafe: Bool) {
        guard index >= 1, index <= states[slot].cap else { return }
        spentTotal += 1
        if unsafe { unsafeLogged += 1 }
        record(slot, index, unsafe)
    }

    /// Call once after preloading: settles completed prompts and queues the rest.
    func start() {
        lock.lock(); defer { lock.unlock() }
        for s in states.indices {
            states[s].nextBlock = states[s].prefix / block
            settle(s)
            if issuable(s) { enqueue(s) }
        }
    }

    // MARK: - state transitions (lock held)

    private func limit(_ s: Int) -> Int {
        earlyStop ? min(states[s].cap, states[s].firstUnsafe) : states[s].cap
    }

    private func record(_ s: Int, _ i: Int, _ unsafe: Bool) {
        if unsafe, i < states[s].firstUnsafe { states[s].firstUnsafe = i }
        states[s].spent += 1
        if states[s].outcome != nil { return }
        if i == states[s].prefix + 1 {
            states[s].prefix = i
            if unsafe { states[s].unsafeInPrefix += 1 }
            while !states[s].ahead.isEmpty, let u = states[s].ahead.removeValue(forKey: states[s].prefix + 1) {
                states[s].prefix += 1
                if u { states[s].unsafeInPrefix += 1 }
            }
        } else if i > states[s].prefix {
            states[s].ahead[i] = unsafe
        }
    }

    private func settle(_ s: Int) {
        guard states[s].outcome == nil else { return }
        let st = states[s]
        var outcome: PromptOutcome?
        if earlyStop {
            if st.firstUnsafe <= st.cap, st.prefix >= st.firstUnsafe {
                outcome = .observed(Observation(cap: st.cap, observed: st.firstUnsafe, event: true))
            } else if st.prefix >= st.cap {
                outcome = .observed(Observation(cap: st.cap, observed: st.cap, event: false))
            }
        } else if st.prefix >= st.cap {
            outcome = .counts(n: st.cap, k: st.unsafeInPrefix)
        }
        if let outcome {
            states[s].outcome = outcome
            states[s].ahead = [:]
            done += 1
        }
    }

    /// Whether index `i` of prompt `s` (below `lim`) still needs a rating.
    @inline(__always)
    private func needed(_ s: Int, _ i: Int, _ lim: Int) -> Bool {
        i <= lim && i > states[s].prefix && (states[s].ahead.isEmpty || states[s].ahead[i] == nil)
    }

    /// The first index of the first block at or after `nextBlock` that holds an index
    /// still needed (`nextBlock` moves past blocks that hold none). Allocates nothing:
    /// it runs several times per job.
    private func candidate(_ s: Int) -> Int? {
        let lim = limit(s)
        while true {
            let first = states[s].nextBlock * block + 1
            if first > lim { return nil }
            for i in first..<(first + block) where needed(s, i, lim) { return first }
            states[s].nextBlock += 1
        }
    }

    private func issuable(_ s: Int) -> Bool {
        if states[s].outcome != nil || states[s].failure != nil || stopped { return false }
        guard let first = candidate(s) else { return false }
        let window = growAhead ? max(maxAhead, states[s].prefix) : maxAhead
        return first - states[s].prefix <= window
    }

    private func enqueue(_ s: Int) {
        states[s].inQueue = true
        if head > 4096, head * 2 > queue.count {
            queue.removeFirst(head); head = 0
        }
        queue.append(Int32(s))
    }

    private func takeLocked() -> Job? {
        while head < queue.count {
            let s = Int(queue[head]); head += 1
            states[s].inQueue = false
            guard issuable(s), let first = candidate(s) else { continue }
            let lim = limit(s)
            let wanted = (first..<(first + block)).filter { needed(s, $0, lim) }
            states[s].nextBlock += 1
            states[s].inFlight += 1
            totalInFlight += 1
            if issuable(s) {
                if earlyStop {
                    enqueue(s)
                } else {
                    // Counts (no early stop): keep drawing this prompt first, so prompts
                    // complete one after another and "prompts done" moves during the run
                    // (round-robin would finish them all at the very end). Every index is
                    // needed, so the order changes no result, only when prompts finish.
                    enqueueFirst(s)
                }
            }
            return Job(slot: s, first: first, count: block, wanted: wanted)
        }
        return nil
    }

    private func wakeLocked() -> [CheckedContinuation<Void, Never>] {
        if waiters.isEmpty { return [] }
        if head < queue.count || totalInFlight == 0 || stopped {
            let w = waiters; waiters.removeAll(); return w
        }
        return []
    }

    // MARK: - API for workers

    /// The next job, or nil when there is nothing left to do (or the run stopped).
    func next() async -> Job? {
        enum Step { case job(Job), finished([CheckedContinuation<Void, Never>]), wait }
        while true {
            let step: Step = lock.withLock {
                if stopped { return .finished([]) }
                if let j = takeLocked() { return .job(j) }
                if totalInFlight == 0 {
                    let w = waiters; waiters.removeAll()
                    return .finished(w)
                }
                return .wait
            }
            switch step {
            case .job(let j): return j
            case .finished(let w): w.forEach { $0.resume() }; return nil
            case .wait:
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = lock.withLock {
                        if stopped || head < queue.count || totalInFlight == 0 { return true }
                        waiters.append(c)
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            }
        }
    }

    /// Every job issuable now, without waiting: the batch backend's round.
    func takeAll() -> [Job] {
        lock.lock(); defer { lock.unlock() }
        var out: [Job] = []
        while let j = takeLocked() { out.append(j) }
        return out
    }

    /// The job's wanted indices were rated: `unsafe[k]` is for `job.wanted[k]`.
    func complete(_ job: Job, unsafe: [Bool]) {
        lock.lock()
        let s = job.slot
        for (k, i) in job.wanted.enumerated() {
            record(s, i, unsafe[k])
            ratedThisRun += 1
            spentTotal += 1
            if unsafe[k] { unsafeThisRun += 1; unsafeLogged += 1 }
        }
        states[s].inFlight -= 1
        totalInFlight -= 1
        consecutiveFailures = 0
        settle(s)
        if !states[s].inQueue, issuable(s) {
            if earlyStop {
                enqueue(s)
            } else {
                // Counts: a started prompt that may draw again goes first, not behind every
                // prompt not yet started, so prompts finish one after another even when more
                // requests are in flight than a prompt may have ahead of its rated prefix.
                enqueueFirst(s)
            }
        }
        let w = wakeLocked()
        lock.unlock()
        w.forEach { $0.resume() }
    }

    private func enqueueFirst(_ s: Int) {
        states[s].inQueue = true
        if head > 0 { head -= 1; queue[head] = Int32(s) } else { queue.insert(Int32(s), at: 0) }
    }

    /// The job could not be done (retries exhausted).
    func fail(_ job: Job, _ message: String) {
        lock.lock()
        let s = job.slot
        states[s].inFlight -= 1
        totalInFlight -= 1
        failures += 1
        consecutiveFailures += 1
        if consecutiveFailures >= maxConsecutiveFailures, fatal == nil {
            stopped = true
            fatal = FatalSamplingError("giving up: \(consecutiveFailures) requests in a row failed after all retries "
                + "(last: \(message)). Everything rated so far is saved; fix the endpoint and rerun the same command to resume.")
        }
        // A failure past the first unsafe index is only lost overshoot. Of several failed
        // jobs the reason names the lowest index (where the rated prefix stops), not the
        // one that happened to fail first: the report must not depend on timing.
        if states[s].outcome == nil, job.wanted.contains(where: { $0 <= limit(s) }),
           job.first < states[s].failureIndex {
            states[s].failureIndex = job.first
            states[s].failure = "index \(job.first): \(message)"
        }
        let w = wakeLocked()
        lock.unlock()
        w.forEach { $0.resume() }
    }

    /// Stops handing out jobs (Ctrl-C, fatal error). In-flight jobs may still report.
    func stop(fatal error: Error? = nil) {
        lock.lock()
        stopped = true
        if self.fatal == nil, let error { self.fatal = error }
        let w = waiters; waiters.removeAll()
        lock.unlock()
        w.forEach { $0.resume() }
    }

    // MARK: - reporting

    struct Snapshot: Sendable {
        var done: Int
        var total: Int
        var ratedThisRun: Int
        var unsafeThisRun: Int
        var unsafeLogged: Int
        var spentTotal: Int
        var failures: Int
        var inFlight: Int
        /// The most still to draw: the unrated indices up to the caps of unfinished prompts.
        var remainingAtMost: Int = 0
    }

    /// Whether a job can be handed out now (tests drive the scheduler without waiting).
    var hasIssuable: Bool {
        lock.lock(); defer { lock.unlock() }
        return queue[head...].contains { issuable(Int($0)) }
    }

    func snapshot() -> Snapshot {
        lock.lock(); defer { lock.unlock() }
        var remaining = 0
        for st in states where st.outcome == nil && st.failure == nil {
            remaining += max(0, st.cap - st.prefix - st.ahead.count)
        }
        return Snapshot(done: done, total: states.count, ratedThisRun: ratedThisRun, unsafeThisRun: unsafeThisRun,
                        unsafeLogged: unsafeLogged, spentTotal: spentTotal, failures: failures, inFlight: totalInFlight,
                        remainingAtMost: remaining)
    }

    /// Final outcome per prompt, plus the generations spent on it (logged rows).
    func outcomes(interrupted: Bool) -> [(PromptOutcome, spent: Int)] {
        lock.lock(); defer { lock.unlock() }
        return states.map { st in
            if let o = st.outcome { return (o, st.spent) }
            if let f = st.failure { return (.incomplete(f), st.spent) }
            return (.incomplete(interrupted ? "interrupted at \(st.prefix) of \(st.cap) rated" : "stopped at \(st.prefix) of \(st.cap) rated"), st.spent)
        }
    }
}
