import Foundation
import TTUCore

/// `plan.csv` (`id,p_hat,prior_quantile,pi,cap`) with `plan.json` beside it.
///
/// - `prior_quantile`: `q_m(x)`, the largest candidate bound (capped at M), `inf` if infinite;
/// - `pi`: the sampling probability, empty for `naive`;
/// - `cap`: the number of generations to draw for the prompt, 0 = not sampled.
public struct PlanFile: Sendable {
    public var ids: [String]
    public var plan: CalibrationPlan
    /// id → row, for joining observations (built when read from a file).
    public var index: IDIndex?
    /// What sampling the plan will cost, written to plan.json beside the settings' keys
    /// (`expected_generations`, `max_generations`, …); not read back.
    public var cost: PlanCost?

    public init(ids: [String], plan: CalibrationPlan) { self.ids = ids; self.plan = plan }

    public static let columns = ["id", "p_hat", "prior_quantile", "pi", "cap"]

    /// `plan.json` for a `plan.csv` path: same folder, same stem.
    public static func settingsPath(for csvPath: String) -> String {
        let url = URL(fileURLWithPath: csvPath)
        return url.deletingPathExtension().appendingPathExtension("json").path
    }

    public func write(to path: String) throws {
        let json = try encodeJSON(SettingsJSON(settings: plan.settings, cost: cost))
        var w = CSVWriter(columns: PlanFile.columns)
        for i in ids.indices {
            w.row([ids[i], Num.format(plan.pHat[i]), Num.format(plan.priorQuantile[i]),
                   plan.pi.map { Num.format($0[i]) } ?? "", String(plan.cap[i])])
        }
        try w.write(to: path)
        try writeAtomically(json, to: PlanFile.settingsPath(for: path))
    }

    /// plan.json: the plan's settings and, beside them (the same object), its cost.
    struct SettingsJSON: Encodable {
        var settings: PlanSettings
        var cost: PlanCost?
        func encode(to encoder: Encoder) throws {
            try settings.encode(to: encoder)
            try cost?.encode(to: encoder)
        }
    }

    public static func readSettings(forPlan path: String) throws -> PlanSettings {
        let jsonPath = settingsPath(for: path)
        guard let data = FileManager.default.contents(atPath: jsonPath) else {
            throw InputError(file: jsonPath, "cannot read the plan settings (plan.json is written beside plan.csv by `ttu plan`)")
        }
        let s = try decodeJSON(PlanSettings.self, from: data, file: jsonPath)
        do { try s.validate() } catch { throw InputError(file: jsonPath, "\(error)") }
        return s
    }

    public static func read(_ path: String) throws -> PlanFile {
        let settings = try readSettings(forPlan: path)
        let csv = try CSVReader(path: path, columns: columns)
        let ci = csv.index(of: "id"), cp = csv.index(of: "p_hat"), cq = csv.index(of: "prior_quantile")
        let cpi = csv.index(of: "pi"), cc = csv.index(of: "cap")
        let naive = settings.strategy == .naive
        var pHat: [Double] = [], prior: [Double] = [], pi: [Double] = [], cap: [Int] = []
        let r = csv.approximateRowCount
        pHat.reserveCapacity(r); prior.reserveCapacity(r); pi.reserveCapacity(r); cap.reserveCapacity(r)
        var seen = UniqueIDs(file: path, capacity: r)
        try csv.forEachRow { row in
            seen.append(try row.id(ci), line: row.line)
            pHat.append(try row.double(cp, in: 0...1))
            prior.append(try row.double(cq, in: 1...Double.infinity))
            if naive {
                if !row.isEmpty(cpi) {
                    throw InputError(file: path, line: row.line, field: "pi", "must be empty for the naive strategy (plan.json says naive)")
                }
            } else {
                pi.append(try row.double(cpi, in: 0...1))
            }
            let c = try row.int(cc, min: 0)
            if !naive, c > 0, pi.last! == 0 {
                throw InputError(file: path, line: row.line, field: "cap", "prompt has cap \(c) but pi 0")
            }
            cap.append(c)
        }
        if pHat.isEmpty { throw InputError(file: path, "no rows: the plan has no prompts") }
        let plan = CalibrationPlan(settings: settings, pHat: pHat, priorQuantile: prior, pi: naive ? nil : pi, cap: cap)
        var file = PlanFile(ids: seen.ids, plan: plan)
        file.index = try seen.index()
        return file
    }
}
