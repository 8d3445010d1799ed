import Foundation

/// A strict, fast reader for the comma-separated files `ttu` exchanges.
///
/// The header must name exactly the expected columns (any order); every row must
/// have as many fields as the header. Fields may be quoted (`"a,b"`, `""` for a quote,
/// line breaks allowed inside quotes; line numbers in errors are the file's lines).
/// The file must be UTF-8 (a leading BOM is skipped); lines may end in LF or CRLF.
/// Fields are read on demand from the raw bytes: a row's field boundaries go to a buffer
/// the reader reuses, and only an id or a quoted field ever becomes a `String`, so half a
/// million rows parse in a fraction of a second.
public struct CSVReader {
    public let path: String
    /// Column names in file order.
    public let header: [String]
    /// The file's bytes (a leading BOM excluded).
    private let storage: FileBytes
    private let bodyStart: Int
    /// The file line of the first data row (after a header with quoted line breaks, not 2).
    private let firstDataLine: Int

    /// Reads `path`, requiring exactly `columns` (any order) unless `columns` is nil.
    public init(path: String, columns: [String]?) throws {
        guard let bytes = FileBytes(path: path) else {
            throw InputError(file: path, "cannot read file (missing or unreadable)")
        }
        try self.init(path: path, storage: bytes, columns: columns)
    }

    public init(path: String, bytes: [UInt8], columns: [String]?) throws {
        try self.init(path: path, storage: FileBytes(copying: bytes), columns: columns)
    }

    init(path: String, storage: FileBytes, columns: [String]?) throws {
        self.path = path
        let b = storage.buffer  // BOM already skipped
        // Every field is text: refuse the file rather than decode a bad byte as U+FFFD.
        // The same pass counts the line feeds (to reserve capacity for the rows).
        let scan = scanUTF8AndLineFeeds(b)
        if let bad = scan.invalid { throw notUTF8Error(file: path, bytes: b, offset: bad) }
        let lineFeeds = scan.lineFeeds
        self.storage = storage
        var fields: [String] = []
        var end = 0
        var headerBreaks = 0
        let ok = try CSVReader.splitLine(b, from: 0, into: &fields, lineEnd: &end, breaks: &headerBreaks, path: path, line: 1)
        guard ok, !(fields.count == 1 && fields[0].isEmpty) else {
            throw InputError(file: path, line: 1, (b.isEmpty ? "empty file" : "blank first line") + ": expected a header line"
                + (columns.map { " '\($0.joined(separator: ","))'" } ?? ""))
        }
        header = fields.map { $0.trimmingCharacters(in: .whitespaces) }
        bodyStart = end
        firstDataLine = 2 + headerBreaks
        // 1 + the line feeds from the body's start on.
        approximateRowCount = 1 + lineFeeds - b[0..<end].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
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
        let buf = storage.buffer
        let n = buf.count
        try withExtendedLifetime(storage) {
            row.buffer = buf
            while pos < n {
                row.line = line
                let next = try CSVReader.scanRow(buf, from: pos, row: &row, path: path)
                if row.count == 1, row.slots.start[0] == row.slots.end[0], row.quoted(0) == nil {
                    // Blank lines are only allowed at the very end of the file.
                    var k = next
                    while k < n, buf[k] == 0x0A || buf[k] == 0x0D { k += 1 }
                    if k >= n { return }
                    throw InputError(file: path, line: line, "blank line inside the data")
                }
                if row.count != header.count {
                    throw InputError(file: path, line: line,
                                     "expected \(header.count) fields (\(header.joined(separator: ","))), found \(row.count)")
                }
                try body(&row)
                pos = next
                line += 1 + row.quotedLineBreaks
            }
        }
    }

    /// Number of data rows, at most (used to reserve capacity).
    public let approximateRowCount: Int

    // MARK: - scanning

