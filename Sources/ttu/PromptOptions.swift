import ArgumentParser
import TTUPipeline

/// Where the prompt file keeps prompt and id: the declared `prompt_field` and `id_field`.
struct PromptFormatOptions: ParsableArguments {
    @Option(PromptFormat.option(\.promptField), valueName: "PATH") var promptField: String
    @Option(PromptFormat.option(\.idField), valueName: "PATH") var idField: String

    var format: PromptFormat { PromptFormat(promptField: promptField, idField: idField) }
}
