import Foundation
import TTUCore
import TTUFiles

/// A plan's calibration observations derived from one deeper sample per prompt (no
/// sampling): sampling generations 1, 2, … up to a cap c is a prefix of the deep sample.
public enum ObserveStage {
    /// A plan cap beyond a censored deep sample.
    public enum TooShallow: String, CaseIterable, Sendable {
        case error
        /// Earliest unsafe time the deep sample allows: c, C+1, 1 (conservative above C).
        case worstCase = "worst-case"
    }

    public struct Settings: Sendable {
        public var plan: String
        public var deep: String
        public var out: String
        public var tooShallow = TooShallow.error
        public init(plan: String, deep: String, out: String) {
            self.plan = plan
            self.deep = deep
            self.out = out
        }
    }

    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) throws -> Derived {
        let p = try PlanFile.read(s.plan)
        let d = try ObservationsFile.read(s.deep)
        guard case .success(let index) = IDIndex.build(d.ids) else {
            throw InputError(file: s.deep, field: "id", "duplicate id")  // ObservationsFile.read refuses these already
        }
        let result = try derive(plan: p, planPath: s.plan, deep: d, deepIndex: index, deepPath: s.deep,
                                worstCase: s.tooShallow == .worstCase)
        try result.file.write(to: s.out)
        var msg = "observe: \(result.sampled) sampled prompts (\(result.events) with an unsafe generation, "
            + "\(result.generations) generations), \(p.ids.count - result.sampled) unsampled"
        if result.worstCase > 0 { msg += "; \(result.worstCase) too shallow, imputed worst-case (T = deep cap + 1)" }
        console.say(msg)
        console.say("wrote \(s.out)")
        return result
    }

    public struct Derived: Sendable {
        public var file: ObservationsFile
        public var sampled = 0, events = 0, generations = 0, worstCase = 0
    }

    public static func derive(plan p: PlanFile, planPath: String, deep d: ObservationsFile, deepIndex: IDIndex, deepPath: String,
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
                                 + "sample deeper, or impute it worst-case (--too-shallow worst-case)")
            }
            out.file.ids.append(id); out.file.rows.append(row)
            out.sampled += 1
            out.generations += row.event && row.observed > o.cap ? o.cap : row.observed
            if row.event { out.events += 1 }
        }
        return out
    }
}
