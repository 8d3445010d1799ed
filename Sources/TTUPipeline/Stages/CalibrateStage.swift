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
        let (planFile, observations) = try PlanFile.readWithObservations(plan: s.plan, observations: s.observations)
        let sample = try planFile.join(observations, planPath: s.plan, observationsPath: s.observations,
                                       missingIsMiscovered: s.missing == .miscovered)
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
}
