import Foundation
import NIOCore
import NIOHTTP1
import TTUCore

/// An in-process OpenAI Batch API on 127.0.0.1 (ephemeral port) for the tests:
/// `POST /v1/files` (multipart, `purpose=batch`), `GET /v1/files/{id}/content`,
/// `POST /v1/batches`, `GET /v1/batches/{id}`, and `GET /v1/models`.
///
/// Each request line of a batch is answered as `StubServer` answers the same body online
/// (same prompt, same seed: the same text), so a batch collection and an online one on
/// the same rates give the same generations. Moderation requests (`/v1/moderations`)
/// are answered online here too, so one stub serves a whole batch collection.
///
/// A batch's status moves by poll count, never by time: polls `1 ..< pollsToFinish` see
/// `validating`, then `in_progress`, then `finalizing`; poll `pollsToFinish` and later see
/// the final status (`completed`, or the `failed` / `expired` a test asked for).
/// Behaviours a test can ask for: an error line for chosen requests (their first
/// `lineErrorAttempts` times), a batch that fails (no output), a batch that expires with
/// the output of only its first lines, HTTP 500 for the first uploads, an output file
/// with a line that is not JSON. `hold()` keeps every batch in progress until `release()`
/// (to kill a client while it polls).
public final class BatchStub: @unchecked Sendable {
    public struct Config: Sendable {
        /// Unsafe probability per prompt text, as `StubServer.Config.rate`.
        public var rate: @Sendable (String) -> Double = { _ in 0 }
        public var pollsToFinish = 3
        /// Requests (by custom_id) answered with an error line.
        public var lineError: @Sendable (String) -> Bool = { _ in false }
        public var lineErrorAttempts = 1
        /// Batches (1-based, in creation order) that end `failed`, with no output.
        public var failedBatches: Set<Int> = []
        /// Batches that end `expired`, with output for only their first `expiredCompletedLines` lines.
        public var expiredBatches: Set<Int> = []
        public var expiredCompletedLines = 1
        /// The first this many uploads get HTTP 500.
        public var uploadFailures = 0
        /// Batches whose output file gets a line that is not JSON.
        public var garbageOutputBatches: Set<Int> = []
        public init() {}
    }

    /// A batch as created: its id, input file and the custom_ids of its lines, in order.
    public struct CreatedBatch: Sendable, Equatable {
        public var id: String
        public var inputFileID: String
        public var endpoint: String
        public var customIDs: [String]
    }

    public let config: Config
    private let online: StubServer
    private var server: LoopbackServer!
    private let lock = NSLock()
    private var files: [String: Data] = [:]
    private var batches: [String: BatchState] = [:]
    private var created: [CreatedBatch] = []
    private var lineAttempts: [String: Int] = [:]
    private var _uploads = 0, _polls = 0
    private var authorizations: [String] = []

    private struct BatchState {
        var number: Int
        var info: CreatedBatch
        var lines: [[String: Any]]
        var polls = 0
        var status = "validating"
        var outputFileID: String?
        var errorFileID: String?
        var errors: String?
    }

    public init(config: Config = Config()) {
        self.config = config
        var c = StubServer.Config()
        c.rate = config.rate
        online = StubServer(config: c)
        server = LoopbackServer { [unowned self] in self.handle($0) }
    }

    public func start() throws { try server.start() }
    public func stop() { server.stop(); online.stop() }

    /// `http://127.0.0.1:PORT/v1`
    public var baseURL: String { server.baseURL }
    /// Batches created so far, in order.
    public var batchesCreated: [CreatedBatch] { lock.withLock { created } }
    /// Upload attempts (failed ones included).
    public var uploads: Int { lock.withLock { _uploads } }
    public var polls: Int { lock.withLock { _polls } }
    /// Every `Authorization` header received (to check the key is sent).
    public var authorizationsReceived: [String] { lock.withLock { authorizations } }

    // MARK: - hold seam (kill tests)

    private let pollCond = NSCondition()
    private var holding = false

    /// While held, every batch stays `in_progress` at each poll (a process can be killed
    /// while it polls a submitted batch); `release()` lets the batches finish on their next poll.
    public func hold() { lock.withLock { holding = true } }
    public func release() { lock.withLock { holding = false } }

    /// Waits until `n` status polls have been received in all (an event, not a guess at
    /// timing: `timeout` is only a safety net); false if it passed first.
    public func waitForPolls(_ n: Int, timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        pollCond.lock(); defer { pollCond.unlock() }
        while polls < n { if !pollCond.wait(until: deadline) { return polls >= n } }
        return true
    }

