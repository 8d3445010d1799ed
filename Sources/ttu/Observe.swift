import ArgumentParser
import Foundation
import TTUCore
import TTUFiles
import TTUReport

/// Derives a plan's observations from one deep sample per prompt, so several plans
/// (strategies, budgets, repetitions) can be calibrated without sampling each anew.
struct Observe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Derive a plan's calibration observations from a deeper sample of the same prompts (no sampling).",
        discussion: """
        --deep holds one observation per prompt (id,cap,observed,event), e.g. from
        `ttu collect --per-prompt C` (early stopping): the first unsafe index t, or
        censoring at C. Sampling generations 1, 2, … of a prompt up to a plan cap c is
        the prefix of that deep sample, so for every plan prompt with cap c > 0:
          deep event at t ≤ c            → c, t, 1
          deep event at t > c            → c, c, 0
          deep censored at C ≥ c         → c, c, 0
          deep censored at C < c         → too shallow: an error (sample deeper), or with
                                           --too-shallow worst-case: c, C+1, 1 — the
                                           earliest unsafe time the deep sample allows,
                                           so every level above C counts as miscovered
                                           (conservative) and every level ≤ C+1 as
                                           covered (exact).
        Plan prompts with cap 0 are written as id,0,0,0. Deep prompts that are not in
        the plan (test prompts of the same pool) are ignored; a sampled plan prompt
        without a deep observation is an error.

        Plans derived from the same deep sample share the latent times T: repetitions
        differ only in their plans' random draws, which understates the spread a fresh
        sample per repetition would show.
        """)

    @Option(help: "plan.csv written by `ttu plan` (plan.json beside it).") var plan: String
    @Option(help: "Deep observations CSV id,cap,observed,event (one per prompt, any superset of the plan's sampled prompts).")
    var deep: String
    @Option(name: .customLong("too-shallow"), help: "A plan cap beyond a censored deep sample: error, or worst-case (see above).")
    var tooShallow: TooShallow = .error
    @Option(help: "Output observations CSV (id,cap,observed,event), in plan order.") var out: String

    enum TooShallow: String, ExpressibleByArgument, CaseIterable { case error, worstCase = "worst-case" }

    func run() throws {
        try runStage {
            let p = try PlanFile.read(plan)
            let d = try ObservationsFile.read(deep)
            guard case .success(let index) = IDIndex.build(d.ids) else {
                throw InputError(file: deep, field: "id", "duplicate id")  // ObservationsFile.read refuses these already
            }
            let result = try Self.derive(plan: p, planPath: plan, deep: d, deepIndex: index, deepPath: deep,
                                         worstCase: tooShallow == .worstCase)
            try result.file.write(to: out)
            var msg = "observe: \(result.sampled) sampled prompts (\(result.events) with an unsafe generation, "
                + "\(result.generations) generations), \(p.ids.count - result.sampled) unsampled"
            if result.worstCase > 0 { msg += "; \(result.worstCase) too shallow, imputed worst-case (T = deep cap + 1)" }
            print(msg)
            print("wrote \(out)")
        }
    }

    struct Derived {
        var file: ObservationsFile
        var sampled = 0, events = 0, generations = 0, worstCase = 0
    }

    static func derive(plan p: PlanFile, planPath: String, deep d: ObservationsFile, deepIndex: IDIndex, deepPath: String,
                       worstCase: Bool) throws -> Derived {
        var out = Derived(file: ObservationsFile())
        out.file.ids.reserveCapacity(p.ids.count)
        out.file.rows.reserveCapacity(p.ids.count)
        for (i, id) in p.ids.enumerated() {
            let c = p.plan.cap[i]
            if c == 0 {
                out.file.ids.append(id); out.file.rows.append(Observation(cap: 0, observed: 0, event: false))
                continue
            }
            guard let k = deepIndex.index(of: id) else {
                throw InputError(file: deepPath, field: "id", "no deep observation for '\(id)' (\(planPath) line \(i + 2), cap \(c))")
            }
            let o = d.rows[k]
            let line = d.lines?[k] ?? k + 2
            let row: Observation
            if o.event {
                row = o.observed <= c ? Observation(cap: c, observed: o.observed, event: true)
                                      : Observation(cap: c, observed: c, event: false)
            } else if o.cap >= c {
                row = Observation(cap: c, observed: c, event: false)
            } else if worstCase {
                row = Observation(cap: c, observed: o.cap + 1, event: true)
                out.worstCase += 1
            } else {
                throw InputError(file: deepPath, line: line, field: "cap",
                                 "'\(id)' was censored at \(o.cap) generations but the plan caps it at \(c) (\(planPath) line \(i + 2)): "
                                 + "sample deeper, or pass --too-shallow worst-case")
            }
            out.file.ids.append(id); out.file.rows.append(row)
            out.sampled += 1
            out.generations += row.event && row.observed > o.cap ? o.cap : row.observed
            if row.event { out.events += 1 }
        }
        return out
    }
}
