import Foundation

/// A strict, fast reader for the comma-separated files `ttu` exchanges.
///
/// The header must name exactly the expected columns (any order); every row must
/// have as many fields as the header. Fields may be quoted (`"a,b"`, `""` for a quote,
/// line breaks allowed inside quotes; line numbers in errors are the file's lines).
/// The file must be UTF-8 (a leading BOM is skipped); lines may end in LF or CRLF.
/// Fields are read on demand from the raw bytes, so half a million rows parse in
/// well under a second without building a `String` per field.
public struct CSVReader {
    public let path: String
    /// Column names in file order.
    public let header: [String]
    private let bytes: [UInt8]
    private let bodyStart: Int
    /// The file line of the first data row (after a header with quoted line breaks, not 2).
    private let firstDataLine: Int

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
        // Every field is text: refuse the file rather than decode a bad byte as U+FFFD.
        if let bad = b.withUnsafeBufferPointer({ invalidUTF8Offset($0) }) {
            throw notUTF8Error(file: path, bytes: b, offset: bad)
        }
        self.bytes = b
        var pos = 0
        var fields: [String] = []
        var end = 0
        var headerBreaks = 0
        let ok = try CSVReader.splitLine(b, from: 0, into: &fields, lineEnd: &end, breaks: &headerBreaks, path: path, line: 1)
        guard ok, !(fields.count == 1 && fields[0].isEmpty) else {
            throw InputError(file: path, line: 1, (b.isEmpty ? "empty file" : "blank first line") + ": expected a header line"
                + (columns.map { " '\($0.joined(separator: ","))'" } ?? ""))
        }
        pos = end
        header = fields.map { $0.trimmingCharacters(in: .whitespaces) }
        bodyStart = pos
        firstDataLine = 2 + headerBreaks
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
        var line = firstDataLine
        var row = CSVRow(reader: self)
        let n = bytes.count
        try bytes.withUnsafeBufferPointer { buf in
            while pos < n {
                row.line = line
                row.ranges.removeAll(keepingCapacity: true)
                row.unquoted.removeAll(keepingCapacity: true)
                row.quotedLineBreaks = 0
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
                line += 1 + row.quotedLineBreaks
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
                          breaks: inout Int, path: String, line: Int) throws -> Bool {
        var row = CSVRow(reader: nil)
        row.line = line
        let next = try b.withUnsafeBufferPointer { buf -> Int in
            let nx = try scanRow(buf, from: start, row: &row, path: path)
            row.buffer = buf
            fields = (0..<row.ranges.count).map { row.string($0) }
            return nx
        }
        lineEnd = next
        breaks = row.quotedLineBreaks
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
                    if buf[i] == 0x0A { row.quotedLineBreaks += 1 }
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
    /// The line (of the file) where this row starts.
    public internal(set) var line: Int = 0
    /// Line feeds inside this row's quoted fields: the next row starts this many lines later.
    var quotedLineBreaks = 0

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

    /// A non-empty identifier (not only spaces, quoted or not).
    public func id(_ column: Int) throws -> String {
        if isEmpty(column) { throw error(column, "empty id") }
        return string(column)
    }

    /// A floating-point number; `inf`/`infinity` are accepted, `nan` is refused.
    public func double(_ column: Int) throws -> Double {
        guard let x = number(column) else {
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
            if let d = number(column), d.isFinite, d == d.rounded(), abs(d) < 9.0e15 { value = Int(d) }
            else { throw error(column, "'\(string(column))' is not a whole number") }
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

    /// Field `column` as a number, quoted or not, by the one rule of `parseDouble`.
    private func number(_ column: Int) -> Double? {
        if var u = unquoted[column] { return u.withUTF8 { CSVRow.parseDouble($0) } }
        return CSVRow.parseDouble(UnsafeBufferPointer(rebasing: buffer[ranges[column]]))
    }

    /// strtod over the whole of `field` (spaces and tabs around it ignored): decimal and
    /// exponent forms, `inf`/`infinity`, `nan`; hex floats and any trailing text refused.
    static func parseDouble(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        var lo = 0, hi = field.count
        while lo < hi, field[lo] == 0x20 || field[lo] == 0x09 { lo += 1 }
        while hi > lo, field[hi - 1] == 0x20 || field[hi - 1] == 0x09 { hi -= 1 }
        let len = hi - lo
        guard len > 0 else { return nil }
        // strtod on a NUL-terminated copy; the whole field must be consumed.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: len + 1) { tmp -> Double? in
            for k in 0..<len { tmp[k] = CChar(bitPattern: field[lo + k]) }
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

/// The offset of the first byte of `buf` that is not part of well-formed UTF-8 (overlong
/// forms, surrogates and truncated sequences included), or nil when all of it is.
func invalidUTF8Offset(_ buf: UnsafeBufferPointer<UInt8>) -> Int? {
    let n = buf.count
    var i = 0
    while i < n {
        let b = buf[i]
        if b < 0x80 { i += 1; continue }
        let len: Int, lo: UInt8, hi: UInt8  // length, and the range of the second byte
        switch b {
        case 0xC2...0xDF: (len, lo, hi) = (2, 0x80, 0xBF)
        case 0xE0: (len, lo, hi) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (len, lo, hi) = (3, 0x80, 0xBF)
        case 0xED: (len, lo, hi) = (3, 0x80, 0x9F)
        case 0xF0: (len, lo, hi) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (len, lo, hi) = (4, 0x80, 0xBF)
        case 0xF4: (len, lo, hi) = (4, 0x80, 0x8F)
        default: return i
        }
        guard i + len <= n, buf[i + 1] >= lo, buf[i + 1] <= hi else { return i }
        if len > 2 { for k in 2..<len where buf[i + k] & 0xC0 != 0x80 { return i } }
        i += len
    }
    return nil
}

/// The error for a byte that is not UTF-8 at `offset` of `bytes`, naming its line.
func notUTF8Error(file: String, bytes: some Collection<UInt8>, offset: Int) -> InputError {
    var line = 1
    for b in bytes.prefix(offset) where b == 0x0A { line += 1 }
    let byte = bytes[bytes.index(bytes.startIndex, offsetBy: offset)]
    return InputError(file: file, line: line,
                      "byte 0x\(String(byte, radix: 16, uppercase: true)) is not valid UTF-8 (save the file as UTF-8)")
}
