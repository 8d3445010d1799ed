import Foundation
import TTUCore
import TTUFiles

/// Allocates the calibration budget over prompts (docs/method.md §3): plan.csv with each
/// prompt's sampling probability π_i and cap c_i, and plan.json beside it.
public enum PlanStage {
    public struct Settings: Sendable, Codable {
        /// `id,p_hat` of the calibration prompts.
        public var predictions: String
        public var out: String
        /// B: expected generations per calibration prompt.
        public var budget: Double
        public var strategy: AllocationStrategy = .optimized
        /// W: the largest inverse-probability weight (π ≥ 1/W); the bound cap is M = ⌊B·W⌋.
        /// nil = auto: chosen from p̂, α, B and the guarantee (`WeightChoice`, docs/method.md §3)
        /// for trimmed and optimized; 100 for the others.
        public var maxWeight: Double? = nil
        /// The guarantee the calibration will give: auto W simulates it (PAC wants smaller weights).
        public var guarantee = GuaranteeSettings()
        /// The candidate levels: `auto` (from p̂ and M) or a given grid.
        public var tauGrid = TauGridChoice.auto
        public var seed: UInt64 = 1
        /// optimized: fit λ on these held-out predictions and apply π pointwise (i.i.d. terms).
        public var fitOn: String?
        /// adaptive, second step: the pilot plan and its observations.
        public var pilot: String?
        public var pilotObservations: String?
        /// adaptive: the α the calibration will use (step 1: to judge whether a pilot can
        /// choose; step 2: the level the pilot predicts).
        public var alpha = 0.1
        /// adaptive, step 1: the fewest miscovered prompts the pilot must expect to see
        /// (α·Σπ) to choose from; nil = `TwoStage.Settings`' default (400).
        public var minPilotMisses: Double?
        /// Tokens one generation costs (prompt + completion), to state the plan's cost in tokens.
        public var tokensPerGeneration: Double?
        /// Price of a million tokens, to state the plan's cost in money (needs tokens per generation).
        public var pricePerMillionTokens: Double?
        /// The batch backend's price as a fraction of the online price (e.g. 0.5): the cost
        /// is then also stated at the batch price. nil: priced online.
        public var batchPriceFactor: Double?

        /// The W a strategy uses when none is given and it has no choice of its own.
        public static let fallbackMaxWeight = 100.0
        /// adaptive: the pilot's least expected number of miscovered prompts (`--min-pilot-misses`'s default).
        public static var defaultMinPilotMisses: Double { TwoStage.Settings().minPilotMisses }

        public init(predictions: String, out: String, budget: Double, strategy: AllocationStrategy = .optimized) {
            self.predictions = predictions
            self.out = out
            self.budget = budget
            self.strategy = strategy
        }

        public func validate() throws {
            try checkDeclared()
            if let w = maxWeight {
                if strategy.capsBounds, (budget * w).rounded(.down) < 1 {
                    throw SettingError("calibration.max_weight", "the bound cap M = ⌊B·W⌋ must be at least 1 (B = \(Num.format(budget)), W = \(Num.format(w))): raise the budget or W, or use auto")
                }
            }
            if strategy == .naive, budget <= 1 {
                throw SettingError("calibration.budget", "the naive strategy needs a budget above 1 (its caps are Geometric(1/B)), got \(Num.format(budget))")
            }
            try guarantee.validate()
            if fitOn != nil, strategy != .optimized, strategy != .adaptive {
                throw SettingError("fit_on", "applies to the optimized strategy (and to adaptive when it falls back to optimized)")
            }
            if pilotObservations != nil, pilot == nil { throw SettingError("pilot_observations", "needs the pilot plan too") }
            if pilot != nil, pilotObservations == nil { throw SettingError("pilot", "needs the pilot's observations too") }
            if pilot != nil, strategy != .adaptive { throw SettingError("pilot", "applies to the adaptive strategy") }
            try validateAlpha(alpha)
            if let m = minPilotMisses {
                if !(m.isFinite && m >= 0) { throw SettingError("min_pilot_misses", "must be a number ≥ 0, got \(m)") }
                if strategy != .adaptive { throw SettingError("min_pilot_misses", "applies to the adaptive strategy") }
            }
            if pricePerMillionTokens != nil {
                if tokensPerGeneration == nil {
                    throw SettingError("calibration.price_per_million_tokens", "needs the tokens per generation too (--tokens-per-generation, calibration.tokens_per_generation)")
                }
            }
        }

