import Foundation

/// One turn of a chat prompt: `{"role": "system" | "user" | "assistant" | …, "content": text}`.
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
}

/// One prompt of a prompt file. `prompt` is its text; a chat prompt (a `messages` list)
/// keeps its turns in `messages` and has as `prompt` the turns' contents, one per line
/// (what features, raters and the report read).
public struct PromptRecord: Sendable, Equatable {
    public var id: String
    public var prompt: String
    /// The conversation, sent as is by the chat API; nil for a plain prompt.
    public var messages: [ChatMessage]?
    public init(id: String, prompt: String, messages: [ChatMessage]? = nil) {
        self.id = id
        self.prompt = prompt
        self.messages = messages
    }
    /// A chat prompt from its turns.
    public init(id: String, messages: [ChatMessage]) {
        self.init(id: id, prompt: messages.map(\.content).joined(separator: "\n"), messages: messages)
    }
}

/// Where a prompt file keeps a record's id and prompt: `--id-field` and `--prompt-field`.
/// A field is a key or a dotted path into nested objects (`prompt.text` for
/// RealToxicityPrompts' own JSONL); in a CSV file it is a column name.
public struct PromptFormat: Sendable, Equatable, Codable {
    public var promptField: String
    public var idField: String
    public init(promptField: String = PromptFormat.standard.promptField, idField: String = PromptFormat.standard.idField) {
        self.promptField = promptField
        self.idField = idField
    }
    private init(standardPrompt: String, id: String) { promptField = standardPrompt; idField = id }
    enum CodingKeys: String, CodingKey { case promptField = "prompt_field", idField = "id_field" }
    /// `{"id": …, "prompt": …}`.
    public static let standard = PromptFormat(standardPrompt: "prompt", id: "id")

    /// Whether a record may lack its id (then its 1-based line number is its id): only
    /// with the standard id field; a field the user named must be in every record.
    var idMayBeMissing: Bool { idField == Self.standard.idField }
}

/// A prompt file as read: its records, the numeric fields asked for, and each record's
/// text as written (the split files keep every key or column of the input).
public struct PromptSource: Sendable {
    public enum Kind: String, Sendable { case jsonl, csv }
    public var kind: Kind
    public var records: [PromptRecord]
    /// `fields[k]` belongs to `records[k]`.
    public var fields: [[Double]]
    /// JSONL: each record's line verbatim (without its line break), with `"id"` added
    /// first when the id is its line number. CSV: each row, re-quoted where needed.
    public var lines: [String]
    /// CSV: the header line (with an `id` column first when ids are line numbers).
    public var header: String?

    /// The file text of the records at `rows` (in that order), in the input's format.
    public func text(rows: [Int]) -> String {
        (header.map { $0 + "\n" } ?? "") + rows.map { lines[$0] + "\n" }.joined()
    }
}

public enum PromptFile {
    /// JSONL unless the name ends in `.csv`.
    public static func kind(of path: String) -> PromptSource.Kind {
        path.lowercased().hasSuffix(".csv") ? .csv : .jsonl
    }

    /// Reads a prompt file (UTF-8; a leading BOM is skipped): JSONL, one JSON object per
    /// non-blank line, or CSV with a header naming the columns. Each record needs a
    /// non-empty prompt at `format.promptField` — a string, or (JSONL) a chat conversation,
    /// a list of `{"role", "content"}` turns (with the standard field, a `messages` key is
    /// read too) — and an id at `format.idField` (a string or an integer), unique in the
    /// file; a record without the standard `id` gets its 1-based line number as its id
    /// (CSV: its row number, the header not counted).
    public static func read(_ path: String, format: PromptFormat = .standard) throws -> [PromptRecord] {
        try parse(path, format: format, numericFields: [], keepText: false).records
    }

    /// Reads a prompt file (as `read(_:format:)`) and, in the same pass, the numeric fields
    /// `names` of every record (keys or dotted paths; CSV: columns). A missing field, a
    /// non-number or a non-finite value is an error naming file, line and field.
    public static func read(_ path: String, format: PromptFormat = .standard, numericFields names: [String])
        throws -> (records: [PromptRecord], fields: [[Double]]) {
        let r = try parse(path, format: format, numericFields: names, keepText: false)
        return (r.records, r.fields)
    }

