import Foundation

/// A strict, fast reader for the comma-separated files `ttu` exchanges.
///
/// The header must name exactly the expected columns (any order); every row must
/// have as many fields as the header. Fields may be quoted (`"a,b"`, `""` for a quote).
/// Fields are read on demand from the raw bytes, so half a million rows parse in
/// well under a second without building a `String` per field.
public struct CSVReader {
    public let path: String
    /// Column names in file order.
    public let header: [String]
    private let bytes: [UInt8]
    private let bodyStart: Int
    private let headerLine: Int

    /// Reads `path`, requiring exactly `columns` (any order) unless `columns` is nil.
    public init(path: String, columns: [String]?) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read file (missing or unreadable)")
        }
        try self.init(path: path, bytes: [UInt8](data), columns: columns)
    }

    public init(path: String, bytes: [UInt8], columns: [String]?) throws {
        self.path = path
        var b = bytes
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { b.removeFirst(3) }  // UTF-8 BOM
        self.bytes = b
        var pos = 0
        var fields: [String] = []
        var end = 0
        let ok = try CSVReader.splitLine(b, from: 0, into: &fields, lineEnd: &end, path: path, line: 1)
        guard ok, !(fields.count == 1 && fields[0].isEmpty) else {
            throw InputError(file: path, line: 1, "empty file: expected a header line"
                + (columns.map { " '\($0.joined(separator: ","))'" } ?? ""))
        }
        pos = end
        header = fields.map { $0.trimmingCharacters(in: .whitespaces) }
        bodyStart = pos
        headerLine = 1
        approximateRowCount = CSVReader.countLines(b, from: pos)
        var seen = Set<String>()
        for name in header {
            if !seen.insert(name).inserted {
                throw InputError(file: path, line: 1, field: name, "column appears twice in the header")
            }
        }
        if let columns {
            for c in columns where !seen.contains(c) {
                throw InputError(file: path, line: 1, field: c,
                                 "missing column (expected columns: \(columns.joined(separator: ",")))")
            }
            for h in header where !columns.contains(h) {
                throw InputError(file: path, line: 1, field: h,
                                 "unexpected column (expected columns: \(columns.joined(separator: ",")))")
            }
        }
    }

    /// Index of column `name` in the header (it must exist: checked at init).
    public func index(of name: String) -> Int {
        header.firstIndex(of: name)!
    }

    /// Calls `body` for each data row with its 1-based line number.
    /// A row with the wrong number of fields, or a blank line before the end, is an error.
    public func forEachRow(_ body: (inout CSVRow) throws -> Void) throws {
        var pos = bodyStart
        var line = headerLine
        var row = CSVRow(reader: self)
        let n = bytes.count
        try bytes.withUnsafeBufferPointer { buf in
            while pos < n {
                line += 1
                row.line = line
                row.ranges.removeAll(keepingCapacity: true)
                row.unquoted.removeAll(keepingCapacity: true)
                let next = try CSVReader.scanRow(buf, from: pos, row: &row, path: path)
                let blank = row.ranges.count == 1 && row.ranges[0].isEmpty && row.unquoted[0] == nil
                if blank {
                    // Blank lines are only allowed at the very end of the file.
                    var k = next
                    while k < n, buf[k] == 0x0A || buf[k] == 0x0D { k += 1 }
                    if k >= n { return }
                    throw InputError(file: path, line: line, "blank line inside the data")
                }
                if row.ranges.count != header.count {
                    throw InputError(file: path, line: line,
                                     "expected \(header.count) fields (\(header.joined(separator: ","))), found \(row.ranges.count)")
                }
                row.buffer = buf
                try body(&row)
                pos = next
            }
        }
    }

    /// Number of data rows, at most (used to reserve capacity).
    public let approximateRowCount: Int

    static func countLines(_ b: [UInt8], from start: Int) -> Int {
        b.withUnsafeBufferPointer { buf in
            var c = 1
            var i = start
            while i < buf.count { if buf[i] == 0x0A { c += 1 }; i += 1 }
            return c
        }
    }

    // MARK: - scanning

    /// Splits one line into strings (used for the header only).
    static func splitLine(_ b: [UInt8], from start: Int, into fields: inout [String], lineEnd: inout Int,
                          path: String, line: Int) throws -> Bool {
        var row = CSVRow(reader: nil)
        let next = try b.withUnsafeBufferPointer { buf -> Int in
            let nx = try scanRow(buf, from: start, row: &row, path: path)
            row.buffer = buf
            row.line = line
            fields = (0..<row.ranges.count).map { row.string($0) }
            return nx
        }
        lineEnd = next
        return !b.isEmpty
    }

    /// Scans one CSV record starting at `start`; fills `row.ranges` and returns the
    /// position after its line terminator.
    static func scanRow(_ buf: UnsafeBufferPointer<UInt8>, from start: Int, row: inout CSVRow, path: String) throws -> Int {
        let n = buf.count
        var i = start
        while true {
            if i < n, buf[i] == 0x22 {  // quoted field
                var s = [UInt8]()
                i += 1
                while true {
                    guard i < n else { throw InputError(file: path, line: row.line, "unterminated quoted field") }
                    if buf[i] == 0x22 {
                        if i + 1 < n, buf[i + 1] == 0x22 { s.append(0x22); i += 2; continue }
                        i += 1
                        break
                    }
                    s.append(buf[i]); i += 1
                }
                row.ranges.append(i..<i)
                row.unquoted.append(String(decoding: s, as: UTF8.self))
                guard i >= n || buf[i] == 0x2C || buf[i] == 0x0A || buf[i] == 0x0D else {
                    throw InputError(file: path, line: row.line, "text after a closing quote")
                }
            } else {
                let fs = i
                while i < n, buf[i] != 0x2C, buf[i] != 0x0A, buf[i] != 0x0D { i += 1 }
                row.ranges.append(fs..<i)
                row.unquoted.append(nil)
            }
            if i < n, buf[i] == 0x2C { i += 1; continue }
            if i < n, buf[i] == 0x0D { i += 1 }
            if i < n, buf[i] == 0x0A { i += 1 }
            return i
        }
    }
}

