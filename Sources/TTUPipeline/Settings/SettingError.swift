import TTUFiles

/// A setting that is not acceptable, named by its `ttu run` key (`generator.max_tokens`).
///
/// Settings are validated once, where their type is built (`validate()` of each settings
/// type). The CLI turns the key into its flag (`--max-tokens: …`); the run config turns it
/// into `ttu.yaml:12: field 'generator.max_tokens': …`. Both say the same message.
public struct SettingError: Error, CustomStringConvertible, Equatable, Sendable {
    public var key: String
    public var message: String
    public init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "\(key): \(message)" }
}

/// Small parsers shared by flags and the run config, so both accept the same spellings.
public enum SettingParse {
    /// `MIN-MAX` whole numbers with 0 ≤ MIN ≤ MAX (e.g. `1-2`; `0-0` means none).
    public static func range(_ s: String, key: String) throws -> ClosedRange<Int> {
        let p = s.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 2, let a = p[0], let b = p[1], a >= 0, b >= a else {
            throw SettingError(key, "'\(s)' is not MIN-MAX (e.g. 1-2)")
        }
        return a...b
    }

    /// Comma-separated positive whole numbers (hidden layer widths).
    public static func widths(_ s: String, key: String) throws -> [Int] {
        let h = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !h.isEmpty, h.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw SettingError(key, "'\(s)' is not comma-separated positive widths")
        }
        return h.map { $0! }
    }

    /// Comma-separated names, blanks dropped.
    public static func names(_ s: String) -> [String] {
        s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
