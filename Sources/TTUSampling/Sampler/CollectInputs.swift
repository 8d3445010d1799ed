import Foundation
import TTUCore
import TTUFiles

/// Turns the user's files into the prompts and caps of a run, refusing mismatches.
public enum CollectInputs {
    /// Calibration mode: the plan's prompts with the plan's caps, in plan order.
    /// Every plan id must be in the prompt file. Prompts that are not in the plan are an
    /// error (a different file was probably given) unless `subset` is true, in which case
    /// they are ignored.
    public static func fromPlan(prompts: [PromptRecord], promptsPath: String, planIDs: [String], caps: [Int],
                                planPath: String, subset: Bool) throws -> (prompts: [PromptRecord], caps: [Int]) {
        var byID: [String: Int] = [:]
        byID.reserveCapacity(prompts.count)
        for (k, p) in prompts.enumerated() { byID[p.id] = k }
        var out: [PromptRecord] = []
        out.reserveCapacity(planIDs.count)
        for (row, id) in planIDs.enumerated() {
            guard let k = byID[id] else {
                throw InputError(file: planPath, line: row + 2, field: "id",
                                 "prompt id '\(id)' is not in \(promptsPath)")
            }
            out.append(prompts[k])
        }
        if !subset, prompts.count > planIDs.count {
            let inPlan = Set(planIDs)
            var line = 0
            for p in prompts {
                line += 1
                if !inPlan.contains(p.id) {
                    throw InputError(file: promptsPath, field: "id",
                                     "prompt id '\(p.id)' is not in the plan \(planPath) (\(prompts.count - planIDs.count) prompts are not; pass --subset to ignore them)")
                }
            }
        }
        return (out, caps)
    }

    /// Test-time or training mode: every prompt, `n` generations each at most.
    public static func perPrompt(prompts: [PromptRecord], n: Int) -> (prompts: [PromptRecord], caps: [Int]) {
        (prompts, [Int](repeating: n, count: prompts.count))
    }

    /// What the sample log keeps of a prompt to refuse one whose text changed: its text and
    /// extra (a simulated rate), and a chat prompt's turns with their roles.
    public static func promptDigest(_ p: PromptRecord, extra: String?) -> String {
        var parts = [p.prompt, extra ?? ""]
        if let m = p.messages { parts += m.flatMap { [$0.role, $0.content] } }
        return digest(parts)
    }

    /// A short stable digest (hex) of strings, for the sample log: a prompt whose text or
    /// simulated rate changed, or another word list, is refused without storing the data.
    public static func digest(_ parts: [String]) -> String {
        var h: UInt64 = 0x7475_7564_6967_6573
        for p in parts { h = StableHash.combine(h, StableHash.string(p)) }
        return String(h, radix: 16)
    }
}

extension CollectSummary {
    /// How a collection was made and what it drew, from its result.
    public init(result: CollectResult, generator: String, model: String?, endpoints: [String], rater: String,
                threshold: Double, seed: UInt64, mode: String, db: String) {
        self.init(generator: generator, model: model, endpoints: endpoints, rater: rater, threshold: threshold, seed: seed,
                  mode: mode, db: db, prompts: result.ids.count, complete: result.completeCount,
                  incomplete: result.incomplete.map(\.id), generationsLogged: result.spentTotal,
                  generationsThisRun: result.generationsThisRun, unsafeThisRun: result.unsafeThisRun,
                  plannedBudget: result.planned, overshoot: result.overshoot, retries: result.retries,
                  interrupted: result.interrupted, elapsedSeconds: (result.elapsed * 1000).rounded() / 1000)
    }
}

extension CollectResult {
    /// Writes the observations (or `id,n,k` counts without early stopping) of the complete
    /// prompts to `out`, and `summary` beside it.
    public func write(to out: String, summary: CollectSummary) throws {
        if earlyStop {
            try observations.write(to: out)
        } else {
            try countsCSV().write(to: out)
        }
        try writeAtomically(try encodeJSON(summary), to: CollectSummary.path(for: out))
    }
}
