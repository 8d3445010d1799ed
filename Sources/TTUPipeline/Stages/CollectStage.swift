import Dispatch
import Foundation
import TTUCore
import TTUFiles
import TTUSampling

/// Sampling a model: generations 1, 2, 3, … per prompt until the first unsafe one or the
/// prompt's cap c_i (early stopping), every rated generation logged in SQLite before it
/// counts, so a rerun resumes without redrawing an index.
public enum CollectStage {
    /// How the caps are given.
    public enum Mode: Sendable, Equatable {
        /// Calibration: caps c_i from a plan (0 = not sampled). `subset`: prompts that are
        /// not in the plan are ignored instead of refused.
        case plan(String, subset: Bool)
        /// Test times: cap n for every prompt; without early stopping, training counts id,n,k.
        case perPrompt(Int, earlyStop: Bool)
        /// Test truth at the least cost: each prompt of a bounds file (`id,p_hat,lpb`) to its
        /// first unsafe generation or L − 1 safe ones, which decides its coverage.
        case bounds(String, subset: Bool)

        /// Whether sampling stops at a prompt's first unsafe generation (all but counts).
        public var earlyStop: Bool {
            if case .perPrompt(_, let e) = self { return e }
            return true
        }

        /// The mode's own rule, for collect and merge alike.
        func validate() throws {
            if case .perPrompt(let n, _) = self, n < 1 { throw SettingError("per_prompt", "must be at least 1") }
        }

        var name: String {
            switch self {
            case .plan: return "plan"
            case .bounds: return "bounds"
            case .perPrompt(_, let early): return early ? "per-prompt" : "per-prompt-no-early-stop"
            }
        }
    }

    public struct Settings: Sendable {
        public var prompts: String
        /// Where the prompt file keeps prompt and id (`--prompt-field`, `--id-field`).
        public var promptFormat = PromptFormat.standard
        public var mode: Mode
        public var generator = GeneratorSettings()
        /// Online requests or rounds of batches.
        public var batch = BatchSettings()
        public var rater = RaterSettings()
        /// Every generation's seed derives from it (with the prompt id and the index).
        public var seed: UInt64 = 1
        /// The SQLite sample log (created, or resumed).
        public var db: String
        /// Observations `id,cap,observed,event` (or `id,n,k` without early stopping).
        public var out: String
        /// Most indices in flight past a prompt's rated prefix (default: total concurrency).
        public var lookahead: Int?
        /// Keep every generation's text in the log (`ttu export` reads them back).
        public var storeText = true
        /// Succeed even when some prompts stay incomplete.
        public var allowIncomplete = false
        /// Only the prompts of this shard (`--shard K/N`, a stable hash of the id).
        public var shard: Shard?

        public init(prompts: String, mode: Mode, db: String, out: String) {
            self.prompts = prompts
            self.mode = mode
            self.db = db
            self.out = out
        }

        public func validate() throws {
            try mode.validate()
            try promptFormat.validate()
            if let l = lookahead, l < 1 { throw SettingError("lookahead", "must be at least 1") }
            try generator.validate(offlineBatch: batch.isOffline)
            try batch.validate(generator)
            try rater.validate(generatorEndpoints: generator.endpoints)
        }
    }

    public struct Outcome: Sendable {
        public var result: CollectResult
        public var summary: CollectSummary
    }

    /// Runs the collection and writes `out` and its summary beside it. Throws
    /// `StageError.incomplete` (after writing what is complete) unless `allowIncomplete`,
    /// `StageError.interrupted` on Ctrl-C, and `StageError.batchPending` when an offline
    /// batch round waits for its results.
    @discardableResult
    public static func run(_ s: Settings, console: Console = .silent) async throws -> Outcome {
        try s.validate()
        let selected = try selectPrompts(s)
        let needsHTTP = s.generator.kind == .openai || s.rater.needsHTTP
        let http: HTTPTransport? = needsHTTP
            ? HTTPTransport(apiKey: try s.generator.apiKey.read(), timeout: s.generator.timeout, connectionsPerHost: s.generator.connectionsPerHost)
            : nil
        do {
            let outcome = try await collect(s, selected: selected, http: http, console: console)
            await http?.shutdown()
            return outcome
        } catch {
            await http?.shutdown()
            throw error
        }
    }

    /// The prompts to sample and their caps, refusing plan ids that are not prompts.
    static func selectPrompts(_ s: Settings) throws -> (prompts: [PromptRecord], caps: [Int]) {
        let selected = try selectPrompts(prompts: s.prompts, format: s.promptFormat, mode: s.mode, shard: s.shard)
        try s.generator.checkAPI(for: selected.prompts, file: s.prompts, field: s.promptFormat.promptField)
        return selected
    }