    /// Splits one line into strings (used for the header only).
    static func splitLine(_ b: UnsafeBufferPointer<UInt8>, from start: Int, into fields: inout [String], lineEnd: inout Int,
                          breaks: inout Int, path: String, line: Int) throws -> Bool {
        var row = CSVRow(reader: nil)
        row.line = line
        row.buffer = b
        let next = try scanRow(b, from: start, row: &row, path: path)
        fields = (0..<row.count).map { row.string($0) }
        lineEnd = next
        breaks = row.quotedLineBreaks
        return !b.isEmpty
    }

    /// Scans one CSV record starting at `start`: its field boundaries go to `row.slots`
    /// (quoted fields are decoded into `row`'s strings); returns the position after its
    /// line terminator.
    static func scanRow(_ buf: UnsafeBufferPointer<UInt8>, from start: Int, row: inout CSVRow, path: String) throws -> Int {
        let n = buf.count
        var i = start
        row.count = 0
        row.quotedLineBreaks = 0
        if row.hasQuoted { row.unquoted.removeAll(keepingCapacity: true); row.hasQuoted = false }
        guard let p = buf.baseAddress else { row.setField(0, 0); return 0 }
        while true {
            if i < n, p[i] == 0x22 {  // quoted field
                var s = [UInt8]()
                i += 1
                while true {
                    guard i < n else { throw InputError(file: path, line: row.line, "unterminated quoted field") }
                    if p[i] == 0x22 {
                        if i + 1 < n, p[i + 1] == 0x22 { s.append(0x22); i += 2; continue }
                        i += 1
                        break
                    }
                    if p[i] == 0x0A { row.quotedLineBreaks += 1 }
                    s.append(p[i]); i += 1
                }
                row.setQuoted(String(decoding: s, as: UTF8.self))
                row.setField(i, i)
                guard i >= n || p[i] == 0x2C || p[i] == 0x0A || p[i] == 0x0D else {
                    throw InputError(file: path, line: row.line, "text after a closing quote")
                }
            } else {
                let fs = i
                i = endOfUnquotedField(p, i, n)
                row.setField(fs, i)
            }
            if i < n, p[i] == 0x2C { i += 1; continue }
            if i < n, p[i] == 0x0D { i += 1 }
            if i < n, p[i] == 0x0A { i += 1 }
            return i
        }
    }
}

/// The first position at or after `i` holding ',', LF or CR (or `n`): eight bytes at a time.
@inline(__always)
func endOfUnquotedField(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int) -> Int {
    var i = start
    let raw = UnsafeRawPointer(p)
    let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
    while i + 8 <= n {
        let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        // High bit set in each byte equal to the delimiter, possibly also in bytes after a
        // real match (never before one), so the lowest set bit is always the first match.
        let a = w ^ (0x2C * ones), b = w ^ (0x0A * ones), c = w ^ (0x0D * ones)
        let m = ((a &- ones) & ~a | (b &- ones) & ~b | (c &- ones) & ~c) & high
        if m != 0 { return i + UInt64(littleEndian: m).trailingZeroBitCount >> 3 }
        i += 8
    }
    while i < n {
        let c = p[i]
        if c == 0x2C || c == 0x0A || c == 0x0D { break }
        i += 1
    }
    return i
}

/// The field boundaries of one row, in memory the reader reuses from row to row.
final class FieldSlots {
    private(set) var start: UnsafeMutablePointer<Int>
    private(set) var end: UnsafeMutablePointer<Int>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 4)
        start = .allocate(capacity: self.capacity)
        end = .allocate(capacity: self.capacity)
    }

    deinit {
        start.deallocate()
        end.deallocate()
    }

    func grow() {
        let c = capacity * 2
        let s = UnsafeMutablePointer<Int>.allocate(capacity: c), e = UnsafeMutablePointer<Int>.allocate(capacity: c)
        s.update(from: start, count: capacity)
        e.update(from: end, count: capacity)
        start.deallocate(); end.deallocate()
        (start, end, capacity) = (s, e, c)
    }
}

