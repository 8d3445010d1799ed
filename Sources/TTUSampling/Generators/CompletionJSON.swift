import NIOCore

/// Reads the `choices` of an OpenAI-style completion response straight from the
/// response bytes, without building a Foundation object tree (`JSONSerialization` cost
/// several µs per response, a large share of `collect`'s overhead against a fast server).
///
/// It is a full JSON parser: the whole document is validated — grammar, escapes,
/// surrogate pairs, UTF-8, finite numbers, nesting depth, nothing after the value — but
/// only the fields a completion needs become Swift values; everything else is checked
/// and skipped. It accepts what `JSONSerialization` (its predecessor here) accepts,
/// including its one leniency, a trailing comma in an object or array (tests compare the
/// two on mutated responses). Anything that is not exactly one JSON object is `.notAnObject`,
/// which the caller reports as a malformed response (retried, never a safe generation).
enum CompletionJSON {
    struct Choice: Equatable {
        /// The choice's `index` when it is an integer (else nil: array order applies).
        var index: Int?
        /// `text` (completions) or `message.content` (chat) when it is a string.
        var text: String?
    }

    enum Parsed: Equatable {
        /// Not one JSON object (syntax error, another kind of value, invalid UTF-8…).
        case notAnObject
        /// A JSON object without a `choices` array of objects.
        case noChoices
        case choices([Choice])
    }

    static func parse(_ buffer: ByteBuffer, chat: Bool) -> Parsed {
        buffer.withUnsafeReadableBytes { parse($0, chat: chat) }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, chat: Bool) -> Parsed {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .notAnObject }
        var s = JSONScanner(base: base, count: bytes.count)
        do {
            // A UTF-8 byte order mark is tolerated, as JSONSerialization does.
            if s.count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { s.i = 3 }
            s.ws()
            guard s.peek() == UInt8(ascii: "{") else { return .notAnObject }
            var choices: [Choice]?
            var sawChoices = false
            if try s.beginObject() {
                repeat {
                    let key = try s.key()
                    if key.equals("choices") {
                        sawChoices = true
                        choices = try readChoices(&s, chat: chat)
                    } else {
                        try s.skipValue()
                    }
                } while try s.nextMember()
            }
            s.ws()
            guard s.i == s.count else { return .notAnObject }
            guard sawChoices, let choices else { return .noChoices }
            return .choices(choices)
        } catch {
            return .notAnObject
        }
    }

    /// The `choices` value: nil unless it is an array of objects (validated either way).
    private static func readChoices(_ s: inout JSONScanner, chat: Bool) throws -> [Choice]? {
        s.ws()
        guard s.peek() == UInt8(ascii: "[") else { try s.skipValue(); return nil }
        var out: [Choice]? = []
        if try s.beginArray() {
            repeat {
                s.ws()
                if s.peek() == UInt8(ascii: "{") {
                    let c = try readChoice(&s, chat: chat)
                    out?.append(c)
                } else {
                    try s.skipValue()
                    out = nil
                }
            } while try s.nextElement()
        }
        return out
    }

    /// One choice object (the scanner is at its `{`). A repeated key counts by its last value.
    private static func readChoice(_ s: inout JSONScanner, chat: Bool) throws -> Choice {
        var c = Choice()
        guard try s.beginObject() else { return c }
        repeat {
            let key = try s.key()
            s.ws()
            if key.equals("index") {
                if let b = s.peek(), b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
                    c.index = try s.number()
                } else {
                    try s.skipValue()
                    c.index = nil
                }
            } else if !chat, key.equals("text") {
                c.text = try s.stringOrSkip()
            } else if chat, key.equals("message") {
                c.text = nil
                if s.peek() == UInt8(ascii: "{") {
                    if try s.beginObject() {
                        repeat {
                            let k = try s.key()
                            s.ws()
                            if k.equals("content") {
                                c.text = try s.stringOrSkip()
                            } else {
                                try s.skipValue()
                            }
                        } while try s.nextMember()
                    }
                } else {
                    try s.skipValue()
                }
            } else {
                try s.skipValue()
            }
        } while try s.nextMember()
        return c
    }
}
