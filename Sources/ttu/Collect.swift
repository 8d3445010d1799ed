import ArgumentParser
import TTUPipeline

struct Collect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample a model and rate the generations: calibration or test observations, or training counts.",
        discussion: """
        For each prompt, generations 1, 2, 3, … are drawn and rated until the
        first unsafe one or the prompt's cap c (early stopping). Generation j of
        prompt `id` carries a seed derived from (--seed, id, j), so a server that
        honours seeds returns the same text on a rerun, retry or resume.

        MODES
          --plan plan.csv                 calibration: caps c from the plan
                                          (0 = not sampled; written id,0,0,0)
          --per-prompt N                  test times: cap N for every prompt
          --per-prompt N --no-early-stop  training counts: all N, id,n,k
          --cap-from lpb.csv              test truth at least cost: each prompt
                                          of a bounds file (id,p_hat,lpb) to its
                                          first unsafe generation or L − 1 safe
                                          ones, which decides whether T ≥ L
        Every plan (or bounds) id must be in --prompts; other prompts are an
        error unless --subset is given (then they are ignored).

        SHARDS --shard K/N samples only the prompts of shard K of N (a stable
               hash of the id: the same on every machine). Run one shard per
               host with the same flags, then `ttu merge --db … --db …`: the
               observations are those of one unsharded run, byte for byte.

        OUTPUT --out: id,cap,observed,event — observed = generations drawn =
               min(T, c); event = 1 iff generation `observed` was unsafe
               (score ≥ --threshold). Only complete prompts are written. A
               summary (generator, "simulated" when it is, model, rater, seed,
               budget spent, overshoot, incomplete ids) goes to <out stem>.json.
        LOG    --db: SQLite, one row per rated generation, committed in
               batches. Errors are never ratings.
        RESUME Rerun the same command: only missing indices are drawn. The log
               is a cache keyed by (prompt, index): more prompts, deeper caps,
               counts, or another --threshold reuse it. A log made with another
               seed, model, sampling settings or rater is refused, and so is a
               prompt id whose text changed. The API key is never stored.
        FAULTS Timeouts, connection errors, 408/409/429/5xx and malformed
               answers are retried (backoff, Retry-After honoured); other 4xx
               answers and a server that cannot be reached stop the run.

        BATCH  --backend batch draws the same generations (same bodies, same
               seeds, same log) in rounds of OpenAI-format batches: each round
               asks every prompt not yet stopped for its next generations
               (--batch-chunk in its first round, then up to as many as it
               has rated safe), submits them to the endpoint's Batch API
               (/files, /batches), polls every --batch-poll-interval seconds,
               then rates and logs the output. The batch id is in the log
               before polling: a killed run resumes that batch, never
               resubmits it. --batch-offline DIR writes DIR/requests-roundK.jsonl
               for `vllm run-batch -i … -o DIR/results-roundK.jsonl` and exits 4;
               rerun the same command to ingest the results and go on.

        EXIT CODES  0 complete · 1 fatal (4xx, no server) · 2 bad input ·
        3 prompts incomplete (rerun to retry, or --allow-incomplete) ·
        4 an offline batch round waits for its results (run the printed
        command, then rerun) · 130 interrupted (Ctrl-C; rerun to resume)
        """)

    @Option(help: "Prompts: JSONL ({\"id\": …, \"prompt\": …} per line) or CSV (by the .csv name).") var prompts: String
    @OptionGroup var promptFormat: PromptFormatOptions
    @OptionGroup var caps: CapsOptions
    @Option(help: "Only shard K of N (K/N, e.g. 2/4): a stable hash of the prompt id picks the shard.", transform: Collect.parseShard)
    var shard: Shard?
    @OptionGroup(title: "Generator") var generator: GeneratorOptions
    @OptionGroup(title: "Backend") var backend: BackendOptions
    @OptionGroup(title: "Rater") var rater: RaterOptions
    @Option(help: "Most indices in flight past a prompt's rated prefix (default: total concurrency).") var lookahead: Int?
    @Option(help: "Run seed: every generation's seed derives from it.") var seed: UInt64 = 1
    @Option(help: "SQLite sample log (created, or resumed).") var db: String
    @Option(help: "Observations CSV (id,cap,observed,event), or id,n,k with --no-early-stop.") var out: String
    @Flag(name: .customLong("store-text"), inversion: .prefixedNo,
          help: "Keep generation texts in the log (ttu export writes them out).") var storeText = true
    @Flag(help: "No progress lines.") var quiet = false
    @Flag(name: .customLong("allow-incomplete"), help: "Exit 0 even if some prompts are incomplete.") var allowIncomplete = false

    func validate() throws {
        try validating { try settings.validate() }
    }

    static func parseShard(_ s: String) throws -> Shard {
        guard let shard = Shard(parsing: s) else { throw ValidationError("--shard: '\(s)' is not K/N with 1 ≤ K ≤ N (e.g. 2/4)") }
        return shard
    }

    var settings: CollectStage.Settings {
        var s = CollectStage.Settings(prompts: prompts, mode: caps.mode, db: db, out: out)
        s.shard = shard
        s.promptFormat = promptFormat.format
        s.batch = backend.settings
        (s.generator, s.rater, s.seed, s.lookahead) = (generator.settings, rater.settings, seed, lookahead)
        (s.storeText, s.allowIncomplete) = (storeText, allowIncomplete)
        return s
    }

    func run() async throws {
        try await CollectStage.run(settings, console: .cli(quiet: quiet))
    }
}
