import ArgumentParser
import Foundation
import TTUCore
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
        """)

    @Option(help: "Predictions CSV with columns id,p_hat.") var predictions: String
    @Option(help: "B: expected generations per calibration prompt (> 0).") var budget: Double
    @Option(help: "Allocation strategy: naive, basic, trimmed or optimized.") var strategy: AllocationStrategy
    @Option(name: .customLong("max-weight"), help: "W: largest inverse-probability weight (π ≥ 1/W); the bound cap is ⌊B·W⌋.")
    var maxWeight: Double = 100
    @Option(help: "Seed of the sampling draw.") var seed: UInt64 = 1
    @Option(name: .customLong("tau-grid"), help: "Candidate levels: MINLOG10,MAXLOG10,COUNT (log-spaced).")
    var tauGrid: TauGridArgument = TauGridArgument(grid: .default)
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
            let settings = PlanSettings(strategy: strategy, budget: budget, maxWeight: maxWeight,
                                        tauGrid: tauGrid.grid, seed: seed)
            let plan = try Allocation.plan(pHat: preds.pHat, settings: settings)
            try PlanFile(ids: preds.ids, plan: plan).write(to: out)
            let sampled = plan.cap.filter { $0 > 0 }.count
            let planned = Double(plan.plannedGenerations)
            print("plan: \(strategy.rawValue), B = \(Num.format(budget)), \(plan.count) prompts, \(sampled) sampled, "
                + "at most \(Int(planned)) generations (\(Num.fixed(planned / Double(plan.count), 1)) per prompt)"
                + (settings.maxLPB.map { ", bounds capped at \(Num.format($0))" } ?? ""))
            print("wrote \(out) and \(PlanFile.settingsPath(for: out))")
        }
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
