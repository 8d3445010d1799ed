import Foundation
import TTUCore
import TTUFiles

/// Progress figures, reported about once a second.
public struct CollectProgress: Sendable {
    public var promptsDone: Int
    public var promptsTotal: Int
    public var generationsThisRun: Int
    /// This run's generations per second, averaged over the run (steadier than a
    /// per-second rate on a server that batches).
    public var generationsPerSecond: Double
    /// Unsafe generations found this run.
    public var unsafeFound: Int
    /// Unsafe generations within the caps in the log, a resumed log's included.
    public var unsafeLogged: Int = 0
    /// Generations in the log (this run and earlier ones).
    public var spent: Int
    /// Σ caps: the most the run could draw.
    public var planned: Int
    /// The most still to draw now: unrated indices up to the caps of unfinished prompts
    /// (early stopping usually draws fewer). nil: not known.
    public var remainingAtMost: Int? = nil
    public var failures: Int
    public var retries: Int
    public var elapsed: Double
    /// Why the most recent retry happened (a URL and an error; never a credential).
    public var lastRetry: String? = nil
    /// The estimated time left, shown only once it is stable (see `EstimateStabilizer`).
    public var eta: Double? = nil
    /// With `--concurrency auto`: the current limit of every endpoint.
    public var adaptiveConcurrency: [Int]? = nil

    /// One line for stderr: the share done first, since a terminal may cut the line.
    public var line: String {
        let rate = generationsPerSecond
        var s = "collect: "
        // Done against what will be drawn at most from here (not against Σ caps, which early
        // stopping never reaches): 100 % exactly when nothing is left to draw.
        if let left = remainingAtMost, spent + left > 0 {
            s += String(format: "%.1f%% done, ", 100 * Double(spent) / Double(spent + left))
        }
        s += "\(promptsDone)/\(promptsTotal) prompts done, \(generationsThisRun) generations this run"
        s += String(format: " (%.1f/s)", rate)
        s += ", \(unsafeLogged) unsafe" + (unsafeLogged != unsafeFound ? " (\(unsafeFound) this run)" : "")
        s += ", budget \(spent)/\(planned)"
        if retries > 0 {
            s += ", \(retries) retries"
            if let r = lastRetry { s += " (last: " + (r.count > 160 ? r.prefix(160) + "…" : r) + ")" }
        }
        if failures > 0 { s += ", \(failures) failed" }
        if let c = adaptiveConcurrency { s += ", concurrency " + c.map(String.init).joined(separator: "+") + " (auto)" }
        if let eta, (remainingAtMost ?? planned - spent) > 0, promptsDone < promptsTotal { s += ", ETA ≤ " + CollectProgress.duration(eta) }
        return s
    }

    /// The time left at most (the budget not yet spent at this run's rate) once the
    /// estimate is stable: at least 20 s into the run and the last three estimates within
    /// 25% of each other; nil before.
    struct EstimateStabilizer {
        private var recent: [Double] = []
        mutating func update(remaining: Int, rate: Double, elapsed: Double) -> Double? {
            guard rate > 0, remaining > 0 else { recent.removeAll(); return nil }
            let e = Double(remaining) / rate
            recent.append(e)
            if recent.count > 3 { recent.removeFirst() }
            guard elapsed >= 20, recent.count == 3, let lo = recent.min(), let hi = recent.max(), hi <= 1.25 * lo else { return nil }
            return e
        }
    }

    static func duration(_ t: Double) -> String {
        if !t.isFinite || t > 99 * 3600 { return ">99h" }
        let s = Int(t.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