        /// The cost of sampling a plan, under its own p̂.
        func cost(_ plan: CalibrationPlan) -> PlanCost {
            var c = PlanCost(pHat: plan.pHat, cap: plan.cap, tokensPerGeneration: tokensPerGeneration, pricePerMillionTokens: pricePerMillionTokens)
            c.batchPriceFactor = batchPriceFactor
            return c
        }
    }

    /// Writes the plan with its cost and says what sampling it will cost.
    static func write(_ plan: CalibrationPlan, ids: [String], _ s: Settings, console: Console) throws -> PlanFile {
        var file = PlanFile(ids: ids, plan: plan)
        let cost = s.cost(plan)
        file.cost = cost
        try file.write(to: s.out)
        for line in costLines(cost) { console.say(line) }
        return file
    }

    /// "cost: …" lines: expected generations under p̂ and the worst case, in tokens and money when known.
    public static func costLines(_ c: PlanCost) -> [String] {
        var lines = ["cost: \(Num.format(c.expectedGenerations.rounded())) generations expected under p̂ (each sampled prompt stops at its first unsafe one), "
            + "at most \(c.maxGenerations) (every sampled prompt to its cap)"]
        if let e = c.expectedTokens, let m = c.maxTokens {
            var l = "cost: \(Num.format(e.rounded())) tokens expected, at most \(Num.format(m.rounded()))"
            if let ec = c.expectedCost, let mc = c.maxCost {
                l += "; at \(Num.format(c.pricePerMillionTokens!)) per million tokens: \(Num.fixed(ec, 2)) expected, \(Num.fixed(mc, 2)) at most"
            }
            lines.append(l)
        }
        if let f = c.batchPriceFactor {
            if let ec = c.batchExpectedCost, let mc = c.batchMaxCost {
                lines.append("cost: at the batch price (× \(Num.format(f))): \(Num.fixed(ec, 2)) expected, \(Num.fixed(mc, 2)) at most")
            } else {
                lines.append("cost: batch pricing × \(Num.format(f)) of the online price (give tokens per generation and a price for the money)")
            }
        }
        return lines
    }