    /// The whole file as read: records, numeric fields, and each record's text (what a
    /// split file is written from; the stages' reads leave the text out).
    public static func source(_ path: String, format: PromptFormat = .standard, numericFields names: [String] = []) throws -> PromptSource {
        try parse(path, format: format, numericFields: names, keepText: true)
    }

    private static func parse(_ path: String, format: PromptFormat, numericFields names: [String], keepText: Bool) throws -> PromptSource {
        guard var data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read file (missing or unreadable)")
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = Data(data.dropFirst(3)) }  // UTF-8 BOM
        let r = kind(of: path) == .csv
            ? try parseCSV(path, data: data, format: format, numericFields: names, keepText: keepText)
            : try parseJSONL(path, data: data, format: format, numericFields: names, keepText: keepText)
        if r.records.isEmpty { throw InputError(file: path, "no prompts in file") }
        return r
    }

    // MARK: - JSONL

    private static func parseJSONL(_ path: String, data: Data, format: PromptFormat, numericFields names: [String],
                                   keepText: Bool) throws -> PromptSource {
        // JSON is UTF-8: refuse a bad byte (naming its line) rather than let it decode as U+FFFD.
        if let bad = data.withUnsafeBytes({ invalidUTF8Offset($0.bindMemory(to: UInt8.self)) }) {
            throw notUTF8Error(file: path, bytes: data, offset: bad)
        }
        var out = PromptSource(kind: .jsonl, records: [], fields: [], lines: [], header: nil)
        var ids = PromptIDs(path: path)
        try JSONLines.forEachObject(data, file: path,
                                    notAnObject: "expected a JSON object with '\(format.idField)' and '\(format.promptField)'") { lineNo, bytes, dict in
            let field = { (name: String) in InputError.Field(file: path, line: lineNo, field: name) }
            let id: String
            let idValue = lookup(dict, format.idField)
            let idFromLine = idValue == nil
            if let v = idValue {
                id = try jsonID(v, at: field(format.idField))
            } else if format.idMayBeMissing {
                id = String(lineNo)
            } else {
                throw field(format.idField).error("missing")
            }
            var promptValue = lookup(dict, format.promptField)
            var promptField = format.promptField
            if promptValue == nil, format.promptField == PromptFormat.standard.promptField, let m = dict["messages"] {
                (promptValue, promptField) = (m, "messages")
            }
            guard let promptValue else { throw field(format.promptField).error("missing") }
            let record: PromptRecord
            if let s = promptValue as? String {
                record = PromptRecord(id: id, prompt: s)
            } else if let turns = promptValue as? [Any] {
                record = PromptRecord(id: id, messages: try chat(turns, at: field(promptField)))
            } else {
                throw field(promptField).error("must be a string or a list of chat turns ({\"role\", \"content\"})")
            }
            if record.prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw field(promptField).error("empty prompt (id '\(id)')")
            }
            try ids.add(id, line: lineNo, field: format.idField)
            out.records.append(record)
            if keepText {
                var text = String(decoding: bytes, as: UTF8.self)
                if idFromLine {
                    // The split files read this record again: its line-number id goes in with it.
                    let open = text.firstIndex(of: "{")!
                    text = text[..<open] + "{\"\(format.idField)\":\"\(id)\"," + text[text.index(after: open)...]
                }
                out.lines.append(text)
            }
            if !names.isEmpty {
                // Numbers from JSONDecoder: correctly rounded, as the CSV reader's are.
                let tree = try JSONDecoder().decode(JSONTree.self, from: bytes)
                out.fields.append(try names.map { name in
                    guard let v = tree.lookup(name) else {
                        throw field(name).error("missing (the model's features need it for every prompt)")
                    }
                    guard case .number(let x) = v, x.isFinite else { throw field(name).error("must be a finite number") }
                    return x
                })
            }
        }
        return out
    }

    /// The value at a key, or at a dotted path into nested objects (`prompt.text`); a key
    /// that itself holds dots is found first.
    static func lookup(_ dict: [String: Any], _ path: String) -> Any? {
        dottedLookup(dict as Any, path) { ($0 as? [String: Any])?[$1] }
    }

    /// `lookup` for any JSON tree, given how to find an object's member.
    static func dottedLookup<T>(_ root: T, _ path: String, member: (T, String) -> T?) -> T? {
        if let v = member(root, path) { return v }
        guard path.contains(".") else { return nil }
        var current = root
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let v = member(current, String(part)) else { return nil }
            current = v
        }
        return current
    }

    private static func jsonID(_ v: Any, at field: InputError.Field) throws -> String {
        let id: String
        if let s = v as? String {
            id = s
        } else if let n = v as? NSNumber, String(cString: n.objCType) != "c" {
            // Integers arrive as exact Int64 (types q, l, i, s); an integral double as written 7.0.
            if "qlis".contains(String(cString: n.objCType)) { id = String(n.int64Value) }
            else if let i = Int64(exactly: n.doubleValue) { id = String(i) }
            else { throw field.error("must be a string or an integer") }
        } else {
            throw field.error("must be a string or an integer")
        }
        if id.trimmingCharacters(in: .whitespaces).isEmpty { throw field.error("empty id") }
        return id
    }

    /// A chat conversation: a non-empty list of `{"role", "content"}` with string values.
    private static func chat(_ turns: [Any], at field: InputError.Field) throws -> [ChatMessage] {
        if turns.isEmpty { throw field.error("an empty conversation (a chat prompt needs at least one turn)") }
        return try turns.enumerated().map { k, t in
            let at = "\(field.field)[\(k)]"
            guard let d = t as? [String: Any] else { throw field.renamed(at).error("a chat turn must be an object {\"role\", \"content\"}") }
            guard let role = d["role"] as? String, !role.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw field.renamed(at + ".role").error("must be a non-empty string (system, user, assistant …)")
            }
            guard let content = d["content"] as? String else {
                throw field.renamed(at + ".content").error("must be a string")
            }
            return ChatMessage(role: role, content: content)
        }
    }

    // MARK: - CSV

    private static func parseCSV(_ path: String, data: Data, format: PromptFormat, numericFields names: [String],
                                 keepText: Bool) throws -> PromptSource {
        let reader = try CSVReader(path: path, bytes: [UInt8](data), columns: nil)
        let column = { (name: String) -> Int? in reader.header.firstIndex(of: name) }
        guard let promptColumn = column(format.promptField) else {
            throw InputError(file: path, line: 1, field: format.promptField,
                             "missing column (the prompt; columns: \(reader.header.joined(separator: ",")); set --prompt-field)")
        }
        let idColumn = column(format.idField)
        if idColumn == nil, !format.idMayBeMissing {
            throw InputError(file: path, line: 1, field: format.idField, "missing column (columns: \(reader.header.joined(separator: ",")))")
        }
        let numeric = try names.map { name -> Int in
            guard let c = column(name) else {
                throw InputError(file: path, line: 1, field: name, "missing column (the model's features need it for every prompt)")
            }
            return c
        }
        var out = PromptSource(kind: .csv, records: [], fields: [], lines: [], header: nil)
        if keepText { out.header = ((idColumn == nil ? [format.idField] : []) + reader.header).map(CSVWriter.escape).joined(separator: ",") }
        var ids = PromptIDs(path: path)
        var rowNumber = 0
        try reader.forEachRow { row in
            rowNumber += 1
            // Without an id column, the row's number (the header not counted): a CSV and its
            // JSONL twin without ids give the same ids.
            let id = try idColumn.map { try row.id($0) } ?? String(rowNumber)
            let text = row.string(promptColumn)
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw InputError(file: path, line: row.line, field: format.promptField, "empty prompt (id '\(id)')")
            }
            try ids.add(id, line: row.line, field: format.idField)
            out.records.append(PromptRecord(id: id, prompt: text))
            if !names.isEmpty {
                out.fields.append(try numeric.map { c in
                    let x = try row.double(c)
                    if !x.isFinite { throw InputError(file: path, line: row.line, field: reader.header[c], "must be a finite number") }
                    return x
                })
            }
            if keepText {
                let cells = (idColumn == nil ? [id] : []) + (0..<row.fieldCount).map { row.string($0) }
                out.lines.append(cells.map(CSVWriter.escape).joined(separator: ","))
            }
        }
        return out
    }
}

/// Ids seen so far; a repeat names the line of the first.
private struct PromptIDs {
    let path: String
    var seen: [String: Int] = [:]
    mutating func add(_ id: String, line: Int, field: String) throws {
        if let first = seen[id] {
            throw InputError(file: path, line: line, field: field, "duplicate id '\(id)' (first on line \(first))")
        }
        seen[id] = line
    }
}
