import Foundation
import TTUCore

/// The plan/observations join: `plan.csv` + `observations.csv` → the aligned calibration
/// sample. Its rules are the two files' contract: every observation's id is in the plan,
/// at most once, with the plan's cap; every sampled prompt has an observation (or, asked
/// for, counts as miscovered).
extension PlanFile {
    /// Reads the plan and the observations on two threads. A problem with the plan is
    /// reported first, as if it had been read first; repeated observation ids are left to
    /// `join`, which finds them without a second id index.
    public static func readWithObservations(plan: String, observations: String) throws -> (PlanFile, ObservationsFile) {
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
    public func join(_ obs: ObservationsFile, planPath: String, observationsPath: String,
                     missingIsMiscovered: Bool) throws -> CalibrationSample {
        let plan = self
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