/// One row of a `CSVReader`, valid only inside `forEachRow`'s closure.
/// Typed accessors throw an `InputError` naming file, line and column.
public struct CSVRow {
    let readerPath: String
    let header: [String]
    let slots: FieldSlots
    /// Fields in this row.
    var count = 0
    /// The decoded text of quoted fields by column (nil for unquoted ones); only used
    /// when the row has a quoted field.
    var unquoted: [String?] = []
    var hasQuoted = false
    var buffer: UnsafeBufferPointer<UInt8> = UnsafeBufferPointer(start: nil, count: 0)
    /// The line (of the file) where this row starts.
    public internal(set) var line: Int = 0
    /// Line feeds inside this row's quoted fields: the next row starts this many lines later.
    var quotedLineBreaks = 0

    init(reader: CSVReader?) {
        readerPath = reader?.path ?? ""
        header = reader?.header ?? []
        slots = FieldSlots(capacity: header.count + 1)
    }

    public var fieldCount: Int { count }

    @inline(__always)
    mutating func setField(_ lo: Int, _ hi: Int) {
        if count == slots.capacity { slots.grow() }
        slots.start[count] = lo
        slots.end[count] = hi
        count += 1
    }

    /// Records the decoded text of the quoted field about to be set (column `count`).
    mutating func setQuoted(_ s: String) {
        hasQuoted = true
        while unquoted.count < count { unquoted.append(nil) }
        unquoted.append(s)
    }

    /// The decoded text of field `column` if it was quoted.
    @inline(__always)
    func quoted(_ column: Int) -> String? {
        hasQuoted && column < unquoted.count ? unquoted[column] : nil
    }

    func error(_ column: Int, _ message: String) -> InputError {
        InputError(file: readerPath, line: line, field: column < header.count ? header[column] : nil, message)
    }

    /// The bounds of unquoted field `column` with spaces and tabs around it removed.
    @inline(__always)
    private func trimmed(_ column: Int) -> (lo: Int, hi: Int) {
        var lo = slots.start[column], hi = slots.end[column]
        while lo < hi, buffer[lo] == 0x20 || buffer[lo] == 0x09 { lo += 1 }
        while hi > lo, buffer[hi - 1] == 0x20 || buffer[hi - 1] == 0x09 { hi -= 1 }
        return (lo, hi)
    }

