/// A dense feature matrix, row-major: feature `j` of row `i` is `values[i * cols + j]`.
public struct FeatureMatrix: Codable, Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public let values: [Double]

    /// Throws `TTUModelError.shapeMismatch` unless `values.count == rows * cols`.
    public init(rows: Int, cols: Int, values: [Double]) throws {
        guard rows >= 0, cols >= 0, values.count == rows * cols else {
            throw TTUModelError.shapeMismatch(
                "FeatureMatrix \(rows)×\(cols) needs \(max(0, rows) * max(0, cols)) values, got \(values.count)")
        }
        self.rows = rows; self.cols = cols; self.values = values
    }

    /// Builds a matrix from equally long rows. `cols` is needed only when `rows` is empty.
    public init(_ rowArrays: [[Double]], cols: Int? = nil) throws {
        let c = rowArrays.first?.count ?? (cols ?? 0)
        var v: [Double] = []
        v.reserveCapacity(rowArrays.count * c)
        for (i, r) in rowArrays.enumerated() {
            guard r.count == c else {
                throw TTUModelError.shapeMismatch("row \(i) has \(r.count) features, expected \(c)")
            }
            v.append(contentsOf: r)
        }
        try self.init(rows: rowArrays.count, cols: c, values: v)
    }

    /// Row `i` as a new array.
    public func row(_ i: Int) -> [Double] { Array(values[(i * cols)..<((i + 1) * cols)]) }

    /// Throws on the first NaN/infinite feature, naming its row and column.
    public func validateFinite() throws {
        for (idx, v) in values.enumerated() where !v.isFinite {
            throw TTUModelError.nonFiniteFeature(row: idx / max(cols, 1), column: idx % max(cols, 1), value: v)
        }
    }
}