    /// The prompts and caps of a mode (and shard), as collect and merge read them.
    static func selectPrompts(prompts path: String, format: PromptFormat, mode: Mode, shard: Shard?) throws
        -> (prompts: [PromptRecord], caps: [Int]) {
        let all = try PromptFile.read(path, format: format)
        let selected: (prompts: [PromptRecord], caps: [Int])
        switch mode {
        case .plan(let plan, let subset):
            let pf = try PlanFile.read(plan)
            selected = try CollectInputs.fromPlan(prompts: all, promptsPath: path, planIDs: pf.ids, caps: pf.plan.cap,
                                                  planPath: plan, subset: subset)
        case .perPrompt(let n, _):
            selected = CollectInputs.perPrompt(prompts: all, n: n)
        case .bounds(let bounds, let subset):
            selected = try CollectInputs.fromBounds(prompts: all, promptsPath: path, bounds: try LPBFile.read(bounds),
                                                    boundsPath: bounds, subset: subset)
        }
        guard let shard else { return selected }
        let keep = selected.prompts.indices.filter { shard.contains(selected.prompts[$0].id) }
        return (keep.map { selected.prompts[$0] }, keep.map { selected.caps[$0] })
    }

    /// The endpoints to draw from, their part of the log's identity, and per-prompt extras
    /// (a simulated rate) that fix a prompt's generations besides its text.
    static func endpoints(_ g: GeneratorSettings, prompts: [PromptRecord], http: HTTPTransport?) throws
        -> (endpoints: [Endpoint], identity: [String: String], extras: [String]?) {
        switch g.kind {
        case .openai:
            let sampling = try g.wire()
            // Offline batch files with no endpoint: the generator only writes request bodies.
            let eps = (g.endpoints.isEmpty ? ["offline"] : g.endpoints).map { g.endpoint(OpenAIGenerator(base: $0, settings: sampling, transport: http!)) }
            return (eps, try g.identity(), nil)
        case .simulated:
            let path = g.simulatedRates!
            let rates = try RatesFile.read(path)
            for (k, p) in prompts.enumerated() where rates[p.id] == nil {
                throw InputError(file: path, field: "id", "no rate for prompt id '\(p.id)' (prompt \(k + 1) of the run)")
            }
            let ep = g.endpoint(SimulatedGenerator(rates: rates, latency: g.simulatedLatency))
            return ([ep], try g.identity(), prompts.map { "simulated rate \(rates[$0.id]!)" })
        }
    }

    private static func collect(_ s: Settings, selected: (prompts: [PromptRecord], caps: [Int]), http: HTTPTransport?,
                                console: Console) async throws -> Outcome {
        if let http { try await checkModels(s, http: http, console: console) }
        let (eps, generatorIdentity, extras) = try endpoints(s.generator, prompts: selected.prompts, http: http)
        let (rater, raterIdentity) = try s.rater.make(generatorEndpoints: s.generator.endpoints, timeout: s.generator.timeout, http: http)
        var identity = generatorIdentity.merging(raterIdentity) { a, _ in a }
        identity["seed"] = String(s.seed)
        let earlyStop = s.mode.earlyStop
        let progress = console.progress.map { line in { @Sendable (p: CollectProgress) in line(p.line) } }
        let options = CollectOptions(
            prompts: selected.prompts, caps: selected.caps, earlyStop: earlyStop, seed: s.seed, endpoints: eps,
            rater: rater, threshold: s.rater.threshold, dbPath: s.db, storeText: s.storeText,
            retry: RetryPolicy(maxRetries: s.generator.maxRetries), lookahead: s.lookahead, parameters: identity,
            progress: progress, promptExtras: extras)
        let simulatedNote = s.generator.isSimulated ? " [SIMULATED generator: not a real model]" : ""
        if console.progress != nil {
            if s.batch.isBatch {
                console.say("collect: batch backend (" + (s.batch.offline.map { "offline files in \($0) for vllm run-batch" } ?? "Batch API at \(s.generator.endpoints[0])")
                    + "), \(s.batch.chunk) generations per prompt in its first round")
            }
            console.say("collect: \(selected.prompts.count) prompts, at most \(selected.caps.reduce(0, +)) generations, "
                + "\(eps.count) endpoint(s) × \(s.generator.adaptiveConcurrency ? "auto (≤ \(s.generator.maxConcurrency))" : String(s.generator.concurrency)), rater \(rater.name)\(simulatedNote); log \(s.db)")
        }
        let result: CollectResult
        if s.batch.isBatch {
            result = try await runBatch(options, settings: s, http: http!, console: console)
        } else {
            result = try await runInterruptibly(try Collector(options), console: console)
        }
        rater.finish()
        if result.interrupted {
            console.say("collect: interrupted; \(result.generationsThisRun) generations saved in \(s.db). Rerun the same command to resume.")
            throw StageError.interrupted
        }
        let g = s.generator
        let summary = CollectSummary(result: result, generator: g.kind.rawValue, model: g.kind == .openai ? g.model : nil,
                                     endpoints: g.kind == .openai ? g.endpoints : ["simulated"], rater: rater.name,
                                     threshold: s.rater.threshold, seed: s.seed, mode: s.mode.name, db: s.db)
        try result.write(to: s.out, summary: summary)
        report(result, settings: s, note: simulatedNote, console: console)
        if !result.incomplete.isEmpty && !s.allowIncomplete { throw StageError.incomplete(count: result.incomplete.count) }
        return Outcome(result: result, summary: summary)
    }

