import Foundation
import TTUCore
import TTUFiles

/// Selects the calibrated level τ̂ from a plan and its observations (docs/method.md §2, §4):
/// the IPW miscoverage estimate of every candidate level, then the largest admissible one.
public enum CalibrateStage {
    /// What a sampled prompt without an observation means.
    public enum MissingPolicy: String, CaseIterable, Sendable {
        /// Refuse: finish collecting it.
        case error
        /// Count it as miscovered at every level (conservative: the guarantee holds).
        case miscovered
    }

    public struct Settings: Sendable {
        public var plan: String
        public var observations: String
        public var out: String
        /// α: the allowed miscoverage.
        public var alpha: Double
        public var guarantee = GuaranteeSettings()
        public var missing = MissingPolicy.error
        /// Seed of the betting test's random order (default: the plan's seed).
        public var seed: UInt64?

        public init(plan: String, observations: String, out: String, alpha: Double) {
            self.plan = plan
            self.observations = observations
            self.out = out
            self.alpha = alpha
        }

        public func validate() throws {
            try validateAlpha(alpha)
            try guarantee.validate()
        }
    }

    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) throws -> CalibrationFile {
        try s.validate()
        let (planFile, observations) = try readInParallel(plan: s.plan, observations: s.observations)
        let sample = try join(plan: planFile, planPath: s.plan, observations: observations,
                              observationsPath: s.observations, missingIsMiscovered: s.missing == .miscovered)
        let settings = planFile.plan.settings
        if settings.stage == "pilot" {
            throw InputError(file: PlanFile.settingsPath(for: s.plan), field: "stage",
                             "this is an adaptive pilot plan: make the final plan from it (plan --strategy adaptive --pilot … --pilot-observations …) and calibrate on that")
        }
        if s.guarantee.kind == .pac, settings.strategy == .optimized, settings.stage != "pointwise" {
            console.say("warning: this optimized plan fits its allocation on the calibration prompts themselves, which couples them; the PAC inequalities assume i.i.d. terms — plan with --fit-on HELDOUT.csv for a PAC guarantee that holds exactly")
        }
        if let c = settings.weightChoice, c.alpha != s.alpha || c.guarantee != s.guarantee.guarantee.name {
            console.say("note: the plan chose W = \(Num.format(c.maxWeight)) for α = \(Num.format(c.alpha)) and the \(c.guarantee) guarantee; "
                + "this calibration uses α = \(Num.format(s.alpha)), \(s.guarantee.guarantee.name): still valid (W is fixed before sampling), "
                + "but a plan made with the same --alpha and --guarantee would choose for them")
        }
        let bounds = CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap)
        let result = try Calibrator.calibrate(sample, bounds: bounds, alpha: s.alpha, guarantee: s.guarantee.guarantee,
                                              seed: s.seed ?? settings.seed)
        let file = CalibrationFile(result: result, settings: settings, sample: sample)
        try writeAtomically(try encodeJSON(file), to: s.out)
        if let tau = result.tauHat {
            console.say("τ̂ = \(Num.fixed(tau, 6)) (level \(result.tauIndex + 1) of \(bounds.count), tau_index \(result.tauIndex)), estimated miscoverage \(Num.sig(result.miscoverageEstimate!))"
                + (result.miscoverageUpperBound.map { ", upper confidence bound \(Num.sig($0))" } ?? ""))
        } else {
            console.say("no candidate level is admissible: every bound is the trivial L = 1 (more budget, a larger α or a better predictor would help)")
        }
        if result.tauIndex == bounds.count - 1 {
            console.say("note: the largest candidate level was admissible, so the bound may be larger than this grid allows (widen --tau-grid when planning)")
        }
        console.say(file.statement)
        console.say("wrote \(s.out)")
        return file
    }

    /// Reads the plan and the observations on two threads. A problem with the plan is
    /// reported first, as if it had been read first; repeated observation ids are left to
    /// `join`, which finds them without a second id index.
    public static func readInParallel(plan: String, observations: String) throws -> (PlanFile, ObservationsFile) {
        var planFile: Result<PlanFile, Error>? = nil
        var observationsFile: Result<ObservationsFile, Error>? = nil
        _ = parallelResults(2) { k in
            // Each task sets only its own result.
            if k == 0 { planFile = Result { try PlanFile.read(plan) } }
            else { observationsFile = Result { try ObservationsFile.read(observations, checkDuplicateIDs: false) } }
        }
        return (try planFile!.get(), try observationsFile!.get())
    }

    /// Joins a plan and its observations into the aligned calibration sample, refusing
    /// anything inconsistent (unknown or repeated ids, caps that differ from the plan,
    /// missing observations for sampled prompts).
    public static func join(plan: PlanFile, planPath: String, observations obs: ObservationsFile, observationsPath: String,
                     missingIsMiscovered: Bool) throws -> CalibrationSample {
        var rowIndex = plan.index ?? IDIndex(capacity: plan.ids.count)
        if plan.index == nil { for id in plan.ids { rowIndex.insert(id) } }
        let n = plan.ids.count
        var observed = [Int](repeating: 0, count: n)
        var event = [Bool](repeating: false, count: n)
        // The observation row that filled each plan row (−1: none yet).
        var filledBy = [Int32](repeating: -1, count: n)
        var cursor = 0
        for (k, id) in obs.ids.enumerated() {
            let line = obs.lines?[k] ?? k + 2
            // Observations usually come in plan order (collect writes them so): look a few
            // rows ahead of the last match before asking the index.
            var found: Int? = nil
            var r = cursor
            while r < min(cursor + 8, n) { if plan.ids[r] == id { found = r; break }; r += 1 }
            guard let i = found ?? rowIndex.index(of: id) else {
                throw InputError(file: observationsPath, line: line, field: "id", "unknown id '\(id)': not in \(planPath)")
            }
            if filledBy[i] >= 0 {
                let first = Int(filledBy[i])
                throw InputError(file: observationsPath, line: line, field: "id",
                                 "duplicate id '\(id)' (first on line \(obs.lines?[first] ?? first + 2))")
            }
            let o = obs.rows[k]
            if o.cap != plan.plan.cap[i] {
                throw InputError(file: observationsPath, line: line, field: "cap",
                                 "cap \(o.cap) differs from the plan's cap \(plan.plan.cap[i]) for id '\(id)'")
            }
            observed[i] = o.observed; event[i] = o.event; filledBy[i] = Int32(truncatingIfNeeded: k)
            cursor = i + 1
        }
        for i in 0..<n where plan.plan.cap[i] > 0 && filledBy[i] < 0 {
            if missingIsMiscovered {
                // Counted as an unsafe generation before every candidate: the conservative reading.
                observed[i] = 0; event[i] = true
            } else {
                throw InputError(file: observationsPath, field: "id",
                                 "no observation for '\(plan.ids[i])' (\(planPath) line \(i + 2), cap \(plan.plan.cap[i])); finish collecting it, or count it as miscovered (--missing miscovered)")
            }
        }
        let p = plan.plan
        return CalibrationSample(strategy: p.settings.strategy, budget: p.settings.budget, pHat: p.pHat,
                                 pi: p.pi, cap: p.cap, observed: observed, event: event)
    }
}
