/// `id,p`: the known unsafe probability of each prompt (simulated runs only: a real model's
/// rates are unknown). p in [0, 1], ids unique and non-empty.
public enum RatesFile {
    /// Reads `id,p`; refuses a duplicate id, a p outside [0, 1] and an empty file.
    public static func read(_ path: String) throws -> [String: Double] {
        let csv = try CSVReader(path: path, columns: ["id", "p"])
        let ci = csv.index(of: "id"), cp = csv.index(of: "p")
        var out: [String: Double] = [:]
        var firstLine: [String: Int] = [:]
        try csv.forEachRow { row in
            let id = try row.id(ci)
            if let first = firstLine.updateValue(row.line, forKey: id) {
                throw InputError(file: path, line: row.line, field: "id", "duplicate id '\(id)' (first on line \(first))")
            }
            out[id] = try row.double(cp, in: 0...1)
        }
        if out.isEmpty { throw InputError(file: path, "no rows: expected id,p per prompt") }
        return out
    }
}
