/// A feature matrix: `rows × cols`, stored dense (row-major) or sparse (compressed rows).
///
/// Hashed n-gram features are sparse — a prompt touches a few hundred of 4,096 buckets —
/// so storing them dense made training and prediction memory grow as prompts × buckets
/// (1.3 GB for 40,000 training prompts). Sparse rows are expanded one batch at a time into
/// the dense input buffer of the network (`copyRow`), so the arithmetic, and every result,
/// is the same for both storages.
public struct FeatureMatrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    let storage: Storage

    enum Storage: Equatable, Sendable {
        /// Row-major: feature `j` of row `i` is `values[i * cols + j]`.
        case dense([Double])
        /// Row `i`'s non-zero features are `columns[rowStart[i]..<rowStart[i+1]]` (ascending)
        /// with the values `entries` at the same positions.
        case sparse(rowStart: [Int], columns: [Int32], entries: [Double])
    }

    /// Throws `TTUModelError.shapeMismatch` unless `values.count == rows * cols`.
    public init(rows: Int, cols: Int, values: [Double]) throws {
        guard rows >= 0, cols >= 0, values.count == rows * cols else {
            throw TTUModelError.shapeMismatch(
                "FeatureMatrix \(rows)×\(cols) needs \(max(0, rows) * max(0, cols)) values, got \(values.count)")
        }
        self.rows = rows; self.cols = cols; storage = .dense(values)
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

    /// A sparse matrix from each row's non-zero `(column, value)` pairs, columns ascending.
    public init(sparseRows: [[(column: Int, value: Double)]], cols: Int) throws {
        var rowStart = [0], columns: [Int32] = [], entries: [Double] = []
        rowStart.reserveCapacity(sparseRows.count + 1)
        for (i, r) in sparseRows.enumerated() {
            var last = -1
            for (j, v) in r {
                guard j > last, j < cols else {
                    throw TTUModelError.shapeMismatch("row \(i): column \(j) out of order or outside 0..<\(cols)")
                }
                columns.append(Int32(j)); entries.append(v); last = j
            }
            rowStart.append(columns.count)
        }
        rows = sparseRows.count; self.cols = cols
        storage = .sparse(rowStart: rowStart, columns: columns, entries: entries)
    }

    /// Every value, row-major (a dense copy of a sparse matrix: for small matrices and tests).
    public var values: [Double] {
        switch storage {
        case .dense(let v): return v
        case .sparse:
            var v = [Double](repeating: 0, count: rows * cols)
            v.withUnsafeMutableBufferPointer { p in for i in 0..<rows { copyRow(i, into: p.baseAddress! + i * cols) } }
            return v
        }
    }

    /// Stored values: `rows × cols` dense, the non-zeros sparse.
    public var storedCount: Int {
        switch storage {
        case .dense(let v): return v.count
        case .sparse(_, _, let e): return e.count
        }
    }

    public var isSparse: Bool { if case .sparse = storage { return true } else { return false } }

    /// Writes row `i`'s `cols` values at `p`.
    @inline(__always)
    func copyRow(_ i: Int, into p: UnsafeMutablePointer<Double>) {
        switch storage {
        case .dense(let v):
            v.withUnsafeBufferPointer { p.update(from: $0.baseAddress! + i * cols, count: cols) }
        case .sparse(let rowStart, let columns, let entries):
            p.update(repeating: 0, count: cols)
            for k in rowStart[i]..<rowStart[i + 1] { p[Int(columns[k])] = entries[k] }
        }
    }

    /// Row `i` as a new array.
    public func row(_ i: Int) -> [Double] {
        var r = [Double](repeating: 0, count: cols)
        r.withUnsafeMutableBufferPointer { copyRow(i, into: $0.baseAddress!) }
        return r
    }

    /// The rows `indices`, in that order, in the same storage.
    public func selecting(_ indices: [Int]) -> FeatureMatrix {
        switch storage {
        case .dense(let v):
            var out: [Double] = []
            out.reserveCapacity(indices.count * cols)
            for r in indices { out.append(contentsOf: v[(r * cols)..<((r + 1) * cols)]) }
            return try! FeatureMatrix(rows: indices.count, cols: cols, values: out)
        case .sparse(let rowStart, let columns, let entries):
            var rs = [0], cs: [Int32] = [], es: [Double] = []
            for r in indices {
                cs.append(contentsOf: columns[rowStart[r]..<rowStart[r + 1]])
                es.append(contentsOf: entries[rowStart[r]..<rowStart[r + 1]])
                rs.append(cs.count)
            }
            return FeatureMatrix(rows: indices.count, cols: cols, storage: .sparse(rowStart: rs, columns: cs, entries: es))
        }
    }

    init(rows: Int, cols: Int, storage: Storage) {
        self.rows = rows; self.cols = cols; self.storage = storage
    }

    /// Throws on the first NaN/infinite feature, naming its row and column.
    public func validateFinite() throws {
        switch storage {
        case .dense(let values):
            for (idx, v) in values.enumerated() where !v.isFinite {
                throw TTUModelError.nonFiniteFeature(row: idx / max(cols, 1), column: idx % max(cols, 1), value: v)
            }
        case .sparse(let rowStart, let columns, let entries):
            for i in 0..<rows {
                for k in rowStart[i]..<rowStart[i + 1] where !entries[k].isFinite {
                    throw TTUModelError.nonFiniteFeature(row: i, column: Int(columns[k]), value: entries[k])
                }
            }
        }
    }

    /// Equal as matrices, whatever the storage.
    public static func == (a: FeatureMatrix, b: FeatureMatrix) -> Bool {
        a.rows == b.rows && a.cols == b.cols && (a.storage == b.storage || a.values == b.values)
    }
}
