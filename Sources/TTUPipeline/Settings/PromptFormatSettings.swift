import TTUFiles

/// Where a prompt file keeps each record's prompt and id (TTUFiles).
public typealias PromptFormat = TTUFiles.PromptFormat

extension PromptFormat: DeclaredSettings {
    public static var defaults: PromptFormat { .standard }

    public static let declarations: [Setting<PromptFormat>] = [
        .value("prompt_field", \.promptField,
               doc: "Where each record keeps its prompt: a key, or a dotted path such as prompt.text (RealToxicityPrompts' JSONL); a CSV column. Its value is a string, or a chat conversation (a list of {role, content} turns; needs generator.api: chat).",
               check: { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "must name a field" : nil }),
        .value("id_field", \.idField,
               doc: "Where each record keeps its id (a key, dotted path or CSV column). With the default, a record without one gets its 1-based line number as its id (CSV: its row number, the header not counted).",
               check: { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "must name a field" : nil }),
    ]
}

extension PromptFormat {
    /// The declared rules, and the two fields apart.
    public func validate() throws {
        try checkDeclared()
        if promptField == idField { throw SettingError("id_field", "'\(idField)' is also the prompt field") }
    }
}
