import ArgumentParser
import TTUPipeline

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Observations from sample logs collected apart (shards, hosts), without sampling.",
        discussion: """
        Reads the logs of `ttu collect --shard K/N` runs (same generator, rater
        and seed; disjoint prompts) and writes the observations one unsharded
        `ttu collect` with the same caps would have written, byte for byte. A
        prompt no log covers to its cap is incomplete (exit 3), never safe.
        --into also writes the logs combined into one new log.

          ttu merge --db a.sqlite --db b.sqlite --prompts p.jsonl --plan plan.csv --out obs.csv

        EXIT CODES  0 complete · 1 logs that cannot be merged · 2 bad input ·
        3 prompts incomplete (finish their shard, merge again)
        """)

    @Option(name: .customLong("db"), help: "A sample log (repeat: one per shard).") var dbs: [String] = []
    @Option(help: "Also write the combined sample log here (a new file).") var into: String?
    @Option(help: "The whole prompt set (JSONL or CSV), as every shard was given it.") var prompts: String
    @OptionGroup var promptFormat: PromptFormatOptions
    @OptionGroup var caps: CapsOptions
    @Option(help: "Score at or above which a generation is unsafe (as given to collect).") var threshold = RaterSettings().threshold
    @Option(help: "Observations CSV (id,cap,observed,event), or id,n,k with --no-early-stop.") var out: String
    @Flag(name: .customLong("allow-incomplete"), help: "Exit 0 even if some prompts are incomplete.") var allowIncomplete = false

    func validate() throws {
        if dbs.isEmpty { throw ValidationError("give at least one --db") }
        try validating { try settings.validate() }
    }

    var settings: MergeStage.Settings {
        var s = MergeStage.Settings(dbs: dbs, prompts: prompts, mode: caps.mode, out: out)
        s.promptFormat = promptFormat.format
        (s.into, s.threshold, s.allowIncomplete) = (into, threshold, allowIncomplete)
        return s
    }

    func run() throws {
        try MergeStage.run(settings, console: .cli())
    }
}
