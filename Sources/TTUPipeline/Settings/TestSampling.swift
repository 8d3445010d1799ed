import Foundation

/// How `ttu run` samples the test prompts to measure coverage (`test.generations_per_prompt`).
public enum TestSampling: Sendable, Equatable, Codable, SettingValue, CustomStringConvertible {
    /// No test sampling (`0`).
    case none
    /// Up to N generations per prompt (stopping at the first unsafe one). A prompt whose
    /// bound is above N + 1 and that stays safe for all N is undecided.
    case perPrompt(Int)
    /// Each prompt to its own bound: the first unsafe generation or L − 1 safe ones, which
    /// decides `T ≥ L` for every prompt at the least cost (`bound`).
    case bound

    public static func parse(setting text: String) throws -> TestSampling {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "bound" { return .bound }
        guard let n = Int(t), n >= 0 else { throw SettingTextError("'\(t)' is neither a whole number ≥ 0 nor bound") }
        return n == 0 ? .none : .perPrompt(n)
    }

    public var settingText: String {
        switch self {
        case .none: return "0"
        case .perPrompt(let n): return String(n)
        case .bound: return "bound"
        }
    }

    public var description: String { settingText }
    public var isSampled: Bool { self != .none }
}
