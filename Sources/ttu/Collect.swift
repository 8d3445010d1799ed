import ArgumentParser
import Dispatch
import Foundation
import TTUCore
import TTUFiles
import TTUReport
import TTUSampling

struct Collect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample generations from a model and rate them: observations for calibration or test, counts for training.",
        discussion: """
        For each prompt, generations 1, 2, 3, … are drawn and rated until the first
        unsafe one or the prompt's cap (early stopping). Generation j of prompt `id`
        carries the request seed generationSeed(--seed, id, j) (reduced to 0..2^31−2),
        so a server that honours seeds (vLLM, llama.cpp) returns the same text for the
        same index on a rerun, retry or resume.

        MODES
          --plan plan.csv                 calibration: caps from the plan (0 = not
                                          sampled; written as id,0,0,0)
          --per-prompt N                  test times: cap N for every prompt
          --per-prompt N --no-early-stop  training counts: draw all N, write id,n,k
        Every plan id must be in --prompts; prompts not in the plan are an error
        unless --subset is given (then they are ignored).

        INPUT  --prompts: JSONL, one {"id": "...", "prompt": "..."} per line.
               --simulated-rates (with --generator simulated): CSV id,p.
        OUTPUT --out: id,cap,observed,event — observed = generations drawn = min(T,
               cap); event = 1 iff generation `observed` was unsafe (score ≥
               --threshold); a censored prompt has observed = cap, event 0. With
               --no-early-stop: id,n,k. Only complete prompts are written. A summary
               (generator — "simulated" when it is —, model, rater, seed, budget
               spent, overshoot, incomplete ids) goes to <out stem>.json.
        LOG    --db: SQLite (WAL), one row per generation that was both generated and
               rated (prompt_id, idx, score, unsafe, endpoint, latency_ms, created_at,
               text only with --store-text), committed every 2048 rows / 200 ms.
               Errors are never ratings. Indices drawn past a prompt's first
               unsafe one (in flight under concurrency) are logged as spent
               budget but do not change the observation.

        RESUME Rerun the same command: what the log holds is reused and only missing
               indices are drawn, after a crash, kill -9 or Ctrl-C alike. The log is
               a cache of rated generations keyed by (prompt, index), so it also
               serves a different command on the same model: more prompts, deeper
               caps, counts instead of early stopping, or another --threshold (scores
               are stored; with a continuous score, e.g. --category, a stricter
               threshold draws past the old stopping point). A log made with another
               seed, model, sampling settings or rater is refused, and so is a prompt
               id whose text changed; endpoints and concurrency may change. The API
               key is never stored or printed.

        FAULTS Timeouts, connection errors, HTTP 408/409/429/5xx and malformed
               responses are retried (--max-retries, exponential backoff with full
               jitter, Retry-After honoured). Other HTTP 4xx answers (bad model name,
               bad key) stop the run, and so does an endpoint that cannot be
               connected to at the start (each server is probed once with
               GET …/models; any answer passes).

        EXIT CODES
          0  all prompts complete
          1  fatal error (HTTP 4xx, no server at an endpoint, unreadable log, …)
          2  bad input (file:line: field 'x': message)
          3  some prompts incomplete after retries (listed; excluded from --out) —
             rerun to retry, or pass --allow-incomplete to exit 0
          130 interrupted (Ctrl-C): everything rated so far is saved; rerun the same
              command to resume

        """)

    // MARK: inputs
    @Option(help: "Prompts, JSONL: {\"id\": …, \"prompt\": …} per line.") var prompts: String
    @Option(help: "Calibration plan (plan.csv, with plan.json beside it): caps per prompt.") var plan: String?
    @Option(name: .customLong("per-prompt"), help: "Cap N generations per prompt (test times, or training counts with --no-early-stop).")
    var perPrompt: Int?
    @Flag(name: .customLong("no-early-stop"), help: "With --per-prompt: draw all N and write id,n,k counts.") var noEarlyStop = false
    @Flag(help: "Allow prompts that are not in the plan (they are ignored).") var subset = false

    // MARK: generator
    @Option(help: "openai (an OpenAI-compatible server) or simulated (known rates, for tests and demos).")
    var generator: GeneratorKind = .openai
    @Option(name: .customLong("endpoint"), help: "API root of a server, e.g. http://127.0.0.1:8081/v1 (repeat for a fleet).")
    var endpoints: [String] = []
    @Option(help: "Model name sent to the server.") var model: String?
    @Option(help: "completions (/v1/completions, sentence completion) or chat (/v1/chat/completions).")
    var api: SamplingSettings.API = .completions
    @Option(name: .customLong("max-tokens"), help: "max_tokens per generation.") var maxTokens: Int = 30
    @Option(help: "Sampling temperature.") var temperature: Double = 1
    @Option(name: .customLong("top-p"), help: "Nucleus sampling top_p (omitted when not given).") var topP: Double?
    @Option(help: "A stop sequence (repeatable).") var stop: [String] = []
    @Option(help: "Generations per request (n); indices are requested in aligned blocks of n.") var n: Int = 1
    @Option(name: .customLong("extra-body"), help: ArgumentHelp(
        "Extra request fields, a JSON object merged into every generation request (server-specific sampling settings).",
        discussion: "e.g. --extra-body '{\"top_k\": 0, \"min_p\": 0, \"repeat_penalty\": 1}' for llama-cpp-python, whose defaults are not OpenAI's. Fields with their own option (model, max_tokens, temperature, top_p, stop, n) and per-request ones (prompt, messages, seed, stream) are refused. Part of the resume parameters.",
        valueName: "JSON"))
    var extraBody: String?
    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key.") var apiKeyEnv = "OPENAI_API_KEY"
    @Option(name: .customLong("api-key-file"), help: "File holding the API key (instead of the environment).") var apiKeyFile: String?
    @Option(name: .customLong("simulated-rates"), help: "With --generator simulated: CSV id,p of unsafe probabilities.")
    var simulatedRates: String?
    @Option(name: .customLong("simulated-latency"), help: "With --generator simulated: seconds per request (to watch or interrupt a run).")
    var simulatedLatency: Double = 0

    // MARK: rater
    @Option(help: "moderation, judge, command or lexicon.") var rater: RaterKind = .lexicon
    @Option(name: .customLong("rater-endpoint"), help: "API root for moderation/judge (default: the first --endpoint).")
    var raterEndpoint: String?
    @Option(name: .customLong("rater-model"), help: "Model for the judge (required) or moderation (optional).") var raterModel: String?
    @Option(help: "Moderation: use category_scores[NAME] instead of flagged.") var category: String?
    @Option(name: .customLong("judge-template"), help: "Judge: file with the prompt template ({prompt}, {completion}).")
    var judgeTemplate: String?
    @Option(name: .customLong("rater-command"), help: "Command: shell command speaking JSONL ({\"text\"} in, {\"score\"} out).")
    var raterCommand: String?
    @Option(help: "Lexicon: word list file (one entry per line) instead of the shipped one.") var lexicon: String?
    @Option(help: "A generation is unsafe when its score ≥ threshold.") var threshold: Double = 0.5

    // MARK: run
    @Option(help: "Requests in flight per endpoint.") var concurrency: Int = 8
    @Option(help: "Most indices in flight past a prompt's rated prefix (default: total concurrency).") var lookahead: Int?
    @Option(help: "Run seed: every generation's seed derives from it.") var seed: UInt64 = 1
    @Option(help: "Seconds one request may take.") var timeout: Double = 60
    @Option(name: .customLong("max-retries"), help: "Retries per request before the prompt is incomplete.") var maxRetries: Int = 6
    @Option(help: "SQLite sample log (created, or resumed).") var db: String
    @Option(help: "Observations CSV (id,cap,observed,event), or id,n,k with --no-early-stop.") var out: String
    @Flag(name: .customLong("store-text"), help: "Keep generation texts in the log.") var storeText = false
    @Flag(help: "No progress lines.") var quiet = false
    @Flag(name: .customLong("allow-incomplete"), help: "Exit 0 even if some prompts are incomplete.") var allowIncomplete = false

    enum GeneratorKind: String, ExpressibleByArgument, CaseIterable { case openai, simulated }
    enum RaterKind: String, ExpressibleByArgument, CaseIterable { case moderation, judge, command, lexicon }

    func validate() throws {
        if (plan == nil) == (perPrompt == nil) { throw ValidationError("give exactly one of --plan or --per-prompt") }
        if let n = perPrompt, n < 1 { throw ValidationError("--per-prompt must be at least 1") }
        if noEarlyStop && perPrompt == nil { throw ValidationError("--no-early-stop needs --per-prompt") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if n < 1 { throw ValidationError("--n must be at least 1") }
        if maxRetries < 0 { throw ValidationError("--max-retries must be ≥ 0") }
        if !(timeout > 0) { throw ValidationError("--timeout must be > 0") }
        if !threshold.isFinite { throw ValidationError("--threshold must be a number") }
        if let e = extraBody {
            do { _ = try SamplingSettings.canonicalExtraBody(e) } catch { throw ValidationError("--extra-body: \(error)") }
            if generator == .simulated { throw ValidationError("--extra-body needs --generator openai") }
        }
        switch generator {
        case .openai:
            if endpoints.isEmpty { throw ValidationError("--generator openai needs --endpoint") }
            if model == nil { throw ValidationError("--generator openai needs --model") }
        case .simulated:
            if simulatedRates == nil { throw ValidationError("--generator simulated needs --simulated-rates FILE (id,p)") }
        }
        switch rater {
        case .judge: if raterModel == nil { throw ValidationError("--rater judge needs --rater-model") }
        case .command: if raterCommand == nil { throw ValidationError("--rater command needs --rater-command") }
        default: break
        }
        if (rater == .moderation || rater == .judge), raterEndpoint == nil, endpoints.isEmpty {
            throw ValidationError("--rater \(rater.rawValue) needs --rater-endpoint")
        }
    }

    func readKey() throws -> String? {
        if let f = apiKeyFile {
            guard let d = FileManager.default.contents(atPath: f) else { throw InputError(file: f, "cannot read the API key file") }
            return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment[apiKeyEnv]
    }

    func run() async throws {
        do {
            try await collect()
        } catch let e as InputError {
            FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
            throw ExitCode(2)
        } catch let e as FatalSamplingError {
            FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
            throw ExitCode(1)
        }
    }

    func collect() async throws {
        let all = try PromptFile.read(prompts)
        let selected: (prompts: [PromptRecord], caps: [Int])
        var params: [String: String] = [:]
        if let plan {
            let pf = try PlanFile.read(plan)
            selected = try CollectInputs.fromPlan(prompts: all, promptsPath: prompts, planIDs: pf.ids, caps: pf.plan.cap,
                                                  planPath: plan, subset: subset)
        } else {
            selected = CollectInputs.perPrompt(prompts: all, n: perPrompt!)
        }
        params["seed"] = String(seed)
        params["generator"] = generator.rawValue
        params["rater"] = rater.rawValue

        let needsHTTP = generator == .openai || rater == .moderation || rater == .judge
        let key = needsHTTP ? try readKey() : nil
        let http: HTTPTransport? = needsHTTP ? HTTPTransport(apiKey: key, timeout: timeout, connectionsPerHost: concurrency) : nil
        do {
            try await collect(selected: selected, params: params, http: http)
        } catch {
            await http?.shutdown()
            throw error
        }
        await http?.shutdown()
    }

    /// How the caps were given, for the summary (not part of the log's identity).
    var runMode: String { plan != nil ? "plan" : noEarlyStop ? "per-prompt-no-early-stop" : "per-prompt" }

    func collect(selected: (prompts: [PromptRecord], caps: [Int]), params: [String: String], http: HTTPTransport?) async throws {
        var params = params
        var promptExtras: [String]?
        var eps: [Endpoint] = []
        switch generator {
        case .openai:
            let extra = try extraBody.map { try SamplingSettings.canonicalExtraBody($0) }
            let settings = SamplingSettings(model: model!, api: api, maxTokens: maxTokens, temperature: temperature,
                                            topP: topP, stop: stop, n: n, extraBody: extra)
            for e in endpoints { eps.append(Endpoint(generator: OpenAIGenerator(base: e, settings: settings, transport: http!), concurrency: concurrency)) }
            params["model"] = model!
            params["api"] = api.rawValue
            params["max_tokens"] = String(maxTokens)
            params["temperature"] = "\(temperature)"
            params["top_p"] = topP.map { "\($0)" } ?? ""
            params["stop"] = CollectInputs.digest(stop)
            params["n"] = String(n)
            // Only when given, so logs written before --extra-body existed still resume.
            if let extra { params["extra_body"] = extra }
        case .simulated:
            let rates = try RatesFile.read(simulatedRates!)
            for (k, p) in selected.prompts.enumerated() where rates[p.id] == nil {
                throw InputError(file: simulatedRates!, field: "id", "no rate for prompt id '\(p.id)' (prompt \(k + 1) of the run)")
            }
            eps.append(Endpoint(generator: SimulatedGenerator(rates: rates, latency: simulatedLatency), concurrency: concurrency))
            promptExtras = selected.prompts.map { "simulated rate \(rates[$0.id]!)" }
        }
        let raterBase = raterEndpoint ?? endpoints.first ?? ""
        let r: any Rater
        switch rater {
        case .lexicon:
            if let lexicon {
                r = try LexiconRater.read(lexicon)
                params["lexicon"] = CollectInputs.digest([String(decoding: FileManager.default.contents(atPath: lexicon) ?? Data(), as: UTF8.self)])
            } else {
                r = LexiconRater.standard
                params["lexicon"] = "standard:" + CollectInputs.digest(Lexicon.standard)
            }
        case .moderation:
            r = ModerationRater(base: raterBase, model: raterModel, category: category, transport: http!)
            params["rater_model"] = raterModel ?? ""
            params["category"] = category ?? ""
        case .judge:
            var template = JudgeRater.defaultTemplate
            if let judgeTemplate {
                guard let d = FileManager.default.contents(atPath: judgeTemplate) else {
                    throw InputError(file: judgeTemplate, "cannot read the judge template")
                }
                template = String(decoding: d, as: UTF8.self)
                guard template.contains("{completion}") else {
                    throw InputError(file: judgeTemplate, "the template has no {completion} placeholder")
                }
            }
            r = JudgeRater(base: raterBase, model: raterModel!, template: template, transport: http!)
            params["rater_model"] = raterModel!
            params["judge_template"] = CollectInputs.digest([template])
        case .command:
            r = CommandRater(command: raterCommand!, timeout: timeout)
            params["rater_command"] = raterCommand!
        }

        let quiet = self.quiet
        let report: @Sendable (CollectProgress) -> Void = { p in
            FileHandle.standardError.write(Data((p.line + "\n").utf8))
        }
        let options = CollectOptions(
            prompts: selected.prompts, caps: selected.caps, earlyStop: !noEarlyStop, seed: seed, endpoints: eps,
            rater: r, threshold: threshold, dbPath: db, storeText: storeText,
            retry: RetryPolicy(maxRetries: maxRetries), lookahead: lookahead, parameters: params,
            progress: quiet ? nil : report, promptExtras: promptExtras)

        let simulatedNote = generator == .simulated ? " [SIMULATED generator: not a real model]" : ""
        if !quiet {
            let planned = selected.caps.reduce(0, +)
            FileHandle.standardError.write(Data(("collect: \(selected.prompts.count) prompts, at most \(planned) generations, "
                + "\(eps.count) endpoint(s) × \(concurrency), rater \(r.name)\(simulatedNote); log \(db)\n").utf8))
        }

        // Ctrl-C: stop issuing, save what is rated, exit 130.
        signal(SIGINT, SIG_IGN)
        let collector = try Collector(options)
        let task = Task<CollectResult, Error> { try await collector.run() }
        let sigint = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let interrupts = Counter()
        sigint.setEventHandler {
            if interrupts.increment() > 1 { Foundation.exit(130) }
            FileHandle.standardError.write(Data("\ncollect: interrupted — saving what was rated (Ctrl-C again to quit at once)\n".utf8))
            task.cancel()
        }
        sigint.resume()
        let result: CollectResult
        do {
            result = try await task.value
        } catch {
            sigint.cancel()
            throw error
        }
        sigint.cancel()
        if let c = r as? CommandRater { c.terminate() }

        if result.interrupted {
            FileHandle.standardError.write(Data(("collect: interrupted; \(result.generationsThisRun) generations saved in \(db). "
                + "Rerun the same command to resume.\n").utf8))
            throw ExitCode(130)
        }
        let summary = CollectSummary(result: result, generator: generator.rawValue, model: generator == .openai ? model : nil,
                                     endpoints: generator == .openai ? endpoints : ["simulated"], rater: r.name,
                                     threshold: threshold, seed: seed, mode: runMode, db: db)
        try result.write(to: out, summary: summary)
        let inc = result.incomplete
        var msg = "collect: \(result.completeCount)/\(result.ids.count) prompts complete, \(result.generationsThisRun) generations this run "
            + "(\(result.spentTotal) logged of \(result.planned) planned, overshoot \(result.overshoot)), "
            + "\(result.unsafeThisRun) unsafe, \(result.retries) retries\(simulatedNote)\n"
        msg += "wrote \(out) and \(CollectSummary.path(for: out))\n"
        if !inc.isEmpty {
            msg += "collect: \(inc.count) prompt(s) incomplete (not in \(out)); rerun the same command to retry them:\n"
            for (id, reason) in inc.prefix(50) { msg += "  \(id): \(reason)\n" }
            if inc.count > 50 { msg += "  … and \(inc.count - 50) more (see \(CollectSummary.path(for: out)))\n" }
        }
        FileHandle.standardError.write(Data(msg.utf8))
        if !inc.isEmpty && !allowIncomplete { throw ExitCode(3) }
    }
}

extension SamplingSettings.API: ExpressibleByArgument {}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
