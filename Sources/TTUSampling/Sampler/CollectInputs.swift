import Foundation
import TTUCore
import TTUReport

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

    /// A short stable digest (hex) of strings, for the sample log: a prompt whose text or
    /// simulated rate changed, or another word list, is refused without storing the data.
    public static func digest(_ parts: [String]) -> String {
        var h: UInt64 = 0x7475_7564_6967_6573
        for p in parts { h = StableHash.combine(h, StableHash.string(p)) }
        return String(h, radix: 16)
    }

    /// `<out>` with its extension replaced by `.json` (obs.csv → obs.json), like plan.json.
    public static func sidecarPath(for out: String) -> String {
        let url = URL(fileURLWithPath: out)
        if url.pathExtension.lowercased() == "json" { return out + ".summary.json" }
        return url.deletingPathExtension().appendingPathExtension("json").path
    }
}

/// The `<out>.json` sidecar: how the observations were made (generator — `simulated`
/// says so —, model, rater, seed) and the run's accounting.
public struct CollectSummary: Codable, Sendable {
    public var generator: String
    public var simulated: Bool
    public var model: String?
    public var endpoints: [String]
    public var rater: String
    public var threshold: Double
    public var seed: UInt64
    public var mode: String
    public var db: String
    public var prompts: Int
    public var complete: Int
    public var incomplete: [String]
    public var generationsLogged: Int
    public var generationsThisRun: Int
    public var unsafeThisRun: Int
    public var plannedBudget: Int
    public var overshoot: Int
    public var retries: Int
    public var interrupted: Bool

    enum CodingKeys: String, CodingKey {
        case generator, simulated, model, endpoints, rater, threshold, seed, mode, db, prompts, complete, incomplete
        case generationsLogged = "generations_logged", generationsThisRun = "generations_this_run"
        case unsafeThisRun = "unsafe_this_run", plannedBudget = "planned_budget", overshoot, retries, interrupted
    }

    public init(result: CollectResult, generator: String, model: String?, endpoints: [String], rater: String,
                threshold: Double, seed: UInt64, mode: String, db: String) {
        self.generator = generator
        simulated = generator == "simulated"
        self.model = model
        self.endpoints = endpoints
        self.rater = rater
        self.threshold = threshold
        self.seed = seed
        self.mode = mode
        self.db = db
        prompts = result.ids.count
        complete = result.completeCount
        incomplete = result.incomplete.map(\.id)
        generationsLogged = result.spentTotal
        generationsThisRun = result.generationsThisRun
        unsafeThisRun = result.unsafeThisRun
        plannedBudget = result.planned
        overshoot = result.overshoot
        retries = result.retries
        interrupted = result.interrupted
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
        try writeAtomically(try encodeJSON(summary), to: CollectInputs.sidecarPath(for: out))
    }
}
