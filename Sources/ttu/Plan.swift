import ArgumentParser
import Foundation
import TTUCore
import TTUFiles
import TTUReport

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Allocate the calibration budget over prompts (METHOD §3).",
        discussion: """
        Reads predictions (id,p_hat) and writes plan.csv (id,p_hat,prior_quantile,pi,cap) and
        plan.json beside it. `cap` is the number of generations to draw for the prompt
        (0 = not sampled); for naive it is the prompt's Geometric(1/B) draw. `pi` is the
        sampling probability (empty for naive). `prior_quantile` is q_m(x), the largest
        candidate bound (capped at M = ⌊B·W⌋ for trimmed/optimized; `inf` when p_hat = 0
        and nothing caps it). The draw is reproducible from --seed.

        adaptive (two stages, beyond the paper) is planned in two steps:
          1. ttu plan --strategy adaptive --predictions cal.csv --budget B --out pilot.csv
             → a pilot on a random 20% of the prompts; collect it (ttu collect --plan pilot.csv).
          2. ttu plan --strategy adaptive --predictions cal.csv --budget B --alpha A
                      --pilot pilot.csv --pilot-observations pilot_obs.csv --out plan.csv
             → the final plan for the other prompts, with W, the cap level and the allocation
             chosen from the pilot; collect it and calibrate on it alone (pilot prompts are
             never reused, so the guarantee does not depend on the pilot).
        The budget B covers both stages: the final stage gets what the pilot left.
        """)

    @Option(help: "Predictions CSV with columns id,p_hat.") var predictions: String
    @Option(help: "B: expected generations per calibration prompt (> 0).") var budget: Double
    @Option(help: "Allocation strategy: naive, basic, trimmed or optimized.") var strategy: AllocationStrategy
    @Option(name: .customLong("max-weight"), help: "W: largest inverse-probability weight (π ≥ 1/W); the bound cap is ⌊B·W⌋.")
    var maxWeight: Double = 100
    @Option(help: "Seed of the sampling draw.") var seed: UInt64 = 1
    @Option(name: .customLong("tau-grid"), help: "Candidate levels: MINLOG10,MAXLOG10,COUNT (log-spaced).")
    var tauGrid: TauGridArgument = TauGridArgument(grid: .default)
    @Option(name: .customLong("fit-on"), help: "optimized: fit the allocation on these held-out predictions (id,p_hat; e.g. the training prompts') and apply it pointwise, so the weighted terms are i.i.d. as --guarantee pac assumes.")
    var fitOn: String?
    @Option(help: "adaptive, second step: the pilot plan written by the first step.") var pilot: String?
    @Option(name: .customLong("pilot-observations"), help: "adaptive, second step: the pilot's observations (id,cap,observed,event).")
    var pilotObservations: String?
    @Option(help: "adaptive, second step: the α the final stage will be calibrated at (the pilot chooses W for it).")
    var alpha: Double = 0.1
    @Option(help: "Output plan.csv (plan.json is written beside it).") var out: String

    func validate() throws {
        guard budget.isFinite, budget > 0 else {
            throw ValidationError("--budget must be a positive number of generations per prompt, got \(budget)")
        }
        guard maxWeight.isFinite, maxWeight >= 1 else { throw ValidationError("--max-weight must be ≥ 1, got \(maxWeight)") }
    }

    func run() throws {
        try runStage {
            let preds = try Predictions.read(predictions)
            if strategy == .adaptive { return try planAdaptive(preds) }
            let settings = PlanSettings(strategy: strategy, budget: budget, maxWeight: maxWeight,
                                        tauGrid: tauGrid.grid, seed: seed)
            var plan: CalibrationPlan
            if let fitOn {
                guard strategy == .optimized else { throw ValidationError("--fit-on applies to the optimized strategy") }
                plan = try Allocation.pointwisePlan(pHat: preds.pHat, heldOutPHat: try Predictions.read(fitOn).pHat, settings: settings)
                plan.settings.stage = "pointwise"
            } else {
                plan = try Allocation.plan(pHat: preds.pHat, settings: settings)
            }
            try PlanFile(ids: preds.ids, plan: plan).write(to: out)
            let sampled = plan.cap.filter { $0 > 0 }.count
            let planned = Double(plan.plannedGenerations)
            print("plan: \(strategy.rawValue), B = \(Num.format(budget)), \(plan.count) prompts, \(sampled) sampled, "
                + "at most \(Int(planned)) generations (\(Num.fixed(planned / Double(plan.count), 1)) per prompt)"
                + (settings.maxLPB.map { ", bounds capped at \(Num.format($0))" } ?? ""))
            if let note = Self.gridLimitNote(pHat: preds.pHat, settings: settings) { print(note) }
            print("wrote \(out) and \(PlanFile.settingsPath(for: out))")
        }
    }
}

