import Foundation
import TTUFiles

/// A setting's text as the user gave it: one value, or a list (a YAML sequence).
public enum SettingInput: Sendable {
    case value(String)
    case list([String])
}

/// One setting, declared once, beside its field: the run-config key, the CLI flag, what it
/// means, how its text becomes the value, and which values are allowed. Its default is the
/// value the settings type starts with, so a default is written in one place only; the run
/// config's reader, `ttu run --example-config`, the CLI's defaults and help, and the error
/// lines (`ttu.yaml:12: field 'generator.max_tokens'`, `--max-tokens: …`) all come from it.
public struct Setting<Root> {
    /// The run config key, `section.key` (`generator.max_tokens`).
    public let key: String
    /// The CLI flag (`--max-tokens`).
    public let flag: String
    public let doc: String
    /// A list value (YAML sequence; repeated or comma-separated on the CLI).
    public let isList: Bool
    /// The field it sets, to find the declaration of a field (`declaration(for: \.n)`).
    public let field: AnyKeyPath
    /// Sets the field from text; paths resolve against `base` (the config's folder).
    let assign: (inout Root, SettingInput, URL?) throws -> Void
    /// The field's value as text; nil when unset (YAML `null`).
    let render: (Root) -> String?
    /// Why the field's value is not allowed, or nil.
    let problem: (Root) -> String?
    /// The field's value parsed from one CLI argument, type-erased.
    let parseOne: (String) throws -> Any

    /// The value's text in the documented YAML (`null` when unset, `[a, b]` for lists).
    public func yamlText(of root: Root) -> String {
        let t = render(root)
        if isList { return "[\(t ?? "")]" }
        return t ?? "null"
    }

    /// Refuses a value this declaration does not allow.
    public func check(_ root: Root) throws {
        if let p = problem(root) { throw SettingError(key, p) }
    }

    /// The same setting on a type that holds `Root` at `path` (a stage's settings inside `RunSettings`).
    public func lifted<Outer>(_ path: WritableKeyPath<Outer, Root>) -> Setting<Outer> {
        let (assign, render, problem) = (self.assign, self.render, self.problem)
        return Setting<Outer>(key: key, flag: flag, doc: doc, isList: isList, field: (path as AnyKeyPath).appending(path: field) ?? field,
                              assign: { outer, input, base in try assign(&outer[keyPath: path], input, base) },
                              render: { render($0[keyPath: path]) }, problem: { problem($0[keyPath: path]) }, parseOne: parseOne)
    }
}

/// What a setting's text must be, said the same way for flags and the config.
public struct SettingTextError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A type whose values are written as setting text.
public protocol SettingValue {
    /// The value `text` stands for; throws `SettingTextError` saying what is expected.
    static func parse(setting text: String) throws -> Self
    /// The text that `parse` reads back.
    var settingText: String { get }
}

extension Int: SettingValue {
    public static func parse(setting t: String) throws -> Int {
        guard let v = Int(t.trimmingCharacters(in: .whitespaces)) else { throw SettingTextError("'\(t)' is not a whole number") }
        return v
    }
    public var settingText: String { String(self) }
}

extension UInt64: SettingValue {
    public static func parse(setting t: String) throws -> UInt64 {
        let s = t.trimmingCharacters(in: .whitespaces)
        if let v = UInt64(s) { return v }
        // The run config has always read a seed as a whole number, negative ones wrapping.
        guard let v = Int64(s) else { throw SettingTextError("'\(t)' is not a whole number") }
        return UInt64(bitPattern: v)
    }
    public var settingText: String { String(self) }
}

extension Double: SettingValue {
    public static func parse(setting t: String) throws -> Double {
        guard let v = Double(t.trimmingCharacters(in: .whitespaces)), v.isFinite else { throw SettingTextError("'\(t)' is not a number") }
        return v
    }
    public var settingText: String { Num.format(self) }
}

extension Bool: SettingValue {
    public static func parse(setting t: String) throws -> Bool {
        switch t.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw SettingTextError("'\(t)' is not true or false")
        }
    }
    public var settingText: String { self ? "true" : "false" }
}

extension String: SettingValue {
    public static func parse(setting t: String) throws -> String { t }
    public var settingText: String { self }
}