/// One row of a `CSVReader`, valid only inside `forEachRow`'s closure.
/// Typed accessors throw an `InputError` naming file, line and column.
public struct CSVRow {
    let readerPath: String
    let header: [String]
    var ranges: [Range<Int>] = []
    var unquoted: [String?] = []
    var buffer: UnsafeBufferPointer<UInt8> = UnsafeBufferPointer(start: nil, count: 0)
    public internal(set) var line: Int = 0

    init(reader: CSVReader?) {
        readerPath = reader?.path ?? ""
        header = reader?.header ?? []
        ranges.reserveCapacity(8)
        unquoted.reserveCapacity(8)
    }

    public var fieldCount: Int { ranges.count }

    func error(_ column: Int, _ message: String) -> InputError {
        InputError(file: readerPath, line: line, field: column < header.count ? header[column] : nil, message)
    }

    /// The raw text of field `column`, surrounding spaces removed.
    public func string(_ column: Int) -> String {
        if let u = unquoted[column] { return u }
        let r = ranges[column]
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi, buffer[lo] == 0x20 || buffer[lo] == 0x09 { lo += 1 }
        while hi > lo, buffer[hi - 1] == 0x20 || buffer[hi - 1] == 0x09 { hi -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[lo..<hi]), as: UTF8.self)
    }

    /// True when the field is empty (after trimming spaces).
    public func isEmpty(_ column: Int) -> Bool {
        if let u = unquoted[column] { return u.trimmingCharacters(in: .whitespaces).isEmpty }
        for k in ranges[column] where buffer[k] != 0x20 && buffer[k] != 0x09 { return false }
        return true
    }

    /// A non-empty identifier.
    public func id(_ column: Int) throws -> String {
        let s = string(column)
        if s.isEmpty { throw error(column, "empty id") }
        return s
    }

    /// A floating-point number; `inf`/`infinity` are accepted, `nan` is refused.
    public func double(_ column: Int) throws -> Double {
        let v: Double?
        if let u = unquoted[column] {
            v = Double(u.trimmingCharacters(in: .whitespaces))
        } else {
            v = parseDouble(ranges[column])
        }
        guard let x = v else {
            throw error(column, "'\(string(column))' is not a number")
        }
        if x.isNaN { throw error(column, "NaN is not allowed") }
        return x
    }

    /// A floating-point number in [lo, hi].
    public func double(_ column: Int, in range: ClosedRange<Double>) throws -> Double {
        let x = try double(column)
        guard range.contains(x) else {
            throw error(column, "\(string(column)) is outside [\(fmt(range.lowerBound)), \(fmt(range.upperBound))]")
        }
        return x
    }

    /// A whole number (an integral value written as `12` or `12.0`), at least `min`.
    public func int(_ column: Int, min: Int = Int.min) throws -> Int {
        var value: Int? = nil
        if unquoted[column] == nil { value = parseInt(ranges[column]) }
        if value == nil {
            let s = string(column)
            if let d = Double(s), d.isFinite, d == d.rounded(), abs(d) < 9.0e15 { value = Int(d) }
            else { throw error(column, "'\(s)' is not a whole number") }
        }
        guard let v = value, v >= min else { throw error(column, "\(value!) is below \(min)") }
        return v
    }

    /// A boolean written as 0/1 (or true/false).
    public func flag(_ column: Int) throws -> Bool {
        let s = string(column).lowercased()
        switch s {
        case "1", "true": return true
        case "0", "false": return false
        default: throw error(column, "'\(s)' is not 0 or 1")
        }
    }

    private func parseInt(_ r: Range<Int>) -> Int? {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi, buffer[lo] == 0x20 { lo += 1 }
        while hi > lo, buffer[hi - 1] == 0x20 { hi -= 1 }
        guard lo < hi, hi - lo <= 18 else { return nil }
        var neg = false
        if buffer[lo] == 0x2D { neg = true; lo += 1 } else if buffer[lo] == 0x2B { lo += 1 }
        guard lo < hi else { return nil }
        var v = 0
        for k in lo..<hi {
            let d = Int(buffer[k]) - 48
            guard d >= 0, d <= 9 else { return nil }
            v = v * 10 + d
        }
        return neg ? -v : v
    }

    private func parseDouble(_ r: Range<Int>) -> Double? {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi, buffer[lo] == 0x20 { lo += 1 }
        while hi > lo, buffer[hi - 1] == 0x20 { hi -= 1 }
        let len = hi - lo
        guard len > 0, len < 64 else { return nil }
        // strtod on a NUL-terminated copy; the whole field must be consumed.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: len + 1) { tmp -> Double? in
            for k in 0..<len { tmp[k] = CChar(bitPattern: buffer[lo + k]) }
            tmp[len] = 0
            var endp: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(tmp.baseAddress!, &endp)
            guard let e = endp, e - tmp.baseAddress! == len else { return nil }
            // strtod also accepts hex floats; refuse them (and any other 'x' form).
            for k in 0..<len where tmp[k] == 0x78 || tmp[k] == 0x58 { return nil }
            return v
        }
    }
}

func fmt(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}
