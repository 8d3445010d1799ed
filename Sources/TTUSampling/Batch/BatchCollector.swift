import Foundation
import TTUCore
import TTUFiles

/// The batch backend of `collect`: the same early-stopping budgeted sampling as
/// `Collector`, in rounds of one batch each instead of requests in flight.
///
/// A round: every prompt not yet stopped (first unsafe generation, or its cap) gets its
/// next generation indices (`BatchOptions.chunk` in its first round, then a window that
/// doubles); their requests — the bodies the online generator sends, per-index seeds
/// included — are written as one JSONL file and recorded in the sample log
/// (`batch_rounds`), then submitted (`/v1/files`, `/v1/batches`) and the batch id
/// recorded before anything is polled. When the batch is done, its output is read
/// strictly (`BatchOutput`), rated, and logged in index order in the transaction that
/// marks the round ingested. Then the next round, until every prompt is stopped or at
/// its cap.
///
/// Crash safety: a rerun finds a round that was recorded and not ingested and resumes it
/// — by batch id once it was submitted, so its requests are never submitted twice — and
/// since the generations are those of the online path, the log is the online log: either
/// backend resumes the other's log.
/// Failures: an error line, a line missing from an expired or cancelled batch (the
/// completed lines are kept), a failed batch, or a rating that fails after its retries is
/// a failed generation, never a rating: it is requested again in the next round, and
/// after `maxAttempts` rounds its prompt is reported incomplete with the last reason.
/// Offline (`offlineDir`): a round's request file is written for `vllm run-batch` and
/// `run()` throws `BatchPending`; rerun with the results file beside it to ingest it.
public final class BatchCollector: @unchecked Sendable {
    public let options: CollectOptions
    public let batch: BatchOptions
    let api: BatchAPI?
    let generator: OpenAIGenerator
    private let collector: Collector
    private var slotOf: [String: Int] = [:]
    /// This round's failed requests, and why (recorded with the round when it is ingested).
    private var roundFailures: [String: String] = [:]
    private var generationsThisRun = 0, unsafeThisRun = 0, retries = 0, failedRequests = Set<String>(), submits = 0

    /// `api` is the Batch API (nil offline); the one endpoint's generator must be an
    /// `OpenAIGenerator` (its request bodies are the batch's lines).
    public init(_ options: CollectOptions, batch: BatchOptions, api: BatchAPI?) throws {
        collector = try Collector(options)
        guard options.endpoints.count == 1, let g = options.endpoints[0].generator as? OpenAIGenerator else {
            throw FatalSamplingError("the batch backend needs exactly one OpenAI-compatible endpoint (the Batch API's root, or the model for vllm run-batch)")
        }
        guard api != nil || batch.offlineDir != nil else { throw FatalSamplingError("the batch backend needs a Batch API or an offline folder") }
        self.options = options
        self.batch = batch
        self.api = batch.offlineDir == nil ? api : nil
        generator = g
        for (k, p) in options.prompts.enumerated() { slotOf[p.id] = k }
    }

    /// The folder of the round files.
    var folder: String { batch.offlineDir ?? batch.workDir ?? options.dbPath + ".batch" }
    func requestFile(_ round: Int) -> String { folder + "/requests-round\(round).jsonl" }
    func resultsFile(_ round: Int) -> String { folder + "/results-round\(round).jsonl" }
    func errorsFile(_ round: Int) -> String { folder + "/errors-round\(round).jsonl" }

    public func run() async throws -> CollectResult {
        let start = Date()
        let log = try collector.openAndCheckLog()
        try log.prepareBatchRounds()
        if api != nil { try await generator.preflight() }
        try await options.rater.preflight()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        while true {
            try Task.checkCancellation()
            var logged = Set<Key>()
            let sched = try collector.preloadScheduler(from: log, maxAhead: batch.chunk, growAhead: true) { logged.insert(Key(slot: $0, index: $1)) }
            sched.maxConsecutiveFailures = .max
            let rounds = try log.batchRounds()
            if let pending = rounds.last, pending.state != .ingested {
                try await finish(pending, log: log, logged: logged)
                continue
            }
            // The rounds each request failed in (since the last run that reported them).
            let from = try log.batchRetryFrom()
            var attempts: [String: Int] = [:], lastFailure: [String: String] = [:]
            for r in rounds where r.round >= from {
                for (id, why) in r.failures { attempts[id, default: 0] += 1; lastFailure[id] = why }
            }
            var jobs = sched.takeAll()
            var stopped = Set<Int>()
            for j in jobs where (attempts[customID(j)] ?? 0) >= batch.maxAttempts {
                stopped.insert(j.slot)
                sched.fail(j, "failed in \(batch.maxAttempts) batch rounds (last: \(lastFailure[customID(j)] ?? "unknown"))")
            }
            jobs.removeAll { stopped.contains($0.slot) }
            if jobs.count > batch.maxRequests { jobs.removeLast(jobs.count - batch.maxRequests) }
            if jobs.isEmpty {
                // Reported incomplete: a rerun gives those requests new rounds.
                if !stopped.isEmpty { try log.setInfo("batch_retry_from_round", String((rounds.last?.round ?? 0) + 1)) }
                return result(sched, start: start)
            }
            let k = (rounds.last?.round ?? 0) + 1
            try await submit(BatchRound(round: k, requests: jobs.map(customID), requestFile: requestFile(k), requestDigest: "",
                                        inputFileID: nil, batchID: nil, state: .prepared), log: log, new: true)
        }
    }

