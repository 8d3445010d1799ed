import Foundation
import TTUCore

/// `predictions.csv`: `id,p_hat` with p_hat the predicted unsafe probability per
/// generation, in [0, 1]. Ids are unique and non-empty.
public struct Predictions: Sendable {
    public var ids: [String]
    public var pHat: [Double]
    public init(ids: [String], pHat: [Double]) { self.ids = ids; self.pHat = pHat }

    public static let columns = ["id", "p_hat"]

    public static func read(_ path: String) throws -> Predictions {
        let csv = try CSVReader(path: path, columns: columns)
        let ci = csv.index(of: "id"), cp = csv.index(of: "p_hat")
        var pHat: [Double] = []
        pHat.reserveCapacity(csv.approximateRowCount)
        var seen = UniqueIDs(file: path, capacity: csv.approximateRowCount)
        try csv.forEachRow { row in
            seen.append(try row.id(ci), line: row.line)
            pHat.append(try row.double(cp, in: 0...1))
        }
        _ = try seen.index()
        let out = Predictions(ids: seen.ids, pHat: pHat)
        if out.ids.isEmpty { throw InputError(file: path, "no rows: expected at least one prediction") }
        return out
    }

    public func write(to path: String) throws {
        var w = CSVWriter(columns: Predictions.columns)
        for i in ids.indices { w.row([ids[i], Num.format(pHat[i])]) }
        try w.write(to: path)
    }
}

/// Collects the ids of a file in order, then indexes them, refusing duplicates with
/// both line numbers.
public struct UniqueIDs {
    let file: String
    public private(set) var ids: [String] = []
    /// The file line of each id, by row.
    public private(set) var lines: [Int] = []
    public init(file: String, capacity: Int = 16) {
        self.file = file
        ids.reserveCapacity(capacity)
        lines.reserveCapacity(capacity)
    }
    public mutating func append(_ id: String, line: Int) {
        ids.append(id)
        lines.append(line)
    }
    /// The id → row index; throws on the first repeated id.
    public func index() throws -> IDIndex {
        switch IDIndex.build(ids) {
        case .success(let index): return index
        case .failure(let d):
            throw InputError(file: file, line: lines[d.row], field: "id",
                             "duplicate id '\(ids[d.row])' (first on line \(lines[d.firstRow]))")
        }
    }
}
