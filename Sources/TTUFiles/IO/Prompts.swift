import Foundation

/// One prompt of a JSONL prompt file: `{"id": "p1", "prompt": "text", …}`.
/// Extra keys are read only where asked for (`read(_:numericFields:)`) and kept verbatim
/// by `readLines(_:)`.
public struct PromptRecord: Sendable, Equatable {
    public var id: String
    public var prompt: String
    public init(id: String, prompt: String) { self.id = id; self.prompt = prompt }
}

public enum PromptFile {
    /// Reads a JSONL prompt file (UTF-8; a leading BOM is skipped). Each non-blank line
    /// must be a JSON object with a non-empty string `id` (integers are accepted and
    /// turned into text) and a non-empty string `prompt`; ids must be unique.
    public static func read(_ path: String) throws -> [PromptRecord] {
        try read(path, numericFields: []).records
    }

    /// Reads a JSONL prompt file (as `read(_:)`) and, in the same pass, the numeric keys
    /// `names` of every record (`fields[k]` belongs to `records[k]`). A missing key, a
    /// non-number or a non-finite value is an error naming file, line and field.
    public static func read(_ path: String, numericFields names: [String]) throws -> (records: [PromptRecord], fields: [[Double]]) {
        let r = try parse(path, numericFields: names)
        return (r.records, r.fields)
    }

    /// Reads a JSONL prompt file (as `read(_:numericFields:)`) and keeps each record's
    /// JSON line verbatim (without its line break), so a file split into parts keeps
    /// every key a later stage may need (e.g. a prompt score for `--features fields`).
    public static func readLines(_ path: String, numericFields names: [String] = []) throws
        -> (records: [PromptRecord], fields: [[Double]], lines: [String]) {
        try parse(path, numericFields: names, keepLines: true)
    }

    private static func parse(_ path: String, numericFields names: [String], keepLines: Bool = false) throws
        -> (records: [PromptRecord], fields: [[Double]], lines: [String]) {
        guard var data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read file (missing or unreadable)")
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = Data(data.dropFirst(3)) }  // UTF-8 BOM
        // JSON is UTF-8: refuse a bad byte (naming its line) rather than let it decode as U+FFFD.
        if let bad = data.withUnsafeBytes({ invalidUTF8Offset($0.bindMemory(to: UInt8.self)) }) {
            throw notUTF8Error(file: path, bytes: data, offset: bad)
        }
        var out: [PromptRecord] = []
        var fields: [[Double]] = []
        var lines: [String] = []
        var seen: [String: Int] = [:]
        var lineNo = 0
        for rawLine in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNo += 1
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let obj: Any
            do {
                obj = try JSONSerialization.jsonObject(with: Data(line), options: [])
            } catch {
                throw InputError(file: path, line: lineNo, "not valid JSON")
            }
            guard let dict = obj as? [String: Any] else {
                throw InputError(file: path, line: lineNo, "expected a JSON object with 'id' and 'prompt'")
            }
            guard dict["id"] != nil else { throw InputError(file: path, line: lineNo, field: "id", "missing") }
            let id: String
            if let s = dict["id"] as? String {
                id = s
            } else if let probe = try? JSONDecoder().decode(IntegerID.self, from: Data(line)) {
                id = String(probe.id)
            } else {
                throw InputError(file: path, line: lineNo, field: "id", "must be a string or an integer")
            }
            if id.trimmingCharacters(in: .whitespaces).isEmpty {
                throw InputError(file: path, line: lineNo, field: "id", "empty id")
            }
            guard let prompt = dict["prompt"] else {
                throw InputError(file: path, line: lineNo, field: "prompt", "missing")
            }
            guard let text = prompt as? String else {
                throw InputError(file: path, line: lineNo, field: "prompt", "must be a string")
            }
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw InputError(file: path, line: lineNo, field: "prompt", "empty prompt (id '\(id)')")
            }
            if let first = seen[id] {
                throw InputError(file: path, line: lineNo, field: "id", "duplicate id '\(id)' (first on line \(first))")
            }
            seen[id] = lineNo
            out.append(PromptRecord(id: id, prompt: text))
            if keepLines { lines.append(String(decoding: line, as: UTF8.self)) }
            if !names.isEmpty {
                fields.append(try names.map { name in
                    guard let v = dict[name] else {
                        throw InputError(file: path, line: lineNo, field: name, "missing (the model's features need it for every prompt)")
                    }
                    // JSON true/false arrive as NSNumber too (never as Bool): objCType "c" marks them.
                    guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite else {
                        throw InputError(file: path, line: lineNo, field: name, "must be a finite number")
                    }
                    return n.doubleValue
                })
            }
        }
        if out.isEmpty { throw InputError(file: path, "no prompts in file") }
        return (out, fields, lines)
    }
}

private struct IntegerID: Decodable { let id: Int64 }
