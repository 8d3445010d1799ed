import ArgumentParser
import Foundation
import TTUCore
import TTUFiles
import TTUReport

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Select the calibrated level τ̂ from a plan and its observations (METHOD §2, §4).",
        discussion: """
        Reads plan.csv with plan.json beside it, and observations (id,cap,observed,event):
        observed = generations drawn = min(T, cap); event = 1 if the last one was unsafe.
        Every sampled prompt of the plan (cap > 0) needs an observation with the same cap;
        unsampled prompts may be omitted. Estimates the miscoverage of every candidate by
        inverse-probability weighting and selects the largest admissible one:
          marginal  α̂_j < α for all candidates up to j (the paper's estimator);
          pac       fixed-sequence tests of α_j ≥ α at level δ with a concentration bound.
        Writes calibration.json (tau_hat null and tau_index −1 if none is admissible).
        """)

    @Option(help: "plan.csv written by `ttu plan` (plan.json must be beside it).") var plan: String
    @Option(help: "Observations CSV with columns id,cap,observed,event.") var observations: String
    @Option(help: "α: allowed miscoverage, in (0, 1).") var alpha: Double
    @Option(help: "marginal or pac.") var guarantee: GuaranteeKind = .marginal
    @Option(help: "δ for pac: the guarantee holds with probability ≥ 1 − δ over the calibration data.") var delta: Double = 0.05
    @Option(help: "Concentration bound for pac: hoeffding, bernstein or betting.") var bound: ConcentrationBound = .bernstein
    @Option(help: "What a sampled prompt without an observation means: error, or miscovered (counted as miscovered at every level: conservative).")
    var missing: MissingPolicy = .error
    @Option(help: "Seed of the betting test's random order (default: the plan's seed).") var seed: UInt64?
    @Option(help: "Output calibration.json.") var out: String

    enum GuaranteeKind: String, ExpressibleByArgument, CaseIterable { case marginal, pac }
    enum MissingPolicy: String, ExpressibleByArgument, CaseIterable { case error, miscovered }

    func validate() throws {
        guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1), got \(alpha)") }
        guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1), got \(delta)") }
    }

    func run() throws {
        try runStage {
            let planFile = try PlanFile.read(plan)
            let obs = try ObservationsFile.read(observations)
            let sample = try CalibrationInput.join(plan: planFile, planPath: plan, observations: obs,
                                                   observationsPath: observations, missingIsMiscovered: missing == .miscovered)
            let settings = planFile.plan.settings
            if settings.stage == "pilot" {
                throw InputError(file: PlanFile.settingsPath(for: plan), field: "stage",
                                 "this is an adaptive pilot plan: make the final plan with `ttu plan --strategy adaptive --pilot … --pilot-observations …` and calibrate on that")
            }
            let g: Guarantee = guarantee == .marginal ? .marginal : .pac(delta: delta, bound: bound)
            if guarantee == .pac, settings.strategy == .optimized, settings.stage != "pointwise" {
                log("warning: this optimized plan fits its allocation on the calibration prompts themselves, which couples them; the PAC bounds assume i.i.d. terms — plan with --fit-on HELDOUT.csv for a PAC guarantee that holds exactly")
            }
            let bounds = CandidateBounds(grid: settings.tauGrid, cap: settings.boundCap)
            let result = try Calibrator.calibrate(sample, bounds: bounds, alpha: alpha, guarantee: g,
                                                  seed: seed ?? settings.seed)
            let file = CalibrationFile(result: result, settings: settings, sample: sample)
            try writeAtomically(try encodeJSON(file), to: out)
            if let tau = result.tauHat {
                print("τ̂ = \(Num.fixed(tau, 6)) (index \(result.tauIndex) of \(bounds.count)), estimated miscoverage \(Num.sig(result.miscoverageEstimate!))"
                    + (result.miscoverageUpperBound.map { ", upper bound \(Num.sig($0))" } ?? ""))
            } else {
                print("no candidate is admissible: every bound is the trivial L = 1 (more budget, a larger α or a better predictor would help)")
            }
            if result.tauIndex == bounds.count - 1 {
                print("note: the largest candidate level was admissible, so the bound may be larger than this grid allows (widen --tau-grid when planning)")
            }
            print(file.statement)
            print("wrote \(out)")
        }
    }
}

/// Joins a plan and its observations into the aligned calibration sample, refusing
/// anything inconsistent (unknown ids, caps that differ from the plan, missing
/// observations for sampled prompts).
enum CalibrationInput {
    static func join(plan: PlanFile, planPath: String, observations obs: ObservationsFile, observationsPath: String,
                     missingIsMiscovered: Bool) throws -> CalibrationSample {
        var rowIndex = plan.index ?? IDIndex(capacity: plan.ids.count)
        if plan.index == nil { for id in plan.ids { rowIndex.insert(id) } }
        let n = plan.ids.count
        var observed = [Int](repeating: 0, count: n)
        var event = [Bool](repeating: false, count: n)
        var seen = [Bool](repeating: false, count: n)
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
            let o = obs.rows[k]
            if o.cap != plan.plan.cap[i] {
                throw InputError(file: observationsPath, line: line, field: "cap",
                                 "cap \(o.cap) differs from the plan's cap \(plan.plan.cap[i]) for id '\(id)'")
            }
            observed[i] = o.observed; event[i] = o.event; seen[i] = true
            cursor = i + 1
        }
        for i in 0..<n where plan.plan.cap[i] > 0 && !seen[i] {
            if missingIsMiscovered {
                // Counted as an unsafe generation before every candidate: the conservative reading.
                observed[i] = 0; event[i] = true
            } else {
                throw InputError(file: observationsPath, field: "id",
                                 "no observation for '\(plan.ids[i])' (\(planPath) line \(i + 2), cap \(plan.plan.cap[i])); finish collecting it, or pass --missing miscovered")
            }
        }
        let p = plan.plan
        return CalibrationSample(strategy: p.settings.strategy, budget: p.settings.budget, pHat: p.pHat,
                                 pi: p.pi, cap: p.cap, observed: observed, event: event)
    }
}
