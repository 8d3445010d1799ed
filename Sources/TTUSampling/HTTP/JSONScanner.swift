import NIOCore

/// A strict JSON tokenizer over a byte buffer (see `CompletionJSON`). Every method throws
/// `Invalid` at the first byte that breaks the grammar.
struct JSONScanner {
    struct Invalid: Error {}

    /// An object key as it appears in the input (decoded only when it holds escapes).
    struct Key {
        let scanner: JSONScanner
        let start: Int, end: Int, escaped: Bool

        func equals(_ literal: StaticString) -> Bool {
            if escaped {
                return (try? scanner.decode(start, end)) == literal.description
            }
            let n = literal.utf8CodeUnitCount
            guard end - start == n else { return false }
            let l = literal.utf8Start
            for k in 0..<n where scanner.base[start + k] != l[k] { return false }
            return true
        }
    }

    let base: UnsafePointer<UInt8>
    let count: Int
    var i = 0
    var depth = 0
    /// Deeper nesting is refused (as JSONSerialization does), not recursed into.
    static let maxDepth = 512

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    func peek() -> UInt8? { i < count ? base[i] : nil }

    mutating func ws() {
        while i < count {
            switch base[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    private mutating func expect(_ c: UInt8) throws {
        ws()
        guard i < count, base[i] == c else { throw Invalid() }
        i += 1
    }

    // MARK: containers

    /// Consumes `{`; true when a member follows (false: the object was `{}`).
    mutating func beginObject() throws -> Bool { try begin(UInt8(ascii: "{"), UInt8(ascii: "}")) }

    /// Consumes `open`; true when an entry follows (false: the container was empty).
    private mutating func begin(_ open: UInt8, _ close: UInt8) throws -> Bool {
        try expect(open)
        depth += 1
        if depth > Self.maxDepth { throw Invalid() }
        ws()
        if peek() == close { i += 1; depth -= 1; return false }
        return true
    }

    /// After an entry: true at `,` (another follows), false at `close` (also after a
    /// trailing `,`).
    private mutating func next(_ close: UInt8) throws -> Bool {
        ws()
        guard i < count else { throw Invalid() }
        switch base[i] {
        case UInt8(ascii: ","):
            i += 1
            ws()
            if peek() == close { i += 1; depth -= 1; return false }
            return true
        case close: i += 1; depth -= 1; return false
        default: throw Invalid()
        }
    }

    /// A member's key and its `:`; the scanner is then at the value.
    mutating func key() throws -> Key {
        ws()
        guard peek() == UInt8(ascii: "\"") else { throw Invalid() }
        let (start, end, escaped) = try scanString()
        try expect(UInt8(ascii: ":"))
        return Key(scanner: self, start: start, end: end, escaped: escaped)
    }

    /// After a member's value: true at `,` (another member follows), false at `}`
    /// (also after a trailing `,`).
    mutating func nextMember() throws -> Bool { try next(UInt8(ascii: "}")) }

    /// Consumes `[`; true when an element follows (false: the array was `[]`).
    mutating func beginArray() throws -> Bool { try begin(UInt8(ascii: "["), UInt8(ascii: "]")) }

    /// After an element: true at `,`, false at `]` (also after a trailing `,`).
    mutating func nextElement() throws -> Bool { try next(UInt8(ascii: "]")) }

    // MARK: values

    /// Validates and skips one value of any kind.
    mutating func skipValue() throws {
        ws()
        guard i < count else { throw Invalid() }
        switch base[i] {
        case UInt8(ascii: "{"):
            if try beginObject() {
                repeat { _ = try key(); try skipValue() } while try nextMember()
            }
        case UInt8(ascii: "["):
            if try beginArray() {
                repeat { try skipValue() } while try nextElement()
            }
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard count - i >= n else { throw Invalid() }
        for k in 0..<n where base[i + k] != word.utf8Start[k] { throw Invalid() }
        i += n
    }

    /// Validates a number (one too large for a `Double` is refused); returns its value
    /// when it is an integer that fits `Int` (`3`, `-2`, also `3.0` or `3e0`), else nil.
    mutating func number() throws -> Int? {
        ws()
        let start = i
        @inline(__always) func isDigit(_ k: Int) -> Bool { k < count && base[k] >= 0x30 && base[k] <= 0x39 }
        if i < count, base[i] == UInt8(ascii: "-") { i += 1 }
        guard isDigit(i) else { throw Invalid() }
        if base[i] == UInt8(ascii: "0") { i += 1 } else { while isDigit(i) { i += 1 } }
        var plain = true
        if i < count, base[i] == UInt8(ascii: ".") {
            plain = false
            i += 1
            guard isDigit(i) else { throw Invalid() }
            while isDigit(i) { i += 1 }
        }
        if i < count, base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E") {
            plain = false
            i += 1
            if i < count, base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { throw Invalid() }
            while isDigit(i) { i += 1 }
        }
        if plain, i - start <= 18 {  // at most 18 digits: fits Int without overflow checks
            var v = 0
            for k in start..<i where base[k] != UInt8(ascii: "-") { v = v * 10 + Int(base[k] - 0x30) }
            return base[start] == UInt8(ascii: "-") ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        if plain, let v = Int(text) { return v }
        guard let d = Double(text), d.isFinite else { throw Invalid() }
        return Int(exactly: d)
    }

    /// The value if it is a string, else nil (the value is validated and skipped).
    mutating func stringOrSkip() throws -> String? {
        ws()
        guard peek() == UInt8(ascii: "\"") else { try skipValue(); return nil }
        return try string()
    }

    /// Decodes a string value (the scanner is at its opening quote).
    mutating func string() throws -> String {
        let (start, end, escaped) = try scanString()
        if !escaped { return String(decoding: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self) }
        return try decode(start, end)
    }

    /// Validates a string (at its opening quote) and moves past it. Returns the bounds of
    /// its contents and whether they hold escapes. Control characters, bad escapes, lone
    /// surrogates and invalid UTF-8 are refused.
    mutating func scanString() throws -> (start: Int, end: Int, escaped: Bool) {
        i += 1
        let start = i
        var escaped = false
        var ascii = true
        while true {
            guard i < count else { throw Invalid() }
            let c = base[i]
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw Invalid() }
            if c >= 0x80 { ascii = false; i += 1; continue }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            escaped = true
            guard i + 1 < count else { throw Invalid() }
            switch base[i + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                i += 2
            case UInt8(ascii: "u"):
                let u = try hex4(i + 2)
                i += 6
                if u >= 0xD800 && u <= 0xDBFF {
                    // A high surrogate must be followed by an escaped low one.
                    guard i + 1 < count, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") else { throw Invalid() }
                    let lo = try hex4(i + 2)
                    guard lo >= 0xDC00 && lo <= 0xDFFF else { throw Invalid() }
                    i += 6
                } else if u >= 0xDC00 && u <= 0xDFFF {
                    throw Invalid()
                }
            default:
                throw Invalid()
            }
        }
        let end = i
        i += 1
        if !ascii, String(validating: UnsafeBufferPointer(start: base + start, count: end - start), as: UTF8.self) == nil {
            throw Invalid()
        }
        return (start, end, escaped)
    }

    private func hex4(_ at: Int) throws -> UInt32 {
        guard at + 4 <= count else { throw Invalid() }
        var v: UInt32 = 0
        for k in at..<(at + 4) {
            let c = base[k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw Invalid()
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// The contents `start..<end` of an already validated string, escapes decoded.
    func decode(_ start: Int, _ end: Int) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var k = start
        while k < end {
            let c = base[k]
            if c != UInt8(ascii: "\\") { out.append(c); k += 1; continue }
            let e = base[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var u = try hex4(k)
                k += 4
                if u >= 0xD800 && u <= 0xDBFF {
                    let lo = try hex4(k + 2)
                    k += 6
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(u) else { throw Invalid() }
                out.append(contentsOf: UTF8.encode(scalar)!)
            default: out.append(e)  // " \ /
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
