import Foundation
import TTUCore
import TTUFiles

/// A testing seam (internal, reached with `@testable import TTUSampling`): where a
/// simulated kill -9 stops a collection run, defined by a count and never by time.
///
/// With `CollectOptions.faultInjection` set, the sample log commits on a count-defined
/// schedule (exactly `commitBatch` rows per commit, in the order workers hand rows to the
/// log writer; no 200 ms timed commit), and the run dies right after the `append` that
/// brings the rows handed to the writer in this run to `afterRows` or more (with `n` = 1,
/// exactly after the `afterRows`-th generation):
/// - the log then holds exactly ⌊handed / commitBatch⌋ · commitBatch rows of this run —
///   the full batches; the partial batch is dropped, as a kill would drop it;
/// - nothing handed over later is logged, no job is issued any more, no final progress is
///   reported, and `Collector.run()` throws `SimulatedKill` instead of returning a result
///   (a killed process returns none).
/// If the run finishes before that many rows are handed over, nothing happens: it commits
/// everything and returns normally. Which rows make up the first `afterRows` depends on
/// the order of completions, so on scheduling at a concurrency above 1; how many does not.
struct FaultPoint: Sendable, Equatable {
    /// Rows handed to the log writer in this run at which the run dies (≥ 1).
    var afterRows: Int
    init(afterRows: Int) {
        precondition(afterRows >= 1)
        self.afterRows = afterRows
    }
}

/// Thrown by `Collector.run()` when the `FaultPoint` of a test was reached.
struct SimulatedKill: Error, CustomStringConvertible {
    var afterRows: Int
    var description: String { "simulated kill after \(afterRows) rows handed to the log writer" }
}
