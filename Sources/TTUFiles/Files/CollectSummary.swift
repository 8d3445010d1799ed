import Foundation

/// The `<out>.json` sidecar that `ttu collect` writes beside its observations: how they were
/// made (generator — `simulated` says so —, model, rater, seed) and the run's accounting.
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
    /// Wall-clock seconds of this run's sampling (rate = generations_this_run / this).
    public var elapsedSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case generator, simulated, model, endpoints, rater, threshold, seed, mode, db, prompts, complete, incomplete
        case generationsLogged = "generations_logged", generationsThisRun = "generations_this_run"
        case unsafeThisRun = "unsafe_this_run", plannedBudget = "planned_budget", overshoot, retries, interrupted
        case elapsedSeconds = "elapsed_seconds"
    }

    public init(generator: String, model: String?, endpoints: [String], rater: String, threshold: Double, seed: UInt64,
                mode: String, db: String, prompts: Int, complete: Int, incomplete: [String], generationsLogged: Int,
                generationsThisRun: Int, unsafeThisRun: Int, plannedBudget: Int, overshoot: Int, retries: Int,
                interrupted: Bool, elapsedSeconds: Double? = nil) {
        self.generator = generator
        simulated = generator == "simulated"
        self.model = model
        self.endpoints = endpoints
        self.rater = rater
        self.threshold = threshold
        self.seed = seed
        self.mode = mode
        self.db = db
        self.prompts = prompts
        self.complete = complete
        self.incomplete = incomplete
        self.generationsLogged = generationsLogged
        self.generationsThisRun = generationsThisRun
        self.unsafeThisRun = unsafeThisRun
        self.plannedBudget = plannedBudget
        self.overshoot = overshoot
        self.retries = retries
        self.interrupted = interrupted
        self.elapsedSeconds = elapsedSeconds
    }

    /// `<out>` with its extension replaced by `.json` (obs.csv → obs.json), like plan.json.
    public static func path(for out: String) -> String {
        let url = URL(fileURLWithPath: out)
        if url.pathExtension.lowercased() == "json" { return out + ".summary.json" }
        return url.deletingPathExtension().appendingPathExtension("json").path
    }
}
