/// A strict JSON syntax check (RFC 8259): Foundation's parser on Linux accepts some
/// invalid text (a trailing comma in an object or array) and lets the last of a repeated
/// key win, so a user's JSON is checked here first and refused with the offset of the
/// first error.
public enum StrictJSON {
    public struct SyntaxError: Error, CustomStringConvertible {
        public var offset: Int
        public var expected: String
        /// A key that appears twice in one object (`expected` then says so).
        public var repeatedKey: String?
        public var description: String {
            if let k = repeatedKey { return "not valid JSON: key '\(k)' appears twice in one object (at character \(offset + 1))" }
            return "not valid JSON: expected \(expected) at character \(offset + 1)"
        }
    }

    public static func validate(_ text: String) throws {
        try Array(text.utf8).withUnsafeBufferPointer { try validate($0) }
    }

    public static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        var p = Parser(bytes: bytes)
        p.skipSpace()
        try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw SyntaxError(offset: p.i, expected: "the end of the text") }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        mutating func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        func fail(_ what: String) -> SyntaxError { SyntaxError(offset: i, expected: what) }
        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        mutating func value(depth: Int) throws {
            guard depth < 64 else { throw fail("less nesting") }
            switch peek {
            case UInt8(ascii: "{"): try container(close: UInt8(ascii: "}"), depth: depth, keyed: true)
            case UInt8(ascii: "["): try container(close: UInt8(ascii: "]"), depth: depth, keyed: false)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: try number()
            }
        }

        /// An object (`keyed`) or an array; no trailing comma.
        mutating func container(close: UInt8, depth: Int, keyed: Bool) throws {
            i += 1
            skipSpace()
            if peek == close { i += 1; return }
            var keys = Set<ArraySlice<UInt8>>()
            while true {
                if keyed {
                    guard peek == UInt8(ascii: "\"") else { throw fail("a quoted key") }
                    let start = i
                    try string()
                    // Keys compare as written (an escaped spelling of the same key is not caught).
                    let key = Array(bytes[(start + 1)..<(i - 1)])[...]
                    if !keys.insert(key).inserted {
                        throw SyntaxError(offset: start, expected: "a new key", repeatedKey: String(decoding: key, as: UTF8.self))
                    }
                    skipSpace()
                    guard peek == UInt8(ascii: ":") else { throw fail("':'") }
                    i += 1
                    skipSpace()
                }
                try value(depth: depth + 1)
                skipSpace()
                if peek == close { i += 1; return }
                guard peek == UInt8(ascii: ",") else { throw fail("',' or '\(Character(UnicodeScalar(close)))'") }
                i += 1
                skipSpace()
            }
        }

        mutating func string() throws {
            i += 1
            while let c = peek {
                i += 1
                if c == UInt8(ascii: "\"") { return }
                if c < 0x20 { i -= 1; throw fail("an escaped control character") }
                if c == UInt8(ascii: "\\") {
                    guard let e = peek, "\"\\/bfnrtu".utf8.contains(e) else { throw fail("a valid escape") }
                    i += 1
                    if e == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            guard let h = peek, "0123456789abcdefABCDEF".utf8.contains(h) else { throw fail("4 hex digits") }
                            i += 1
                        }
                    }
                }
            }
            throw fail("a closing quote")
        }

        mutating func literal(_ word: String) throws {
            for b in word.utf8 {
                guard peek == b else { throw fail("'\(word)'") }
                i += 1
            }
        }

        mutating func number() throws {
            func digits() -> Int { let s = i; while let c = peek, c >= 0x30, c <= 0x39 { i += 1 }; return i - s }
            if peek == UInt8(ascii: "-") { i += 1 }
            if peek == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { throw fail("a value") }
            if peek == UInt8(ascii: ".") { i += 1; guard digits() > 0 else { throw fail("a digit") } }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                i += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw fail("a digit") }
            }
        }
    }
}