    /// The raw text of field `column`, surrounding spaces removed.
    public func string(_ column: Int) -> String {
        if let u = quoted(column) { return u }
        let (lo, hi) = trimmed(column)
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[lo..<hi]), as: UTF8.self)
    }

    /// True when the field is empty (after trimming spaces).
    public func isEmpty(_ column: Int) -> Bool {
        if let u = quoted(column) { return u.trimmingCharacters(in: .whitespaces).isEmpty }
        let (lo, hi) = trimmed(column)
        return lo == hi
    }

    /// A non-empty identifier (not only spaces, quoted or not).
    public func id(_ column: Int) throws -> String {
        if let u = quoted(column) {
            if u.trimmingCharacters(in: .whitespaces).isEmpty { throw error(column, "empty id") }
            return u
        }
        let (lo, hi) = trimmed(column)
        if lo == hi { throw error(column, "empty id") }
        return String(decoding: UnsafeBufferPointer(rebasing: buffer[lo..<hi]), as: UTF8.self)
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
        if quoted(column) == nil { value = parseInt(slots.start[column], slots.end[column]) }
        if value == nil {
            if let d = number(column), d.isFinite, d == d.rounded(), abs(d) < 9.0e15 { value = Int(d) }
            else { throw error(column, "'\(string(column))' is not a whole number") }
        }
        guard let v = value, v >= min else { throw error(column, "\(value!) is below \(min)") }
        return v
    }

    /// A boolean written as 0/1 (or true/false).
    public func flag(_ column: Int) throws -> Bool {
        if quoted(column) == nil {
            let (lo, hi) = trimmed(column)
            if hi == lo + 1 {
                if buffer[lo] == 0x31 { return true }
                if buffer[lo] == 0x30 { return false }
            }
        }
        let s = string(column).lowercased()
        switch s {
        case "1", "true": return true
        case "0", "false": return false
        default: throw error(column, "'\(s)' is not 0 or 1")
        }
    }

    private func parseInt(_ start: Int, _ end: Int) -> Int? {
        var lo = start, hi = end
        while lo < hi, buffer[lo] == 0x20 { lo += 1 }
        while hi > lo, buffer[hi - 1] == 0x20 { hi -= 1 }
        guard lo < hi, hi - lo <= 18 else { return nil }
        var neg = false
        if buffer[lo] == 0x2D { neg = true; lo += 1 } else if buffer[lo] == 0x2B { lo += 1 }
        guard lo < hi else { return nil }
        var v = 0
        for k in lo..<hi {
            let d = Int(buffer[k]) &- 48
            guard d >= 0, d <= 9 else { return nil }
            v = v &* 10 &+ d
        }
        return neg ? -v : v
    }

    /// Field `column` as a number, quoted or not, by the one rule of `parseDouble`.
    private func number(_ column: Int) -> Double? {
        if var u = quoted(column) { return u.withUTF8 { CSVRow.parseDouble($0) } }
        return CSVRow.parseDouble(UnsafeBufferPointer(rebasing: buffer[slots.start[column]..<slots.end[column]]))
    }

    /// strtod over the whole of `field` (spaces and tabs around it ignored): decimal and
    /// exponent forms, `inf`/`infinity`, `nan`; hex floats and any trailing text refused.
    /// The usual short decimal forms take `DecimalParser`'s exact fast path (the same
    /// double strtod gives, bit for bit); anything else goes to strtod itself.
    static func parseDouble(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        var lo = 0, hi = field.count
        while lo < hi, field[lo] == 0x20 || field[lo] == 0x09 { lo += 1 }
        while hi > lo, field[hi - 1] == 0x20 || field[hi - 1] == 0x09 { hi -= 1 }
        let len = hi - lo
        guard len > 0 else { return nil }
        if let v = DecimalParser.parse(field.baseAddress! + lo, len) { return v }
        return strtodWholeField(field, lo, len)
    }

    /// The slow path of `parseDouble`: strtod on a NUL-terminated copy of `len` bytes at `lo`.
    static func strtodWholeField(_ field: UnsafeBufferPointer<UInt8>, _ lo: Int, _ len: Int) -> Double? {
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

/// The bytes of a file, a leading UTF-8 byte order mark left out. A regular file of at
/// least a megabyte is mapped into memory (read-only, private, populated at once): no
/// copy and no page faults one page at a time, which were a fifth of `calibrate`'s time.
/// Anything else is read into memory the reader owns. (A mapped file that another program
/// truncates while it is being read stops the process with SIGBUS; `ttu` itself replaces
/// files by renaming a complete copy over them, never by truncating.)
final class FileBytes: @unchecked Sendable {
    private let base: UnsafeRawPointer?
    private let length: Int
    /// Whether `base` is a mapping (else allocated memory).
    private let mapped: Bool
    private let bom: Int

    var buffer: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base.map { $0.assumingMemoryBound(to: UInt8.self) + bom }, count: length - bom)
    }

    private init(base: UnsafeRawPointer?, length: Int, mapped: Bool) {
        self.base = base
        self.length = length
        self.mapped = mapped
        if let p = base?.assumingMemoryBound(to: UInt8.self), length >= 3, p[0] == 0xEF, p[1] == 0xBB, p[2] == 0xBF {
            bom = 3
        } else {
            bom = 0
        }
    }

    convenience init(copying bytes: [UInt8]) {
        guard !bytes.isEmpty else { self.init(base: nil, length: 0, mapped: false); return }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        self.init(base: UnsafeRawPointer(p), length: bytes.count, mapped: false)
    }

    /// nil when the file cannot be opened or read (missing, unreadable, a directory).
    convenience init?(path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let size = Int(st.st_size)
        if st.st_mode & S_IFMT == S_IFREG, size >= 1 << 20 {
            #if os(Linux)
            let flags = MAP_PRIVATE | MAP_POPULATE
            #else
            let flags = MAP_PRIVATE
            #endif
            if let m = mmap(nil, size, PROT_READ, flags, fd, 0), m != UnsafeMutableRawPointer(bitPattern: -1) {
                self.init(base: UnsafeRawPointer(m), length: size, mapped: true)
                return
            }
        }
        // Small or special files (and a failed mapping): read to the end.
        var bytes = [UInt8]()
        bytes.reserveCapacity(max(size, 0) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let k = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if k < 0 { if errno == EINTR { continue }; return nil }
            if k == 0 { break }
            bytes.append(contentsOf: chunk[0..<k])
        }
        self.init(copying: bytes)
    }

    deinit {
        guard let base else { return }
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), length) } else { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }
}

