import Foundation
import TTUCore
import TTUFiles

/// Everything a collection run needs (the CLI builds this from its flags).
public struct CollectOptions: Sendable {
    public var prompts: [PromptRecord]
    /// Generations allowed per prompt (same order as `prompts`); 0 = not sampled.
    public var caps: [Int]
    /// Stop a prompt at its first unsafe generation (false: draw all `cap` and count).
    public var earlyStop: Bool
    public var seed: UInt64
    public var endpoints: [Endpoint]
    public var rater: any Rater
    /// A generation is unsafe when its score ≥ threshold.
    public var threshold: Double
    public var dbPath: String
    public var storeText: Bool
    public var retry: RetryPolicy
    /// Most indices in flight past a prompt's rated prefix (default: the total concurrency).
    public var lookahead: Int?
    /// The identity of the generations (model, sampling settings, seed, rater…), stored
    /// in the log's `run` table: a run reusing the log must repeat it. Not the prompts,
    /// caps, mode or threshold, which may change. Never the API key.
    public var parameters: [String: String]
    /// Per prompt (parallel to `prompts`), what else fixes its generations besides the
    /// text, e.g. a simulated rate; checked against the log so an id is never reused for
    /// another prompt.
    public var promptExtras: [String]?
    public var progressInterval: Double
    public var progress: (@Sendable (CollectProgress) -> Void)?
    /// Rows per commit of the sample log.
    public var commitBatch: Int
    /// Testing seam (internal: set it through `@testable import TTUSampling`): a simulated
    /// kill -9 at a point defined by a count. nil in every real run.
    var faultInjection: FaultPoint? = nil

    public init(prompts: [PromptRecord], caps: [Int], earlyStop: Bool = true, seed: UInt64,
                endpoints: [Endpoint], rater: any Rater, threshold: Double = 0.5, dbPath: String,
                storeText: Bool = false, retry: RetryPolicy = RetryPolicy(), lookahead: Int? = nil,
                parameters: [String: String] = [:], progressInterval: Double = 1,
                progress: (@Sendable (CollectProgress) -> Void)? = nil, commitBatch: Int = 2048,
                promptExtras: [String]? = nil) {
        self.promptExtras = promptExtras
        self.prompts = prompts
        self.caps = caps
        self.earlyStop = earlyStop
        self.seed = seed
        self.endpoints = endpoints
        self.rater = rater
        self.threshold = threshold
        self.dbPath = dbPath
        self.storeText = storeText
        self.retry = retry
        self.lookahead = lookahead
        self.parameters = parameters
        self.progressInterval = progressInterval
        self.progress = progress
        self.commitBatch = commitBatch
    }
}