/// A setting with named choices: its raw values.
public protocol SettingChoice: SettingValue, RawRepresentable, CaseIterable where RawValue == String {}

extension SettingChoice {
    public static func parse(setting t: String) throws -> Self {
        guard let v = Self(rawValue: t.trimmingCharacters(in: .whitespaces)) else {
            throw SettingTextError("'\(t)' is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }
    public var settingText: String { rawValue }
}

/// `MIN-MAX` whole numbers, 0 ≤ MIN ≤ MAX (`1-2`; `0-0`: none).
extension ClosedRange: SettingValue where Bound == Int {
    public static func parse(setting t: String) throws -> ClosedRange<Int> {
        do { return try SettingParse.range(t, key: "") } catch { throw SettingTextError("'\(t)' is not MIN-MAX (e.g. 1-2)") }
    }
    public var settingText: String { "\(lowerBound)-\(upperBound)" }
}

extension TauGridChoice: SettingValue {
    public static func parse(setting t: String) throws -> TauGridChoice {
        do { return try TauGridChoice.parse(t) } catch let e as SettingError { throw SettingTextError(e.message) }
    }
    public var settingText: String { description }
}

extension Setting {
    /// A setting whose field type reads its own text.
    public static func value<V: SettingValue>(_ key: String, _ field: WritableKeyPath<Root, V>, flag: String? = nil, doc: String,
                                              check: ((V) -> String?)? = nil) -> Setting {
        custom(key, field, flag: flag, doc: doc, parse: V.parse(setting:), text: { $0.settingText }, check: check)
    }

    /// An optional setting (unset: `null` in YAML, no flag on the CLI).
    public static func optional<V: SettingValue>(_ key: String, _ field: WritableKeyPath<Root, V?>, flag: String? = nil, doc: String,
                                                 check: ((V) -> String?)? = nil) -> Setting {
        Setting(key: key, flag: flag ?? Self.flag(for: key), doc: doc, isList: false, field: field,
                assign: { root, input, _ in root[keyPath: field] = try V.parse(setting: try Self.single(input)) },
                render: { $0[keyPath: field]?.settingText },
                problem: { r in r[keyPath: field].flatMap { v in check?(v) } },
                parseOne: { try V.parse(setting: $0) })
    }

    /// A list: a YAML sequence, or one comma-separated text (the CLI's form for short lists).
    public static func list<V: SettingValue>(_ key: String, _ field: WritableKeyPath<Root, [V]>, flag: String? = nil, doc: String,
                                             check: (([V]) -> String?)? = nil) -> Setting {
        Setting(key: key, flag: flag ?? Self.flag(for: key), doc: doc, isList: true, field: field,
                assign: { root, input, _ in
                    switch input {
                    case .list(let items): root[keyPath: field] = try items.map { try V.parse(setting: $0) }
                    case .value(let s): root[keyPath: field] = [try V.parse(setting: s)]
                    }
                },
                render: { r in r[keyPath: field].isEmpty ? nil : r[keyPath: field].map(\.settingText).joined(separator: ",") },
                problem: { r in check?(r[keyPath: field]) },
                parseOne: { try V.parse(setting: $0) })
    }

    /// A file path, resolved against the config's folder (the CLI gives it as typed).
    public static func path(_ key: String, _ field: WritableKeyPath<Root, String?>, flag: String? = nil, doc: String) -> Setting {
        Setting(key: key, flag: flag ?? Self.flag(for: key), doc: doc, isList: false, field: field,
                assign: { root, input, base in
                    let s = try Self.single(input)
                    root[keyPath: field] = s.hasPrefix("/") || base == nil ? s : base!.appendingPathComponent(s).path
                },
                render: { $0[keyPath: field] }, problem: { _ in nil }, parseOne: { $0 })
    }

    /// A required file path (empty: not given), resolved against the config's folder.
    public static func path(_ key: String, _ field: WritableKeyPath<Root, String>, flag: String? = nil, doc: String) -> Setting {
        Setting(key: key, flag: flag ?? Self.flag(for: key), doc: doc, isList: false, field: field,
                assign: { root, input, base in
                    let s = try Self.single(input)
                    root[keyPath: field] = s.hasPrefix("/") || base == nil ? s : base!.appendingPathComponent(s).path
                },
                render: { $0[keyPath: field].isEmpty ? nil : $0[keyPath: field] }, problem: { _ in nil }, parseOne: { $0 })
    }

    /// A setting whose text has its own form (`auto` or a number, …).
    public static func custom<V>(_ key: String, _ field: WritableKeyPath<Root, V>, flag: String? = nil, doc: String,
                                 parse: @escaping (String) throws -> V, text: @escaping (V) -> String?,
                                 check: ((V) -> String?)? = nil) -> Setting {
        Setting(key: key, flag: flag ?? Self.flag(for: key), doc: doc, isList: false, field: field,
                assign: { root, input, _ in root[keyPath: field] = try parse(try Self.single(input)) },
                render: { text($0[keyPath: field]) }, problem: { r in check?(r[keyPath: field]) }, parseOne: { try parse($0) })
    }

    static func single(_ input: SettingInput) throws -> String {
        switch input {
        case .value(let s): return s
        case .list: throw SettingTextError("expected a single value, not a list or mapping")
        }
    }

    /// `generator.max_tokens` → `--max-tokens`.
    static func flag(for key: String) -> String {
        "--" + (key.split(separator: ".").last.map(String.init) ?? key).replacingOccurrences(of: "_", with: "-")
    }
}

/// A settings type that declares its settings (`declarations`) and starts at their defaults.
public protocol DeclaredSettings {
    /// Every field's default: what a user who sets nothing gets.
    static var defaults: Self { get }
    static var declarations: [Setting<Self>] { get }
}

/// A declared setting as the CLI uses it: its flag, help text, default and parser.
public struct DeclaredOption<Value> {
    public let key: String
    /// The flag's long name without the dashes (`max-tokens`).
    public let name: String
    public let doc: String
    public let defaultValue: Value
    /// The default as the user would write it (nil: none), for the help text.
    public let defaultText: String?
    /// One argument's value; throws `SettingTextError`.
    public let parse: (String) throws -> Value
}

extension DeclaredSettings {
    /// The declaration that sets `field`.
    public static func declaration(for field: PartialKeyPath<Self>) -> Setting<Self> {
        guard let d = declarations.first(where: { $0.field == field }) else {
            preconditionFailure("\(Self.self): no declaration for \(field)")
        }
        return d
    }

    /// The CLI form of the setting of `field` (default from `defaults`).
    public static func option<V>(_ field: KeyPath<Self, V>) -> DeclaredOption<V> {
        let d = declaration(for: field)
        return DeclaredOption(key: d.key, name: String(d.flag.dropFirst(2)), doc: d.doc, defaultValue: defaults[keyPath: field],
                              defaultText: d.render(defaults), parse: { try d.parseOne($0) as! V })
    }

    /// The CLI form of a list setting: `parse` reads one comma-separated argument,
    /// `element` one item of a repeated flag.
    public static func listOption<V>(_ field: KeyPath<Self, [V]>) -> (option: DeclaredOption<[V]>, element: (String) throws -> V) {
        let d = declaration(for: field)
        let element: (String) throws -> V = { try d.parseOne($0) as! V }
        return (DeclaredOption(key: d.key, name: String(d.flag.dropFirst(2)), doc: d.doc, defaultValue: defaults[keyPath: field],
                               defaultText: d.render(defaults), parse: { try SettingParse.names($0).map(element) }), element)
    }

    /// Every declared value allowed (each declaration's own rule).
    public func checkDeclared() throws {
        for d in Self.declarations { try d.check(self) }
    }

    /// The flag of a setting key, for the CLI's error lines.
    public static func flag(forKey key: String) -> String? {
        declarations.first { $0.key == key }?.flag
    }
}

/// Small rules for declarations, worded the same everywhere.
public enum SettingRule {
    public static func atLeast(_ m: Int) -> (Int) -> String? { { $0 >= m ? nil : "must be at least \(m)" } }
    public static func positive(_ v: Int) -> String? { v > 0 ? nil : "must be > 0" }
    public static func nonNegative(_ v: Int) -> String? { v >= 0 ? nil : "must be ≥ 0" }
}