    private struct Key: Hashable { var slot: Int; var index: Int }

    private func customID(_ j: Job) -> String { BatchRequest(promptID: options.prompts[j.slot].id, firstIndex: j.first).customID }

    /// The request file's text for a round's custom_ids (the same text on every rerun).
    private func requestText(_ ids: [String]) throws -> String {
        var out = ""
        for id in ids {
            guard let r = BatchRequest(customID: id), let slot = slotOf[r.promptID] else {
                throw FatalSamplingError("\(options.dbPath): a recorded batch round asks for '\(id)', a prompt this run does not have; rerun with the prompts of that run to finish the round")
            }
            out += r.line(prompt: options.prompts[slot], generator: generator, runSeed: options.seed) + "\n"
        }
        return out
    }

    /// Writes and records a round (`new`), then — online — uploads and creates its batch,
    /// recording each id as soon as it is known. Offline it throws `BatchPending`.
    private func submit(_ r: BatchRound, log: SampleLog, new: Bool) async throws {
        var r = r
        let text = try requestText(r.requests)
        let digest = CollectInputs.digest([text])
        if new {
            r.requestDigest = digest
            try writeAtomically(Data(text.utf8), to: r.requestFile)
            try log.recordBatchRound(r)
        } else if digest != r.requestDigest {
            throw FatalSamplingError("\(options.dbPath): batch round \(r.round)'s requests now read differently than when it was recorded (another generator setting?); \(log.newLogHint)")
        } else if !FileManager.default.fileExists(atPath: r.requestFile) {
            try writeAtomically(Data(text.utf8), to: r.requestFile)
        }
        guard let api else { throw pending(r) }
        var fileID = r.inputFileID
        if fileID == nil {
            fileID = try await api.upload(Data(text.utf8), filename: "ttu-round\(r.round).jsonl")
            try log.updateBatchRound(r.round, inputFileID: fileID, batchID: nil, state: .prepared)
        }
        let created = try await api.create(inputFileID: fileID!, endpoint: BatchRequest.endpoint(generator.settings.api))
        try log.updateBatchRound(r.round, inputFileID: fileID, batchID: created.id, state: .submitted)
        submits += 1
        batch.note?("batch round \(r.round): submitted \(created.id) (\(r.requests.count) requests); polling every \(Num.format(batch.pollInterval)) s")
        if let f = batch.faultInjection, submits >= f.afterSubmits { throw SimulatedBatchKill(afterSubmits: submits) }
    }

    private func pending(_ r: BatchRound) -> BatchPending {
        BatchPending(round: r.round, requests: r.requests.count, requestFile: r.requestFile, resultsFile: resultsFile(r.round),
                     model: generator.settings.model)
    }

    /// Finishes a recorded round: submits what was not submitted, polls, then ingests.
    private func finish(_ r: BatchRound, log: SampleLog, logged: Set<Key>) async throws {
        guard let api else {
            let results = resultsFile(r.round)
            guard FileManager.default.fileExists(atPath: results) else { return try await submit(r, log: log, new: false) }
            guard let data = FileManager.default.contents(atPath: results) else { throw InputError(file: results, "cannot read the results file") }
            let lines = try BatchOutput.parse(data, file: results, expected: Set(r.requests), chat: generator.settings.api == .chat,
                                              choices: generator.batchSize)
            return try await ingest(r, lines: lines, missing: "no line in \(results)", log: log, logged: logged)
        }
        guard let id = r.batchID else {
            try await submit(r, log: log, new: false)
            return
        }
        if r.state == .submitted, submits == 0 { batch.note?("batch round \(r.round): resuming \(id)") }
        var status = try await api.status(id)
        var seen = status.state
        while !status.state.isFinal {
            try await batch.sleep(batch.pollInterval)
            status = try await api.status(id)
            if status.state != seen {
                seen = status.state
                batch.note?("batch round \(r.round): \(id) \(seen.rawValue)")
            }
        }
        var lines: [String: BatchOutput.Line] = [:]
        let expected = Set(r.requests), chat = generator.settings.api == .chat
        for (fileID, path) in [(status.outputFileID, resultsFile(r.round)), (status.errorFileID, errorsFile(r.round))] {
            guard let fileID else { continue }
            let data = try await api.content(fileID)
            try writeAtomically(data, to: path)
            for (k, v) in try BatchOutput.parse(data, file: path, expected: expected, chat: chat, choices: generator.batchSize) {
                if case .texts = lines[k] { continue }
                lines[k] = v
            }
        }
        let missing: String
        switch status.state {
        case .completed: missing = "batch \(id) completed without a line for it"
        case .failed: missing = "batch \(id) failed" + (status.errors.map { ": \($0)" } ?? "")
        default: missing = "batch \(id) \(status.state.rawValue) before answering it"
        }
        let answered = lines.values.filter { if case .texts = $0 { return true } else { return false } }.count
        batch.note?("batch round \(r.round): \(id) \(status.state.rawValue); \(answered) of \(r.requests.count) requests answered")
        try await ingest(r, lines: lines, missing: missing, log: log, logged: logged)
    }