extension Plan {
    /// A note when the grid's largest level, not the budget, limits most bounds: for more
    /// than half of the prompts Q(τ_m; p̂) is below the cap M = ⌊B·W⌋, so no calibration can
    /// give them a bound as large as the budget allows (e.g. τ_m = 10^−0.75 and p̂ ≈ 0.02
    /// give at most 10 whatever B is).
    static func gridLimitNote(pHat: [Double], settings: PlanSettings) -> String? {
        guard let m = settings.maxLPB, !pHat.isEmpty else { return nil }
        let tauMax = settings.tauGrid.taus.last!
        let limited = pHat.filter { Geometric.quantile(tauMax, p: $0) < m }.count
        guard 2 * limited > pHat.count else { return nil }
        let sorted = pHat.sorted()
        let median = Geometric.quantile(tauMax, p: sorted[sorted.count / 2])
        return "note: for \(limited) of \(pHat.count) prompts the grid's largest level τ = \(Num.fixed(tauMax, 3)) gives a bound below "
            + "the cap \(Num.format(m)) (median \(Num.format(median))): the grid, not the budget, limits their bounds — "
            + "widen the grid (e.g. --tau-grid=-3,-0.05,300) to let them grow with B"
    }
}

extension AllocationStrategy: ExpressibleByArgument {}
extension ConcentrationBound: ExpressibleByArgument {}

/// `MINLOG10,MAXLOG10,COUNT` on the command line.
struct TauGridArgument: ExpressibleByArgument {
    var grid: TauGrid
    init(grid: TauGrid) { self.grid = grid }
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 3, let a = Double(parts[0]), let b = Double(parts[1]), let c = Int(parts[2]) else { return nil }
        let g = TauGrid(minLog10: a, maxLog10: b, count: c)
        guard (try? g.validate()) != nil else { return nil }
        grid = g
    }
    var defaultValueDescription: String { "\(grid.minLog10),\(grid.maxLog10),\(grid.count)" }
}

extension Plan {
    /// The two steps of the adaptive strategy (see the command's discussion).
    func planAdaptive(_ preds: Predictions) throws {
        let twoStage = TwoStage.Settings()
        guard let pilotPath = pilot else {
            guard pilotObservations == nil else { throw ValidationError("--pilot-observations needs --pilot") }
            let rows = TwoStage.pilotRows(count: preds.ids.count, fraction: twoStage.pilotFraction, seed: seed)
            var plan = try TwoStage.pilotPlan(pHat: rows.map { preds.pHat[$0] }, budget: budget, grid: tauGrid.grid,
                                              settings: twoStage, seed: seed)
            plan.settings.stage = "pilot"
            plan.settings.totalPrompts = preds.ids.count
            plan.settings.twoStage = twoStage
            try PlanFile(ids: rows.map { preds.ids[$0] }, plan: plan).write(to: out)
            print("adaptive, step 1 of 2: pilot of \(rows.count) of \(preds.ids.count) prompts, \(plan.cap.filter { $0 > 0 }.count) sampled, "
                + "at most \(plan.plannedGenerations) generations")
            print("wrote \(out) and \(PlanFile.settingsPath(for: out)); collect it, then rerun with --pilot \(out) --pilot-observations OBS.csv")
            return
        }
        guard let obsPath = pilotObservations else { throw ValidationError("--pilot needs --pilot-observations") }
        guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must be in (0, 1), got \(alpha)") }
        let pilotFile = try PlanFile.read(pilotPath)
        let ps = pilotFile.plan.settings
        guard ps.strategy == .adaptive, ps.stage == "pilot" else {
            throw InputError(file: PlanFile.settingsPath(for: pilotPath), field: "stage", "not an adaptive pilot plan")
        }
        guard ps.totalPrompts == preds.ids.count, ps.budget == budget else {
            throw InputError(file: PlanFile.settingsPath(for: pilotPath), "the pilot was planned for \(ps.totalPrompts ?? 0) prompts at B = \(Num.format(ps.budget)); these predictions have \(preds.ids.count), --budget is \(Num.format(budget))")
        }
        let sample = try CalibrationInput.join(plan: pilotFile, planPath: pilotPath, observations: try ObservationsFile.read(obsPath),
                                               observationsPath: obsPath, missingIsMiscovered: false)
        let inPilot = Set(pilotFile.ids)
        let finalRows = preds.ids.indices.filter { !inPilot.contains(preds.ids[$0]) }
        guard finalRows.count == preds.ids.count - pilotFile.ids.count else {
            throw InputError(file: pilotPath, field: "id", "pilot ids are not all in \(predictions)")
        }
        let finalPHat = finalRows.map { preds.pHat[$0] }
        let choice = try TwoStage.choose(pilot: sample, pilotGrid: ps.tauGrid, budget: budget, totalPrompts: preds.ids.count,
                                         alpha: alpha, referencePHat: finalPHat, settings: ps.twoStage ?? TwoStage.Settings())
        var plan = try TwoStage.finalPlan(pHat: finalPHat, budget: budget, choice: choice, seed: StableHash.combine(seed, 1))
        plan.settings.stage = "final"
        plan.settings.totalPrompts = preds.ids.count
        plan.settings.choice = choice
        try PlanFile(ids: finalRows.map { preds.ids[$0] }, plan: plan).write(to: out)
        print("adaptive, step 2 of 2: the pilot chose W = \(Num.format(choice.maxWeight)) (bounds capped at \(Num.format(plan.settings.boundCap))), "
            + "cap level τ = \(Num.fixed(choice.grid.taus.last!, 4)), \(Num.fixed(choice.finalBudget, 1)) generations per final prompt left")
        print("final stage: \(finalRows.count) prompts, \(plan.cap.filter { $0 > 0 }.count) sampled; calibrate on \(out) alone")
        print("wrote \(out) and \(PlanFile.settingsPath(for: out))")
    }
}
