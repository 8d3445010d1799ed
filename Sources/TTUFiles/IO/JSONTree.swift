import Foundation

/// A JSON value decoded by `JSONDecoder`, whose numbers are the correctly rounded doubles
/// of their text (Foundation's `JSONSerialization` on Linux is off by an ulp for most
/// 17-digit numbers, which would make a `fields` feature read from JSONL differ from the
/// same number read from CSV).
enum JSONTree: Decodable {
    case object([String: JSONTree])
    case array([JSONTree])
    case number(Double)
    case string(String)
    case bool(Bool)
    case null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let x = try? c.decode(Double.self) { self = .number(x) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONTree].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONTree].self)) }
    }

    /// The value at a key or dotted path, as `PromptFile.lookup` finds it.
    func lookup(_ path: String) -> JSONTree? {
        PromptFile.dottedLookup(self, path) { node, key in
            if case .object(let o) = node { return o[key] }
            return nil
        }
    }
}