func fmt(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
}

/// The offset of the first byte of `buf` that is not part of well-formed UTF-8 (overlong
/// forms, surrogates and truncated sequences included), or nil when all of it is.
func invalidUTF8Offset(_ buf: UnsafeBufferPointer<UInt8>) -> Int? { scanUTF8AndLineFeeds(buf).invalid }

/// The high bit of each byte of `x` that is zero, and no other bit (exact, no carries).
@inline(__always)
func zeroBytes(_ x: UInt64) -> UInt64 {
    let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    return ~(((x & low7) &+ low7) | x | low7)
}

/// `invalidUTF8Offset` and the number of line feeds (0x0A) in `buf`, in one pass: ASCII
/// eight bytes at a time.
func scanUTF8AndLineFeeds(_ buf: UnsafeBufferPointer<UInt8>) -> (invalid: Int?, lineFeeds: Int) {
    let n = buf.count
    var i = 0
    var feeds = 0
    guard let base = buf.baseAddress else { return (nil, 0) }
    let raw = UnsafeRawPointer(base)
    let high: UInt64 = 0x8080_8080_8080_8080
    while i < n {
        if i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if w & high == 0 {
                feeds += zeroBytes(w ^ 0x0A0A_0A0A_0A0A_0A0A).nonzeroBitCount
                i += 8
                continue
            }
        }
        let b = buf[i]
        if b < 0x80 { if b == 0x0A { feeds += 1 }; i += 1; continue }
        let len: Int, lo: UInt8, hi: UInt8  // length, and the range of the second byte
        switch b {
        case 0xC2...0xDF: (len, lo, hi) = (2, 0x80, 0xBF)
        case 0xE0: (len, lo, hi) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (len, lo, hi) = (3, 0x80, 0xBF)
        case 0xED: (len, lo, hi) = (3, 0x80, 0x9F)
        case 0xF0: (len, lo, hi) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (len, lo, hi) = (4, 0x80, 0xBF)
        case 0xF4: (len, lo, hi) = (4, 0x80, 0x8F)
        default: return (i, feeds)
        }
        guard i + len <= n, buf[i + 1] >= lo, buf[i + 1] <= hi else { return (i, feeds) }
        if len > 2 { for k in 2..<len where buf[i + k] & 0xC0 != 0x80 { return (i, feeds) } }
        i += len
    }
    return (nil, feeds)
}

/// The error for a byte that is not UTF-8 at `offset` of `bytes`, naming its line.
func notUTF8Error(file: String, bytes: some Collection<UInt8>, offset: Int) -> InputError {
    var line = 1
    for b in bytes.prefix(offset) where b == 0x0A { line += 1 }
    let byte = bytes[bytes.index(bytes.startIndex, offsetBy: offset)]
    return InputError(file: file, line: line,
                      "byte 0x\(String(byte, radix: 16, uppercase: true)) is not valid UTF-8 (save the file as UTF-8)")
}