    /// What was planned: the file, and for adaptive which step.
    public struct Outcome: Sendable {
        public var plan: PlanFile
        public var adaptiveStep: Int?
    }

    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) throws -> Outcome {
        try s.validate()
        let preds = try Predictions.read(s.predictions)
        if s.strategy == .adaptive {
            return s.pilot == nil ? try adaptivePilot(s, preds, console: console) : try adaptiveFinal(s, preds, console: console)
        }
        return try oneStep(s, preds, console: console)
    }

    /// A one-step strategy's plan (not adaptive), written, with its notes.
    static func oneStep(_ s: Settings, _ preds: Predictions, console: Console) throws -> Outcome {
        let plan = try makePlan(s, pHat: preds.pHat)
        let settings = plan.settings
        let file = try write(plan, ids: preds.ids, s, console: console)
        let sampled = plan.cap.filter { $0 > 0 }.count
        let planned = Double(plan.plannedGenerations)
        console.say("plan: \(s.strategy.rawValue), B = \(Num.format(s.budget)), \(plan.count) prompts, \(sampled) sampled, "
            + "at most \(Int(planned)) generations (\(Num.fixed(planned / Double(max(plan.count, 1)), 1)) per prompt)"
            + (settings.boundCap.isFinite ? ", bounds capped at M = \(Num.format(settings.boundCap))" : ""))
        if s.tauGrid == .auto, settings.tauGrid != .default {
            console.say("τ grid: auto, \(settings.tauGrid.count) levels up to τ = \(Num.fixed(settings.tauGrid.taus.last!, 3)) (the paper's top is 0.178): "
                + "as high as sampling every prompt to its largest candidate bound fits the budget, and no higher than where that bound reaches M for 90% of the prompts")
        }
        if let choice = settings.weightChoice {
            console.say(choice.reason + " (every candidate: plan.json, weight_choice)")
        } else if let note = capNote(pHat: preds.pHat, settings: settings) { console.say(note) }
        if s.tauGrid != .auto, let note = gridLimitNote(pHat: preds.pHat, settings: settings) { console.say(note) }
        console.say("wrote \(s.out) and \(PlanFile.settingsPath(for: s.out))")
        return Outcome(plan: file, adaptiveStep: nil)
    }

    /// The plan of a one-step strategy (not adaptive), in memory.
    static func makePlan(_ s: Settings, pHat: [Double]) throws -> CalibrationPlan {
        let choice = try chooseMaxWeight(s, pHat: pHat)
        var settings = PlanSettings(strategy: s.strategy, budget: s.budget,
                                    maxWeight: choice?.maxWeight ?? s.maxWeight ?? Settings.fallbackMaxWeight, seed: s.seed)
        settings.tauGrid = s.tauGrid.resolve(pHat: pHat, boundCap: settings.boundCap, budget: s.budget)
        settings.weightChoice = choice
        if let fitOn = s.fitOn {
            var plan = try Allocation.pointwisePlan(pHat: pHat, heldOutPHat: try Predictions.read(fitOn).pHat, settings: settings)
            plan.settings.stage = "pointwise"
            return plan
        }
        return try Allocation.plan(pHat: pHat, settings: settings)
    }

    /// W chosen from p̂ when none is given, for the strategies whose bounds it caps
    /// (trimmed, optimized); nil when W is given or does not matter.
    static func chooseMaxWeight(_ s: Settings, pHat: [Double]) throws -> WeightChoice? {
        guard s.maxWeight == nil, s.strategy == .trimmed || s.strategy == .optimized else { return nil }
        return try WeightChoice.choose(pHat: pHat, budget: s.budget, alpha: s.alpha, guarantee: s.guarantee.guarantee,
                                       strategy: s.strategy,
                                       grid: { m in s.tauGrid.resolve(pHat: pHat, boundCap: m, budget: s.budget) },
                                       seed: StableHash.combine(s.seed, 0x57))
    }

    /// A note when the grid's largest level, not the budget, limits most bounds: for more
    /// than half of the prompts Q(τ_m; p̂) is below the bound cap M = ⌊B·W⌋, so no
    /// calibration can give them a bound as large as the budget allows.
    public static func gridLimitNote(pHat: [Double], settings: PlanSettings) -> String? {
        let m = settings.boundCap
        guard m.isFinite, !pHat.isEmpty else { return nil }
        let tauMax = settings.tauGrid.taus.last!
        let limited = pHat.filter { Geometric.quantile(tauMax, p: $0) < m }.count
        guard 2 * limited > pHat.count else { return nil }
        let sorted = pHat.sorted()
        let median = Geometric.quantile(tauMax, p: sorted[sorted.count / 2])
        return "note: for \(limited) of \(pHat.count) prompts the grid's largest level τ = \(Num.fixed(tauMax, 3)) gives a bound below "
            + "the cap M = \(Num.format(m)) (median \(Num.format(median))): the grid, not the budget, limits their bounds — "
            + "widen the grid (e.g. --tau-grid=-3,-0.05,300) to let them grow with B"
    }

    /// A note when the bound cap M = ⌊B·W⌋, not the grid, will limit most bounds: for more
    /// than half of the prompts the largest candidate bound reaches M, so every level the
    /// calibration may select puts them at M or below. Says what a larger W would allow.
    public static func capNote(pHat: [Double], settings: PlanSettings) -> String? {
        let m = settings.boundCap
        guard m.isFinite, !pHat.isEmpty else { return nil }
        let top = settings.tauGrid.taus.last!
        let atCap = pHat.filter { Geometric.quantile(top, p: $0) >= m }.count
        guard 2 * atCap > pHat.count else { return nil }
        let w2 = 2 * settings.maxWeight
        return "note: for \(atCap) of \(pHat.count) prompts the largest candidate bound reaches the cap M = ⌊B·W⌋ = \(Num.format(m)), "
            + "so M may bind most bounds; W = \(Num.format(w2)) would allow up to \(Num.format((settings.budget * w2).rounded(.down))) "
            + "(at the price of weights up to \(Num.format(w2)), a noisier calibration)"
    }

    /// An adaptive step's plan, marked with its stage and the calibration prompt count, written.
    static func write(_ plan: CalibrationPlan, stage: String, ids: [String], total: Int, _ s: Settings, console: Console) throws -> PlanFile {
        var plan = plan
        plan.settings.stage = stage
        plan.settings.totalPrompts = total
        return try write(plan, ids: ids, s, console: console)
    }

    /// adaptive, step 1: a pilot on a random fraction of the prompts.
    static func adaptivePilot(_ s: Settings, _ preds: Predictions, console: Console) throws -> Outcome {
        var twoStage = TwoStage.Settings()
        if let m = s.minPilotMisses { twoStage.minPilotMisses = m }
        let rows = TwoStage.pilotRows(count: preds.ids.count, fraction: twoStage.pilotFraction, seed: s.seed)
        // The pilot keeps the paper's grid unless one is given: it chooses the cap level itself.
        let grid: TauGrid
        if case .fixed(let g) = s.tauGrid { grid = g } else { grid = .default }
        var plan = try TwoStage.pilotPlan(pHat: rows.map { preds.pHat[$0] }, budget: s.budget, grid: grid, settings: twoStage, seed: s.seed)
        if TwoStage.fallsBack(plan, alpha: s.alpha, settings: twoStage) {
            return try adaptiveFallback(s, preds, pilot: plan, needed: twoStage.minPilotMisses, console: console)
        }
        plan.settings.twoStage = twoStage
        let file = try write(plan, stage: "pilot", ids: rows.map { preds.ids[$0] }, total: preds.ids.count, s, console: console)
        console.say("adaptive, step 1 of 2: pilot of \(rows.count) of \(preds.ids.count) prompts, \(plan.cap.filter { $0 > 0 }.count) sampled, "
            + "at most \(plan.plannedGenerations) generations")
        console.say("wrote \(s.out) and \(PlanFile.settingsPath(for: s.out)); collect it, then plan again with the pilot and its observations")
        return Outcome(plan: file, adaptiveStep: 1)
    }

    /// adaptive when the pilot would be too small to choose from (`TwoStage.fallsBack`):
    /// one step, the `optimized` plan of every prompt, as `--strategy optimized` writes it.
    static func adaptiveFallback(_ s: Settings, _ preds: Predictions, pilot: CalibrationPlan, needed: Double, console: Console) throws -> Outcome {
        let misses = TwoStage.expectedPilotMisses(pilot, alpha: s.alpha)
        console.say("adaptive: at B = \(Num.format(s.budget)) a pilot would expect to see only \(Num.fixed(misses, 1)) miscovered prompts "
            + "(α·Σπ, α = \(Num.format(s.alpha)); it needs \(Num.format(needed)), --min-pilot-misses): too few to choose from, "
            + "so every prompt is planned as optimized, in one step")
        var optimized = s
        optimized.strategy = .optimized
        optimized.minPilotMisses = nil
        try optimized.validate()
        return try oneStep(optimized, preds, console: console)
    }

    /// adaptive, step 2: W, the cap level and the allocation chosen from the pilot, for
    /// the prompts the pilot did not use.
    static func adaptiveFinal(_ s: Settings, _ preds: Predictions, console: Console) throws -> Outcome {
        let pilotPath = s.pilot!, obsPath = s.pilotObservations!
        let pilotFile = try PlanFile.read(pilotPath)
        let ps = pilotFile.plan.settings
        guard ps.strategy == .adaptive, ps.stage == "pilot" else {
            throw InputError(file: PlanFile.settingsPath(for: pilotPath), field: "stage", "not an adaptive pilot plan")
        }
        guard ps.totalPrompts == preds.ids.count, ps.budget == s.budget else {
            throw InputError(file: PlanFile.settingsPath(for: pilotPath), "the pilot was planned for \(ps.totalPrompts ?? 0) prompts at B = \(Num.format(ps.budget)); these predictions have \(preds.ids.count), the budget is \(Num.format(s.budget))")
        }
        let sample = try pilotFile.join(try ObservationsFile.read(obsPath), planPath: pilotPath, observationsPath: obsPath,
                                        missingIsMiscovered: false)
        let inPilot = Set(pilotFile.ids)
        let finalRows = preds.ids.indices.filter { !inPilot.contains(preds.ids[$0]) }
        guard finalRows.count == preds.ids.count - pilotFile.ids.count else {
            throw InputError(file: pilotPath, field: "id", "pilot ids are not all in \(s.predictions)")
        }
        let finalPHat = finalRows.map { preds.pHat[$0] }
        let choice = try TwoStage.choose(pilot: sample, pilotGrid: ps.tauGrid, budget: s.budget, totalPrompts: preds.ids.count,
                                         alpha: s.alpha, referencePHat: finalPHat, settings: ps.twoStage ?? TwoStage.Settings())
        var plan = try TwoStage.finalPlan(pHat: finalPHat, budget: s.budget, choice: choice, seed: StableHash.combine(s.seed, 1))
        plan.settings.choice = choice
        let file = try write(plan, stage: "final", ids: finalRows.map { preds.ids[$0] }, total: preds.ids.count, s, console: console)
        console.say("adaptive, step 2 of 2: the pilot chose W = \(Num.format(choice.maxWeight)) (bounds capped at M = \(Num.format(plan.settings.boundCap))), "
            + "cap level τ = \(Num.fixed(choice.grid.taus.last!, 4)), \(Num.fixed(choice.finalBudget, 1)) generations per final prompt left")
        console.say("final stage: \(finalRows.count) prompts, \(plan.cap.filter { $0 > 0 }.count) sampled; calibrate on \(s.out) alone")
        console.say("wrote \(s.out) and \(PlanFile.settingsPath(for: s.out))")
        return Outcome(plan: file, adaptiveStep: 2)
    }
}

