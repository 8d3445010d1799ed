import Foundation
import TTUCore
import TTUFiles

/// The result of a run: one outcome per prompt (in the order given) and the accounting.
public struct CollectResult: Sendable {
    public var ids: [String]
    public var outcomes: [PromptOutcome]
    /// Logged generations per prompt (all runs), including overshoot past the first unsafe.
    public var spent: [Int]
    public var caps: [Int]
    public var earlyStop: Bool
    public var generationsThisRun: Int
    public var unsafeThisRun: Int
    public var retries: Int
    public var failedJobs: Int
    public var interrupted: Bool
    public var elapsed: Double

    public var incomplete: [(id: String, reason: String)] {
        zip(ids, outcomes).compactMap { id, o in
            if case .incomplete(let r) = o { return (id, r) }
            return nil
        }
    }
    public var completeCount: Int { outcomes.count - incomplete.count }
    public var planned: Int { caps.reduce(0, +) }
    public var spentTotal: Int { spent.reduce(0, +) }

    /// Generations that were logged but are not part of any observation: indices drawn
    /// past a prompt's first unsafe one because they were already in flight.
    public var overshoot: Int {
        var o = 0
        for (k, out) in outcomes.enumerated() {
            switch out {
            case .observed(let ob): o += spent[k] - ob.observed
            case .counts(let n, _): o += spent[k] - n
            case .incomplete: break
            }
        }
        return o
    }

    /// Observations of the complete prompts (`id,cap,observed,event`).
    public var observations: ObservationsFile {
        var f = ObservationsFile()
        for (k, o) in outcomes.enumerated() {
            if case .observed(let ob) = o { f.ids.append(ids[k]); f.rows.append(ob) }
        }
        return f
    }

    /// Training counts of the complete prompts (`id,n,k`).
    public func countsCSV() -> CSVWriter {
        var w = CSVWriter(columns: ["id", "n", "k"])
        for (i, o) in outcomes.enumerated() {
            if case .counts(let n, let k) = o { w.row([ids[i], String(n), String(k)]) }
        }
        return w
    }
}
