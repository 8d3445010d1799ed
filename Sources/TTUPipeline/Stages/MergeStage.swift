import Foundation
import TTUCore
import TTUFiles
import TTUSampling

/// Shards collected apart (`ttu collect --shard K/N` on several machines) made one: the
/// observations a single unsharded `ttu collect` would have written, read off the logs
/// without sampling, and optionally the logs combined into one. Generation seeds are per
/// (run seed, prompt id, index), so the result is the unsharded one byte for byte.
public enum MergeStage {
    public struct Settings: Sendable {
        /// The sample logs (one per shard). Same generator, rater and seed; disjoint prompts.
        public var dbs: [String]
        /// Also write the combined log here (a new file).
        public var into: String?
        /// The whole prompt set, as every shard was given it.
        public var prompts: String
        /// Where the prompt file keeps prompt and id, as collect read it.
        public var promptFormat = PromptFormat.standard
        /// Which prompts and caps, as for collect (no shard: all of them).
        public var mode: CollectStage.Mode
        /// Score at or above which a generation is unsafe (the rater's, by default).
        public var threshold: Double = RaterSettings().threshold
        /// Observations `id,cap,observed,event` (or `id,n,k` without early stopping).
        public var out: String
        public var allowIncomplete = false

        public init(dbs: [String], prompts: String, mode: CollectStage.Mode, out: String) {
            (self.dbs, self.prompts, self.mode, self.out) = (dbs, prompts, mode, out)
        }

        public func validate() throws {
            if dbs.isEmpty { throw SettingError("db", "give at least one sample log") }
            try mode.validate()
            try promptFormat.validate()
            if !(threshold.isFinite && threshold >= 0 && threshold <= 1) { throw SettingError("rater.threshold", "must be in [0, 1]") }
        }
    }

    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) throws -> CollectStage.Outcome {
        try s.validate()
        let (logs, identity) = try SampleLog.openForMerge(s.dbs)
        let selected = try CollectStage.selectPrompts(prompts: s.prompts, format: s.promptFormat, mode: s.mode, shard: nil)
        let simulated = identity["generator"] == GeneratorSettings.Kind.simulated.rawValue
        try checkTexts(selected.prompts, logs: logs, simulated: simulated)
        let result = try LoggedOutcomes.compute(logs: logs, ids: selected.prompts.map(\.id), caps: selected.caps,
                                                earlyStop: s.mode.earlyStop, threshold: s.threshold)
        if let into = s.into {
            let n = try SampleLog.merge(s.dbs, into: into)
            console.say("merge: \(n) generations from \(s.dbs.count) log(s) into \(into)")
        }
        let seed = identity["seed"].flatMap { UInt64($0) } ?? 0
        let summary = CollectSummary(result: result, generator: identity["generator"] ?? "unknown", model: identity["model"],
                                     endpoints: simulated ? ["simulated"] : [], rater: identity["rater"] ?? "unknown",
                                     threshold: s.threshold, seed: seed, mode: s.mode.name, db: s.into ?? s.dbs.joined(separator: ","))
        try result.write(to: s.out, summary: summary)
        console.say("merge: \(result.completeCount)/\(result.ids.count) prompts complete from \(s.dbs.count) log(s), "
            + "\(result.spentTotal) generations used\(simulated ? " [SIMULATED generator: not a real model]" : "")")
        console.say("wrote \(s.out) and \(CollectSummary.path(for: s.out))")
        let inc = result.incomplete
        if !inc.isEmpty {
            console.say("merge: \(inc.count) prompt(s) incomplete (not in \(s.out)): a shard is missing or unfinished; finish it with ttu collect and merge again:")
            for (id, reason) in inc.prefix(20) { console.say("  \(id): \(reason)") }
            if inc.count > 20 { console.say("  … and \(inc.count - 20) more") }
            if !s.allowIncomplete { throw StageError.incomplete(count: inc.count) }
        }
        return CollectStage.Outcome(result: result, summary: summary)
    }

    /// A prompt whose text differs from the one the log sampled is refused, as collect
    /// refuses it on resume. A simulated log's digest also holds the prompt's rate, which
    /// the prompt file does not, so there only the id is matched.
    static func checkTexts(_ prompts: [PromptRecord], logs: [SampleLog], simulated: Bool) throws {
        guard !simulated else { return }
        var stored: [String: (digest: String, log: String)] = [:]
        for log in logs { for (id, d) in try log.promptDigests() { stored[id] = (d, log.path) } }
        for p in prompts {
            if let s = stored[p.id], s.digest != CollectInputs.promptDigest(p, extra: nil) {
                throw FatalSamplingError("prompt id '\(p.id)': its text differs from the one \(s.log) sampled; merge with the prompt file the shards were collected from")
            }
        }
    }
}
