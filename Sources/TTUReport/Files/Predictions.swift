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
        var out = Predictions(ids: [], pHat: [])
        out.ids.reserveCapacity(csv.approximateRowCount)
        out.pHat.reserveCapacity(csv.approximateRowCount)
        var seen = UniqueIDs(file: path)
        try csv.forEachRow { row in
            let id = try row.id(ci)
            try seen.insert(id, line: row.line)
            out.ids.append(id)
            out.pHat.append(try row.double(cp, in: 0...1))
        }
        if out.ids.isEmpty { throw InputError(file: path, "no rows: expected at least one prediction") }
        return out
    }

    public func write(to path: String) throws {
        var w = CSVWriter(columns: Predictions.columns)
        for i in ids.indices { w.row([ids[i], Num.format(pHat[i])]) }
        try w.write(to: path)
    }
}

/// Tracks ids already seen in a file and refuses duplicates with both line numbers.
public struct UniqueIDs {
    let file: String
    var lines: [String: Int] = [:]
    public init(file: String) { self.file = file }
    public mutating func insert(_ id: String, line: Int) throws {
        if let first = lines.updateValue(line, forKey: id) {
            throw InputError(file: file, line: line, field: "id", "duplicate id '\(id)' (first on line \(first))")
        }
    }
    public func line(of id: String) -> Int? { lines[id] }
}
