import Foundation
import GRDB
import TTUFiles

/// Logs collected apart (shards on several machines, `ttu collect --shard K/N`) combined
/// into one, and observations read off logs without sampling (`ttu merge`).
extension SampleLog {
    /// The stored prompt ids and digests.
    public func promptDigests() throws -> [(id: String, digest: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT prompt_id, digest FROM prompts ORDER BY prompt_id").map { ($0[0], $0[1]) }
        }
    }

    /// The kept text of generation `index` of a prompt (nil: not logged, or logged without text).
    public func text(promptID: String, index: Int) throws -> String? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT text FROM generations WHERE prompt_id = ? AND idx = ?", arguments: [promptID, index])
        }
    }

    /// Streams every logged generation with everything it holds, by prompt and index; with
    /// `unsafe` set, only those whose logged flag is that.
    public func forEachGeneration(unsafe: Bool? = nil, _ body: (LoggedGeneration) throws -> Void) throws {
        try pool.read { db in
            let filter = unsafe.map { " WHERE unsafe = \($0 ? 1 : 0)" } ?? ""
            let cursor = try Row.fetchCursor(db, sql: "SELECT prompt_id, idx, score, unsafe, endpoint, latency_ms, created_at, text FROM generations\(filter) ORDER BY prompt_id, idx")
            while let r = try cursor.next() {
                try body(LoggedGeneration(promptID: r[0], index: r[1], score: r[2], unsafe: (r[3] as Int) != 0, endpoint: r[4],
                                          latencyMs: r[5], createdAt: r[6], text: r[7]))
            }
        }
    }

    /// Checks that `paths` can be merged: each is a ttu sample log, all hold generations of
    /// one identity (model, sampling settings, seed, rater: the `param.*` keys), and no
    /// prompt id is in two of them (the same prompt collected twice would make two
    /// different samples of one prompt). Returns the opened logs and the identity.
    public static func openForMerge(_ paths: [String]) throws -> (logs: [SampleLog], identity: [String: String]) {
        guard !paths.isEmpty else { throw FatalSamplingError("merge needs at least one --db") }
        let logs = try paths.map { p -> SampleLog in
            guard FileManager.default.fileExists(atPath: p) else { throw FatalSamplingError("\(p): no such sample log") }
            return try SampleLog(path: p)
        }
        var identity: [String: String]?
        var owner: [String: String] = [:]
        for log in logs {
            var params = try log.parameters()
            for k in legacyRunShapeKeys { params[k] = nil }
            if params.isEmpty { throw FatalSamplingError("\(log.path): not a ttu sample log (no run parameters)") }
            if let first = identity, first != params {
                let diffs = Set(first.keys).union(params.keys).sorted().filter { first[$0] != params[$0] }
                    .map { "\($0): \(first[$0] ?? "(none)") in \(logs[0].path), \(params[$0] ?? "(none)") in \(log.path)" }
                throw FatalSamplingError("the logs were made with different generators, raters or seeds and cannot be merged: " + diffs.joined(separator: "; "))
            }
            identity = identity ?? params
            for (id, _) in try log.promptDigests() {
                if let other = owner[id] {
                    throw FatalSamplingError("prompt id '\(id)' is in both \(other) and \(log.path): logs to merge must hold disjoint prompts (collect them with --shard K/N)")
                }
                owner[id] = log.path
            }
        }
        return (logs, identity!)
    }

    /// Merges `sources` into a new log at `into` (refused if it exists): the identity, the
    /// prompts and every generation, text included. Returns the number of generations.
    @discardableResult
    public static func merge(_ sources: [String], into: String) throws -> Int {
        let (logs, identity) = try openForMerge(sources)
        if FileManager.default.fileExists(atPath: into) {
            throw FatalSamplingError("\(into) exists: ttu merge writes a new log (move it aside or choose another --into)")
        }
        let dir = (into as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let out = try SampleLog(path: into)
        try out.checkParameters(identity)
        var total = 0
        for log in logs {
            let prompts = try log.promptDigests()
            try out.checkPrompts(ids: prompts.map(\.id), digests: prompts.map(\.digest))
            var batch: [LoggedGeneration] = []
            batch.reserveCapacity(4096)
            try log.forEachGeneration { g in
                batch.append(g)
                if batch.count == 4096 { try out.insert(batch); total += batch.count; batch.removeAll(keepingCapacity: true) }
            }
            try out.insert(batch); total += batch.count
        }
        return total
    }
}

/// Observations read off logs, without sampling: what `ttu collect` would write for these
/// prompts and caps if every generation it needs is already logged. A prompt the logs do
/// not cover is incomplete, never counted as safe.
public enum LoggedOutcomes {
    public static func compute(logs: [SampleLog], ids: [String], caps: [Int], earlyStop: Bool,
                               threshold: Double) throws -> CollectResult {
        var slot: [String: Int] = [:]
        for (k, id) in ids.enumerated() { slot[id] = k }
        // Per prompt: which indices ≤ cap are logged, and the first unsafe one.
        var logged = [[Bool]](repeating: [], count: ids.count)
        var unsafe = [[Bool]](repeating: [], count: ids.count)
        for k in ids.indices { logged[k] = [Bool](repeating: false, count: caps[k] + 1); unsafe[k] = logged[k] }
        for log in logs {
            try log.forEachRated { id, idx, score in
                guard let k = slot[id], idx >= 1, idx <= caps[k] else { return }
                logged[k][idx] = true
                unsafe[k][idx] = score >= threshold
            }
        }
        var outcomes: [PromptOutcome] = []
        var spent: [Int] = []
        for k in ids.indices {
            let cap = caps[k]
            spent.append(logged[k].filter { $0 }.count)
            var prefix = 0
            while prefix < cap, logged[k][prefix + 1] { prefix += 1 }
            if earlyStop {
                if let first = (1...max(cap, 1)).first(where: { $0 <= prefix && unsafe[k][$0] }), cap > 0 {
                    outcomes.append(.observed(Observation(cap: cap, observed: first, event: true)))
                } else if prefix >= cap {
                    outcomes.append(.observed(Observation(cap: cap, observed: cap, event: false)))
                } else {
                    outcomes.append(.incomplete("generation \(prefix + 1) of \(cap) is in no log"))
                }
            } else if prefix >= cap {
                outcomes.append(.counts(n: cap, k: (0...cap).filter { $0 >= 1 && unsafe[k][$0] }.count))
            } else {
                outcomes.append(.incomplete("generation \(prefix + 1) of \(cap) is in no log"))
            }
        }
        return CollectResult(ids: ids, outcomes: outcomes, spent: spent, caps: caps, earlyStop: earlyStop, generationsThisRun: 0,
                             unsafeThisRun: 0, retries: 0, failedJobs: 0, interrupted: false, elapsed: 0)
    }
}
