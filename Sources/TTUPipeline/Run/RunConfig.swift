import Foundation
import TTUCore
import TTUFiles
import TTUFiles
import TTUSampling
import Yams

/// The `ttu run` configuration: a YAML file whose every key is a declared setting of
/// `RunSettings` (`RunSettings.declarations`: key, doc, default, rule; `examples/ttu.yaml`
/// lists them all). Unknown keys, wrong types and bad values, cross-key rules included,
/// are refused at start with the file, line and key, before any stage runs.
public struct RunConfig {
    static var schema: [Setting<RunSettings>] { RunSettings.declarations }
    /// The declarations by YAML key (a config is read key by key).
    static let schemaByKey = Dictionary(uniqueKeysWithValues: schema.map { ($0.key, $0) })
    /// The sections, in order: what comes before the dot in a key.
    static let sections: [String] = {
        var out: [String] = []
        for k in RunSettings.declarations.map(\.key) where k.contains(".") {
            let s = String(k.split(separator: ".")[0])
            if !out.contains(s) { out.append(s) }
        }
        return out
    }()

    public let path: String
    /// The folder relative paths are read from.
    public let baseDir: URL
    /// Old key names still read, for one release: old → new.
    static let deprecatedKeys = ["calibration.bound": "calibration.inequality"]
    /// Deprecation notes for old key names this config used.
    public private(set) var notes: [String] = []
    private(set) var lines: [String: Int] = [:]
    /// Every stage's typed settings, validated.
    public private(set) var settings = RunSettings.defaults

    public init(path: String, text: String? = nil) throws {
        self.path = path
        baseDir = URL(fileURLWithPath: path).deletingLastPathComponent()
        let source: String
        if let text {
            source = text
        } else {
            guard let d = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "cannot read file (missing or unreadable)") }
            // A leading UTF-8 BOM (some editors write one) is skipped, as the JSONL and CSV readers do.
            source = String(decoding: d.starts(with: [0xEF, 0xBB, 0xBF]) ? d.dropFirst(3) : d[...], as: UTF8.self)
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: source)
        } catch let e as YamlError {
            throw InputError(file: path, "not valid YAML: \(Self.describe(e))")
        } catch {
            throw InputError(file: path, "not valid YAML: \(error)")
        }
        if let node {
            guard let top = node.mapping else { throw InputError(file: path, line: node.mark?.line, "expected a mapping of keys (see examples/ttu.yaml)") }
            try read(top, prefix: "")
        }
        try validate()
    }

    static func describe(_ e: YamlError) -> String {
        "\(e)".replacingOccurrences(of: "\n", with: " ")
    }

    private mutating func read(_ map: Node.Mapping, prefix: String) throws {
        for (k, v) in map {
            guard let key = k.scalar?.string else {
                throw InputError(file: path, line: k.mark?.line, "keys must be plain names")
            }
            var full = prefix.isEmpty ? key : prefix + "." + key
            let line = k.mark?.line
            if let new = Self.deprecatedKeys[full] {
                notes.append("\(path):\(line ?? 0): '\(full)' is deprecated, use '\(new)'")
                full = new
            }
            if prefix.isEmpty, Self.sections.contains(key) {
                guard let m = v.mapping else {
                    if v.scalar?.string.isEmpty ?? false || v.scalar?.string == "null" { continue }
                    throw InputError(file: path, line: line, field: key, "must be a mapping of keys")
                }
                try read(m, prefix: key)
                continue
            }
            guard let spec = Self.schemaByKey[full] else {
                let known = Self.schema.map(\.key).filter { prefix.isEmpty ? !$0.contains(".") : $0.hasPrefix(prefix + ".") }
                    .map { prefix.isEmpty ? $0 : String($0.dropFirst(prefix.count + 1)) }
                let sectionsHint = prefix.isEmpty ? " and sections " + Self.sections.joined(separator: ", ") : ""
                throw InputError(file: path, line: line, field: full,
                                 "unknown key (known\(prefix.isEmpty ? "" : " in '\(prefix)'"): \(known.joined(separator: ", "))\(sectionsHint))")
            }
            if lines[full] != nil { throw InputError(file: path, line: line, field: full, "given twice") }
            lines[full] = line
            if let s = v.scalar, s.string == "null" || s.string == "~" || (s.string.isEmpty && s.style == .plain) { continue }
            let input: SettingInput
            if let s = v.scalar?.string {
                input = .value(s)
            } else if spec.isList, let seq = v.sequence {
                var items: [String] = []
                for item in seq {
                    guard let s = item.scalar?.string else {
                        throw InputError(file: path, line: item.mark?.line ?? line, field: full, "list items must be plain values")
                    }
                    items.append(s)
                }
                input = .list(items)
            } else {
                throw InputError(file: path, line: line, field: full, spec.isList ? "expected a value or a list" : "expected a single value, not a list or mapping")
            }
            do {
                try spec.assign(&settings, input, baseDir)
            } catch {
                // A value the declaration refuses (its text, or its range): this line's error.
                guard let message = (error as? SettingTextError)?.message ?? (error as? SettingError)?.message else { throw error }
                throw InputError(file: path, line: line, field: full, message)
            }
        }
    }

    /// The run folder the config names, if any (already resolved against its folder).
    public var runDir: String? { settings.runDir }

    public func fail(_ key: String, _ message: String) -> InputError {
        InputError(file: path, line: lines[key] ?? lines[key.split(separator: ".").first.map(String.init) ?? ""], field: key, message)
    }

    /// Cross-key rules, checked before anything runs: the typed settings are validated by
    /// the same `validate()` the subcommands use, and a `SettingError` becomes this file's
    /// `line: field` error.
    private mutating func validate() throws {
        guard !settings.prompts.isEmpty else { throw fail("prompts", "missing: the prompt file (JSONL) is required") }
        // Settings the config does not spell out derive from others.
        if settings.training.embedding.endpoint == nil { settings.training.embedding.endpoint = settings.generator.endpoints.first }
        settings.training.embedding.apiKey = settings.generator.apiKey
        settings.training.seed = settings.seed
        do {
            try settings.validate()
        } catch let e as SettingError {
            if e.key == "split" {
                throw InputError(file: path, line: lines["split.train"] ?? lines["split.calibration"] ?? lines["split.test"], field: "split", e.message)
            }
            throw fail(e.key, e.message)
        }
    }

    /// The documented YAML with every key and its default (what examples/ttu.yaml holds).
    public static func exampleYAML() -> String {
        var o = "# ttu run --config ttu.yaml — every key, with its default and what it means.\n"
        o += "# Unknown keys are an error. Paths are relative to this file. `null` = not set.\n"
        var section = ""
        let defaults = RunSettings.defaults
        for k in schema {
            let parts = k.key.split(separator: ".").map(String.init)
            let indent = parts.count > 1 ? "  " : ""
            if parts.count > 1, parts[0] != section {
                section = parts[0]; o += "\n\(section):\n"
            } else if parts.count == 1, !section.isEmpty {
                section = ""
            }
            o += "\(indent)# \(k.doc)\n"
            o += "\(indent)\(parts.last!): \(k.yamlText(of: defaults))\n"
        }
        return o
    }
}
