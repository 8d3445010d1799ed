import Foundation

/// Training survival data, in either form (detected from the header):
/// - `id,n,k` — `k` unsafe generations out of `n` (what `collect --no-early-stop` writes);
/// - `id,observed,event` — first-unsafe times: `observed` generations drawn, `event` 1 if
///   the last was unsafe (a `collect` observations file also fits: its `cap` column is
///   allowed and ignored).
public struct SurvivalDataFile: Sendable {
    public enum Form: String, Sendable { case counts, firstUnsafe = "first-unsafe" }
    public var form: Form
    public var ids: [String]
    /// Line of each row in the file (for error messages that point at it).
    public var lines: [Int]
    /// counts: n; first-unsafe: observed.
    public var generations: [Int]
    /// counts: k; first-unsafe: 1 if event else 0.
    public var unsafe: [Int]

    public static func read(_ path: String) throws -> SurvivalDataFile {
        let probe = try CSVReader(path: path, columns: nil)
        let h = Set(probe.header)
        let form: Form
        let csv: CSVReader
        if h == ["id", "n", "k"] {
            form = .counts; csv = probe
        } else if h == ["id", "observed", "event"] || h == ["id", "cap", "observed", "event"] {
            form = .firstUnsafe; csv = probe
        } else {
            throw InputError(file: path, line: 1,
                             "header '\(probe.header.joined(separator: ","))' is neither id,n,k (counts) nor id,observed,event (first-unsafe times)")
        }
        let ci = csv.index(of: "id")
        let (ca, cb) = form == .counts ? (csv.index(of: "n"), csv.index(of: "k")) : (csv.index(of: "observed"), csv.index(of: "event"))
        var ids = UniqueIDs(file: path)
        var out = SurvivalDataFile(form: form, ids: [], lines: [], generations: [], unsafe: [])
        try csv.forEachRow { row in
            let id = try row.id(ci)
            ids.append(id, line: row.line)
            let a = try row.int(ca, min: 0)
            let b: Int
            if form == .counts {
                b = try row.int(cb, min: 0)
                if b > a { throw InputError(file: path, line: row.line, field: "k", "k = \(b) exceeds n = \(a)") }
            } else {
                b = try row.flag(cb) ? 1 : 0
                if b == 1 && a < 1 { throw InputError(file: path, line: row.line, field: "observed", "an event needs observed ≥ 1") }
            }
            out.lines.append(row.line); out.generations.append(a); out.unsafe.append(b)
        }
        _ = try ids.index()  // duplicate ids
        out.ids = ids.ids
        if out.ids.isEmpty { throw InputError(file: path, "no rows") }
        return out
    }
}

/// `lpb.csv` as written by `ttu bound`: `id,p_hat,lpb`.
public struct LPBFile: Sendable {
    public var ids: [String]
    public var pHat: [Double]
    public var lpb: [Double]
    public var lines: [Int]

    public static func read(_ path: String) throws -> LPBFile {
        let csv = try CSVReader(path: path, columns: ["id", "p_hat", "lpb"])
        let ci = csv.index(of: "id"), cp = csv.index(of: "p_hat"), cl = csv.index(of: "lpb")
        var ids = UniqueIDs(file: path)
        var f = LPBFile(ids: [], pHat: [], lpb: [], lines: [])
        try csv.forEachRow { row in
            ids.append(try row.id(ci), line: row.line)
            f.pHat.append(try row.double(cp, in: 0...1))
            let l = try row.double(cl)
            if !(l >= 1) { throw InputError(file: path, line: row.line, field: "lpb", "\(l) is below 1") }
            f.lpb.append(l); f.lines.append(row.line)
        }
        _ = try ids.index()
        f.ids = ids.ids
        if f.ids.isEmpty { throw InputError(file: path, "no rows") }
        return f
    }
}