extension AllocationStrategy: SettingChoice {}

extension PlanStage.Settings: DeclaredSettings {
    public static var defaults: PlanStage.Settings { PlanStage.Settings(predictions: "", out: "", budget: 100) }

    public static let declarations: [Setting<PlanStage.Settings>] = [
        .value("calibration.strategy", \.strategy, doc: "Budget allocation: naive, basic, trimmed, optimized (docs/method.md §3; see ttu plan --help)."),
        .value("calibration.budget", \.budget, doc: "B: expected generations per calibration prompt.",
               check: { $0.isFinite && $0 > 0 ? nil : "must be a positive number of generations per prompt, got \(Num.format($0))" }),
        .custom("calibration.max_weight", \.maxWeight, doc: "W: largest inverse-probability weight; every bound L is capped at M = ⌊B·W⌋. auto: chosen from the calibration predictions, α, B and the guarantee by simulating the calibration under p̂ (docs/method.md §3; the choice and its reason are in plan.json).",
                parse: { t in
                    let v = t.trimmingCharacters(in: .whitespaces)
                    if v == "auto" { return nil }
                    guard let w = Double(v), w.isFinite else { throw SettingTextError("'\(t)' is neither auto nor a number") }
                    return w
                }, text: { $0.map(Num.format) ?? "auto" },
                check: { w in w.map { $0 >= 1 ? nil : "must be auto or a number ≥ 1, got \(Num.format($0))" } ?? nil }),
        .value("calibration.tau_grid", \.tauGrid, doc: "Candidate levels τ_j: auto (300 levels up to where the largest candidate bound reaches M for 90% of the prompts) or MINLOG10,MAXLOG10,COUNT (log-spaced; the paper's: -3,-0.75,300)."),
        .optional("calibration.tokens_per_generation", \.tokensPerGeneration, doc: "Tokens one generation costs (prompt + completion): the plan then states its expected and worst-case tokens.",
                  check: { $0 > 0 ? nil : "must be a positive number, got \(Num.format($0))" }),
        .optional("calibration.price_per_million_tokens", \.pricePerMillionTokens, doc: "Price of a million tokens: the plan then states its expected and worst-case cost (needs tokens_per_generation).",
                  check: { $0 >= 0 ? nil : "must be a number ≥ 0, got \(Num.format($0))" }),
        .optional("calibration.batch_price_factor", \.batchPriceFactor, doc: "Batch price as a fraction of the online one (OpenAI's Batch API: 0.5): with generator.backend batch the plan also states its cost at that price.",
                  check: { $0 > 0 ? nil : "must be a number > 0, got \(Num.format($0))" }),
    ]
}
