import Foundation

/// How the batch backend runs its rounds (`CollectOptions` says what to collect).
public struct BatchOptions: Sendable {
    /// Generations per prompt in its first round. Each later round may ask a prompt for as
    /// many generations as it has rated safe so far (the window doubles), so a prompt that
    /// stays safe up to its cap c takes about log2(c / chunk) + 1 rounds, and a prompt's
    /// generations past its first unsafe one (paid for, not part of the observation) are
    /// at most `chunk − 1` or the count rated before them.
    public var chunk: Int
    /// Seconds between status polls of a submitted batch.
    public var pollInterval: Double
    /// Offline (`vllm run-batch`): the folder of the request and results files; nil: the
    /// Batch API at the generator's endpoint.
    public var offlineDir: String?
    /// Online: where each round's request, output and error files are kept (default:
    /// `<db>.batch/`), so a bad line can be named by file and line.
    public var workDir: String?
    /// Rounds of this run a request may fail in (error line, missing line, failed or
    /// expired batch, rating failure) before its prompt is reported incomplete (a rerun
    /// tries it again).
    public var maxAttempts: Int
    /// Most requests in one batch (OpenAI's limit: 50,000); a round that would ask for
    /// more asks for the first this many (round-robin over prompts, so every prompt's next
    /// block comes first) and leaves the rest to the next round.
    public var maxRequests: Int
    /// Waits between polls (tests pass one that returns at once: no wall-clock sleeps).
    public var sleep: @Sendable (Double) async throws -> Void
    /// Progress lines for people (round submitted, polled, ingested).
    public var note: (@Sendable (String) -> Void)?
    /// Testing seam (internal, `@testable import`): a simulated kill -9 right after the
    /// `afterSubmits`-th batch submit of this run is recorded in the log, before it is
    /// polled or ingested. nil in every real run.
    var faultInjection: BatchFaultPoint? = nil

    public init(chunk: Int = 8, pollInterval: Double = 30, offlineDir: String? = nil, workDir: String? = nil, maxAttempts: Int = 3,
                maxRequests: Int = 50_000,
                sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64(max(0, $0) * 1e9)) },
                note: (@Sendable (String) -> Void)? = nil) {
        precondition(chunk >= 1 && maxAttempts >= 1 && maxRequests >= 1)
        self.maxRequests = maxRequests
        self.chunk = chunk
        self.pollInterval = pollInterval
        self.offlineDir = offlineDir
        self.workDir = workDir
        self.maxAttempts = maxAttempts
        self.sleep = sleep
        self.note = note
    }
}

/// Where a simulated kill stops a batch collection: right after the `afterSubmits`-th
/// submit of the run is recorded (batch id in the log), defined by a count, never by time.
struct BatchFaultPoint: Sendable, Equatable {
    var afterSubmits: Int
}

/// Thrown by `BatchCollector.run()` when its `BatchFaultPoint` was reached.
struct SimulatedBatchKill: Error, CustomStringConvertible {
    var afterSubmits: Int
    var description: String { "simulated kill after \(afterSubmits) batch submit(s) recorded" }
}

/// Offline mode: a round's request file is written and waits for `vllm run-batch`.
/// Not a failure: run the command, then rerun the same `ttu` command to ingest the results.
public struct BatchPending: Error, CustomStringConvertible, Sendable {
    public var round: Int
    public var requests: Int
    public var requestFile: String
    public var resultsFile: String
    public var model: String
    /// The command that answers the round.
    public var command: String {
        "vllm run-batch -i \(Self.shellQuote(requestFile)) -o \(Self.shellQuote(resultsFile)) --model \(Self.shellQuote(model))"
    }
    public var description: String {
        "batch round \(round): \(requests) requests in \(requestFile) wait for an offline run. Run\n  \(command)\n"
            + "then rerun this same ttu command: it ingests \(resultsFile), rates it and writes the next round (or finishes)."
    }
    static func shellQuote(_ s: String) -> String {
        s.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+=:@".contains($0) }) ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