    /// Rates a round's answered requests and logs them, in index order, with the round marked ingested.
    private func ingest(_ r: BatchRound, lines: [String: BatchOutput.Line], missing: String, log: SampleLog, logged: Set<Key>) async throws {
        roundFailures = [:]
        struct Work: Sendable { var id: String; var slot: Int; var indices: [Int]; var texts: [String] }
        var work: [Work] = []
        for id in r.requests {
            guard let req = BatchRequest(customID: id), let slot = slotOf[req.promptID] else { continue }
            switch lines[id] {
            case .texts(let texts)?:
                let indices = (req.firstIndex..<(req.firstIndex + texts.count)).filter {
                    $0 <= options.caps[slot] && !logged.contains(Key(slot: slot, index: $0))
                }
                if !indices.isEmpty { work.append(Work(id: id, slot: slot, indices: indices, texts: indices.map { texts[$0 - req.firstIndex] })) }
            case .failed(let why)?:
                failed(id, why)
            case nil:
                failed(id, missing)
            }
        }
        let o = options
        let width = max(1, o.endpoints[0].concurrency)
        var scored: [Int: [Double]] = [:]
        var next = 0
        try await withThrowingTaskGroup(of: (Int, [Double]?, String?).self) { group in
            func add(_ k: Int) {
                let w = work[k], prompt = o.prompts[w.slot].prompt
                group.addTask {
                    var rng = SeededRNG(seed: StableHash.combine(o.seed, StableHash.string(w.id)))
                    do {
                        let s = try await withRetries(o.retry, rng: &rng) {
                            let s = try await o.rater.score(w.texts.map { RatingItem(prompt: prompt, completion: $0) })
                            guard s.count == w.texts.count else { throw TransientError("\(o.rater.name): \(s.count) scores for \(w.texts.count) texts") }
                            guard s.allSatisfy({ $0.isFinite }) else { throw TransientError("\(o.rater.name): non-finite score") }
                            return s
                        }
                        return (k, s, nil)
                    } catch let e as FatalSamplingError { throw e } catch is CancellationError { throw CancellationError() } catch {
                        return (k, nil, "rating: \(error)")
                    }
                }
            }
            while next < min(width, work.count) { add(next); next += 1 }
            while let (k, s, why) = try await group.next() {
                if let s { scored[k] = s } else { failed(work[k].id, why ?? "rating failed") }
                if next < work.count { add(next); next += 1 }
            }
        }
        var rows: [(slot: Int, row: LoggedGeneration)] = []
        let now = Date().timeIntervalSince1970
        for (k, w) in work.enumerated() {
            guard let s = scored[k] else { continue }
            for (j, i) in w.indices.enumerated() {
                let u = s[j] >= o.threshold
                if u { unsafeThisRun += 1 }
                rows.append((w.slot, LoggedGeneration(promptID: o.prompts[w.slot].id, index: i, score: s[j], unsafe: u, endpoint: generator.name,
                                                      latencyMs: 0, createdAt: now, text: o.storeText ? w.texts[j] : nil)))
            }
        }
        rows.sort { ($0.slot, $0.row.index) < ($1.slot, $1.row.index) }
        try log.ingestBatchRound(r.round, rows: rows.map(\.row), failures: roundFailures)
        generationsThisRun += rows.count
    }

    private func failed(_ id: String, _ why: String) {
        roundFailures[id] = why
        failedRequests.insert(id)
        retries += 1
    }

    private func result(_ sched: Scheduler, start: Date) -> CollectResult {
        let outs = sched.outcomes(interrupted: false)
        return CollectResult(ids: options.prompts.map(\.id), outcomes: outs.map(\.0), spent: outs.map(\.spent), caps: options.caps,
                             earlyStop: options.earlyStop, generationsThisRun: generationsThisRun, unsafeThisRun: unsafeThisRun,
                             retries: retries, failedJobs: failedRequests.count, interrupted: false, elapsed: Date().timeIntervalSince(start))
    }
}