    /// What `vllm run-batch -i input -o output` would write for `input` (the offline
    /// tests' stand-in for vLLM): one output line per request line, in order.
    public func runBatch(_ input: String) throws -> String {
        let lines = try Self.parseLines(Data(input.utf8))
        return lines.map { answerLine($0) }.joined(separator: "\n") + "\n"
    }

    struct BadInput: Error { var message: String }

    static func parseLines(_ data: Data) throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for (k, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if raw.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any],
                  obj["custom_id"] is String, obj["method"] as? String == "POST",
                  let url = obj["url"] as? String, ["/v1/completions", "/v1/chat/completions"].contains(url),
                  obj["body"] is [String: Any] else {
                throw BadInput(message: "line \(k + 1) is not a batch request (custom_id, method POST, url, body)")
            }
            out.append(obj)
        }
        return out
    }

    /// The output line for one request line, answered as the online stub answers its body.
    private func answerLine(_ line: [String: Any], forceError: Bool = false) -> String {
        let id = line["custom_id"] as! String
        let body = try! JSONSerialization.data(withJSONObject: line["body"]!, options: [.sortedKeys])
        let reply = online.handle(path: line["url"] as! String, body: ByteBuffer(bytes: body))
        let quotedID = GuardStub.quote(id)
        if forceError || reply.status != .ok {
            let code = forceError ? 500 : Int(reply.status.code)
            return #"{"id":"batch_req_\#(StableHash.string(id) % 100_000)","custom_id":\#(quotedID),"response":{"status_code":\#(code),"request_id":"req","body":{"error":{"message":"injected line error"}}},"error":null}"#
        }
        return #"{"id":"batch_req","custom_id":\#(quotedID),"response":{"status_code":200,"request_id":"req","body":\#(reply.body)},"error":null}"#
    }

    private func handle(_ r: LoopbackServer.Request) -> LoopbackServer.Response {
        lock.lock()
        if let a = r.header("Authorization") { authorizations.append(a) }
        lock.unlock()
        let parts = r.path.split(separator: "/").map(String.init)  // ["v1", …]
        switch (r.method, parts.count > 1 ? parts[1] : "") {
        case ("GET", "models"):
            return .init(200, #"{"object":"list","data":[{"id":"stub-model","object":"model"}]}"#)
        case ("POST", "moderations"):
            let reply = online.handle(path: r.path, body: ByteBuffer(bytes: r.body))
            return .init(Int(reply.status.code), reply.body)
        case ("POST", "files") where parts.count == 2:
            return upload(r)
        case ("GET", "files") where parts.count == 4 && parts[3] == "content":
            guard let d = lock.withLock({ files[parts[2]] }) else { return .init(404, #"{"error":{"message":"no such file"}}"#) }
            var resp = LoopbackServer.Response(200, "", contentType: "application/jsonl")
            resp.body = d
            return resp
        case ("POST", "batches") where parts.count == 2:
            return create(r)
        case ("GET", "batches") where parts.count == 3:
            return poll(parts[2])
        default:
            return .init(404, #"{"error":{"message":"unknown path \#(r.method) \#(r.path)"}}"#)
        }
    }

    private func upload(_ r: LoopbackServer.Request) -> LoopbackServer.Response {
        let n: Int = lock.withLock { _uploads += 1; return _uploads }
        if n <= config.uploadFailures { return .init(500, #"{"error":{"message":"injected upload failure"}}"#) }
        guard let ct = r.header("Content-Type"), let b = ct.range(of: "boundary=") else {
            return .init(400, #"{"error":{"message":"expected multipart/form-data"}}"#)
        }
        let boundary = String(ct[b.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        let fields = Self.multipart(r.body, boundary: boundary)
        guard fields["purpose"].map({ String(decoding: $0, as: UTF8.self) }) == "batch", let file = fields["file"] else {
            return .init(400, #"{"error":{"message":"expected the fields purpose=batch and file"}}"#)
        }
        let id: String = lock.withLock {
            let id = "file-in-\(files.count + 1)"
            files[id] = file
            return id
        }
        return .init(200, #"{"id":"\#(id)","object":"file","bytes":\#(file.count),"purpose":"batch","filename":"input.jsonl"}"#)
    }

    /// The parts of a multipart/form-data body, by field name.
    static func multipart(_ body: Data, boundary: String) -> [String: Data] {
        var out: [String: Data] = [:]
        let delimiter = Data(("--" + boundary).utf8)
        var chunks: [Data] = []
        var rest = body[...]
        while let r = rest.range(of: delimiter) {
            chunks.append(Data(rest[rest.startIndex..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        for chunk in chunks.dropFirst() {
            guard let sep = chunk.range(of: Data("\r\n\r\n".utf8)) else { continue }
            let head = String(decoding: chunk[chunk.startIndex..<sep.lowerBound], as: UTF8.self)
            guard let nr = head.range(of: "name=\"") , let end = head[nr.upperBound...].firstIndex(of: "\"") else { continue }
            var value = Data(chunk[sep.upperBound...])
            if value.suffix(2) == Data("\r\n".utf8) { value.removeLast(2) }
            out[String(head[nr.upperBound..<end])] = value
        }
        return out
    }

    private func create(_ r: LoopbackServer.Request) -> LoopbackServer.Response {
        guard let obj = (try? JSONSerialization.jsonObject(with: r.body)) as? [String: Any],
              let fileID = obj["input_file_id"] as? String, let endpoint = obj["endpoint"] as? String,
              obj["completion_window"] as? String == "24h" else {
            return .init(400, #"{"error":{"message":"expected input_file_id, endpoint and completion_window 24h"}}"#)
        }
        lock.lock(); defer { lock.unlock() }
        guard let data = files[fileID] else { return .init(404, #"{"error":{"message":"no such file"}}"#) }
        let lines: [[String: Any]]
        do { lines = try Self.parseLines(data) } catch let e as BadInput {
            return .init(400, #"{"error":{"message":\#(GuardStub.quote(e.message))}}"#)
        } catch { return .init(400, "{}") }
        guard lines.allSatisfy({ $0["url"] as? String == endpoint }) else {
            return .init(400, #"{"error":{"message":"every line's url must be the batch endpoint"}}"#)
        }
        let number = created.count + 1
        let info = CreatedBatch(id: "batch_\(number)", inputFileID: fileID, endpoint: endpoint, customIDs: lines.map { $0["custom_id"] as! String })
        created.append(info)
        batches[info.id] = BatchState(number: number, info: info, lines: lines)
        return .init(200, describe(batches[info.id]!))
    }

    private func poll(_ id: String) -> LoopbackServer.Response {
        defer { pollCond.lock(); pollCond.broadcast(); pollCond.unlock() }
        lock.lock(); defer { lock.unlock() }
        guard var b = batches[id] else { return .init(404, #"{"error":{"message":"no such batch"}}"#) }
        _polls += 1
        b.polls += 1
        if holding {
            b.status = "in_progress"
        } else if b.polls < config.pollsToFinish {
            b.status = b.polls == 1 ? "validating" : b.polls + 1 < config.pollsToFinish ? "in_progress" : "finalizing"
        } else if b.outputFileID == nil, b.errors == nil, b.status != "completed", b.status != "expired" {
            finish(&b)
        }
        batches[id] = b
        return .init(200, describe(b))
    }

    /// The final status and the output and error files (lock held).
    private func finish(_ b: inout BatchState) {
        if config.failedBatches.contains(b.number) {
            b.status = "failed"
            b.errors = #"{"object":"list","data":[{"code":"injected_failure","message":"the batch failed","line":null}]}"#
            return
        }
        let expired = config.expiredBatches.contains(b.number)
        var output: [String] = [], errors: [String] = []
        for (k, line) in b.lines.enumerated() {
            if expired, k >= config.expiredCompletedLines { break }
            let id = line["custom_id"] as! String
            var forceError = false
            if config.lineError(id) {
                let a = lineAttempts[id, default: 0]
                lineAttempts[id] = a + 1
                forceError = a < config.lineErrorAttempts
            }
            let text = answerLine(line, forceError: forceError)
            if text.contains(#""status_code":200"#) { output.append(text) } else { errors.append(text) }
        }
        if config.garbageOutputBatches.contains(b.number) { output.insert(#"{"custom_id": "truncated"#, at: min(1, output.count)) }
        b.status = expired ? "expired" : "completed"
        if !output.isEmpty {
            b.outputFileID = "file-out-\(b.number)"
            files[b.outputFileID!] = Data((output.joined(separator: "\n") + "\n").utf8)
        }
        if !errors.isEmpty {
            b.errorFileID = "file-err-\(b.number)"
            files[b.errorFileID!] = Data((errors.joined(separator: "\n") + "\n").utf8)
        }
    }

    private func describe(_ b: BatchState) -> String {
        func q(_ s: String?) -> String { s.map(GuardStub.quote) ?? "null" }
        return #"{"id":\#(q(b.info.id)),"object":"batch","endpoint":\#(q(b.info.endpoint)),"input_file_id":\#(q(b.info.inputFileID)),"completion_window":"24h","status":"\#(b.status)","output_file_id":\#(q(b.outputFileID)),"error_file_id":\#(q(b.errorFileID)),"errors":\#(b.errors ?? "null"),"request_counts":{"total":\#(b.lines.count)}}"#
    }
}
