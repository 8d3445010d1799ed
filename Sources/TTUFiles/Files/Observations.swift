import Foundation
import TTUCore

/// One prompt's survival observation: `cap` generations were allowed, `observed`
/// were drawn (= min(T, cap)), `event` says whether the last one drawn was unsafe.
public struct Observation: Equatable, Sendable {
    public var cap: Int
    public var observed: Int
    public var event: Bool
    public init(cap: Int, observed: Int, event: Bool) { self.cap = cap; self.observed = observed; self.event = event }
}

/// `observations.csv`: `id,cap,observed,event` — the format `ttu collect` writes and
/// `ttu calibrate` reads. Rules: 0 ≤ observed ≤ cap; event ∈ {0,1}; event = 1 needs
/// observed ≥ 1; event = 0 means censored, which needs observed = cap.
public struct ObservationsFile: Sendable {
    public var ids: [String]
    public var rows: [Observation]
    /// The file line of each row (when read from a file), for error messages.
    public var lines: [Int]?
    public init(ids: [String] = [], rows: [Observation] = []) { self.ids = ids; self.rows = rows }

    public static let columns = ["id", "cap", "observed", "event"]

    /// Reads `path`. `checkDuplicateIDs: false` leaves repeated ids to the caller (`ttu
    /// calibrate` finds them while joining to the plan, without a second id index).
    public static func read(_ path: String, checkDuplicateIDs: Bool = true) throws -> ObservationsFile {
        let csv = try CSVReader(path: path, columns: columns)
        let ci = csv.index(of: "id"), cc = csv.index(of: "cap"), co = csv.index(of: "observed"), ce = csv.index(of: "event")
        var out = ObservationsFile()
        out.rows.reserveCapacity(csv.approximateRowCount)
        var seen = UniqueIDs(file: path, capacity: csv.approximateRowCount)
        try csv.forEachRow { row in
            seen.append(try row.id(ci), line: row.line)
            let cap = try row.int(cc, min: 0)
            let observed = try row.int(co, min: 0)
            let event = try row.flag(ce)
            if observed > cap {
                throw InputError(file: path, line: row.line, field: "observed", "\(observed) generations drawn but cap is \(cap)")
            }
            if event && observed == 0 {
                throw InputError(file: path, line: row.line, field: "event", "event = 1 needs at least one generation (observed is 0)")
            }
            if !event && observed != cap {
                throw InputError(file: path, line: row.line, field: "observed",
                                 "no unsafe generation (event = 0) but only \(observed) of cap \(cap) drawn: incomplete sampling is not an observation")
            }
            out.rows.append(Observation(cap: cap, observed: observed, event: event))
        }
        if checkDuplicateIDs { _ = try seen.index() }
        out.ids = seen.ids
        out.lines = seen.lines
        return out
    }

    public func write(to path: String) throws {
        var w = CSVWriter(columns: ObservationsFile.columns)
        for i in ids.indices {
            let o = rows[i]
            w.row([ids[i], String(o.cap), String(o.observed), o.event ? "1" : "0"])
        }
        try w.write(to: path)
    }
}