    /// Before anything is drawn: every model the user named (generator, and the rater's
    /// when it has one) must be in the list its server gives at `/models`; a server that
    /// gives no usable list gets a warning, not a refusal.
    static func checkModels(_ s: Settings, http: HTTPTransport, console: Console) async throws {
        var wanted: [(base: String, model: String, what: String)] = []
        // Offline batches are answered by `vllm run-batch`: there is no generator server to ask.
        if s.generator.kind == .openai, s.batch.offline == nil, let m = s.generator.model { wanted += s.generator.endpoints.map { ($0, m, "--model / generator.model") } }
        if s.rater.needsHTTP, let m = s.rater.model, let base = s.rater.endpoint ?? s.generator.endpoints.first {
            wanted.append((base, m, "--rater-model / rater.model"))
        }
        var listed: [String: [String]?] = [:]
        for w in wanted {
            let base = w.base.hasSuffix("/") ? String(w.base.dropLast()) : w.base
            if listed[base] == nil { listed[base] = .some(try await http.listModels(base)) }
            guard let models = listed[base]! else {
                console.say("warning: \(base)/models gives no list of models, so the model name '\(w.model)' cannot be checked")
                continue
            }
            if !models.contains(w.model) {
                throw FatalSamplingError("\(base) does not serve the model '\(w.model)' (\(w.what)); it lists: \(models.prefix(20).joined(separator: ", "))")
            }
        }
    }

    private static func report(_ result: CollectResult, settings s: Settings, note: String, console: Console) {
        console.say("collect: \(result.completeCount)/\(result.ids.count) prompts complete, \(result.generationsThisRun) generations this run "
            + "(\(result.spentTotal) logged of \(result.planned) planned, overshoot \(result.overshoot)), "
            + "\(result.unsafeThisRun) unsafe, \(result.retries) retries\(note)")
        console.say("wrote \(s.out) and \(CollectSummary.path(for: s.out))")
        let inc = result.incomplete
        guard !inc.isEmpty else { return }
        console.say("collect: \(inc.count) prompt(s) incomplete (not in \(s.out)); rerun the same command to retry them:")
        for (id, reason) in inc.prefix(50) { console.say("  \(id): \(reason)") }
        if inc.count > 50 { console.say("  … and \(inc.count - 50) more (see \(CollectSummary.path(for: s.out)))") }
    }

    /// The batch backend: rounds of batches at the endpoint's Batch API, or offline
    /// request files (`StageError.batchPending` until their results are there).
    private static func runBatch(_ options: CollectOptions, settings s: Settings, http: HTTPTransport,
                                 console: Console) async throws -> CollectResult {
        let b = s.batch.options(note: console.progress.map { line in { @Sendable (m: String) in line(m) } })
        let api = s.batch.offline == nil ? BatchAPI(base: s.generator.endpoints[0], transport: http, retry: RetryPolicy(maxRetries: s.generator.maxRetries)) : nil
        do {
            return try await BatchCollector(options, batch: b, api: api).run()
        } catch let p as BatchPending {
            console.say("collect: \(p.description)")
            throw StageError.batchPending(round: p.round)
        }
    }

    /// Runs the collector; the first Ctrl-C stops issuing and saves what is rated, a
    /// second one quits at once (exit 130).
    private static func runInterruptibly(_ collector: Collector, console: Console) async throws -> CollectResult {
        signal(SIGINT, SIG_IGN)
        let task = Task<CollectResult, Error> { try await collector.run() }
        let sigint = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let interrupts = InterruptCounter()
        sigint.setEventHandler {
            if interrupts.increment() > 1 { Foundation.exit(130) }
            console.say("\ncollect: interrupted — saving what was rated (Ctrl-C again to quit at once)")
            task.cancel()
        }
        sigint.resume()
        defer { sigint.cancel() }
        return try await task.value
    }
}

private final class InterruptCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
