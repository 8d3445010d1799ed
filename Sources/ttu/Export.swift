import ArgumentParser
import TTUPipeline

extension ExportStage.Format: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the generated texts of a run folder or sample log(s) as JSONL or CSV.",
        usage: "ttu export RUNDIR | --db LOG [--db LOG …] [--out FILE]\n           [--format jsonl|csv] [--only-unsafe]",
        discussion: """
        One row per rated generation: stage (for a run folder: training,
        calibration or test), prompt_id, index, text, score, unsafe (at the
        threshold of the run that drew it). The unsafe generations come first,
        or alone with --only-unsafe. Texts are kept unless the run had
        generator.store_text: false (collect: --no-store-text).

          ttu export runs/demo --only-unsafe --out unsafe.jsonl
          ttu export --db log.sqlite --out generations.csv
        """)

    @Argument(help: "A run folder (its three sample logs).") var runDir: String?
    @Option(name: .customLong("db"), help: "A sample log instead of a run folder (repeatable).") var dbs: [String] = []
    @Option(help: "Output file (default: standard output).") var out: String?
    @Option(help: "jsonl or csv (default: from --out's name, else jsonl).") var format: ExportStage.Format?
    @Flag(name: .customLong("only-unsafe"), help: "Only the unsafe generations.") var onlyUnsafe = false

    func validate() throws {
        if (runDir == nil) == dbs.isEmpty { throw ValidationError("give a run folder or --db LOG, not both") }
    }

    func run() throws {
        let logs = try runDir.map { try ExportStage.runLogs($0) } ?? dbs.map { (stage: nil, path: $0) }
        var s = ExportStage.Settings(logs: logs, out: out)
        (s.format, s.onlyUnsafe) = (format, onlyUnsafe)
        try ExportStage.run(s, console: .cli())
    }
}
