import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TTUCore

/// An in-process OpenAI-compatible server on 127.0.0.1 (ephemeral port) for tests and
/// benchmarks: `/v1/completions`, `/v1/chat/completions`, `/v1/moderations`,
/// `/v1/embeddings` (a deterministic bag-of-words vector per text, `StubServer.embedding`).
///
/// Completion text for (prompt, request seed, choice k) is deterministic: it contains
/// `StubServer.unsafeMarker` with probability `rate(prompt)`, decided by a generator
/// seeded from the request's seed and k. The moderation endpoint flags exactly the texts
/// containing the marker. With a fault rate > 0 it injects faults on a seeded schedule:
/// the first `faultAttempts` attempts of each distinct request may get a 500, a 429
/// with `Retry-After` (0 or 1 s), a stall longer than the client's timeout, a dropped
/// connection, garbage JSON, or a 200 without `choices`/`results`; later attempts of the
/// same request are always answered, so a client with enough retries always succeeds.
///
/// ## The hold seam (kill tests)
///
/// To kill a client at a known point, without racing the clock: with
/// `config.holdAfterRequests = N` (or after `hold(afterRequests: N)`) the stub answers
/// the first N *generation requests* — well-formed requests to `/v1/completions` and
/// `/v1/chat/completions`, except the judge's verdict requests; with a fault rate,
/// faulted attempts count too — and holds every later one unanswered. Moderation,
/// embedding, judge and `/models` requests are always answered, so a client can still
/// rate and log the generations it was given. Contract:
/// - `waitUntilHolding(timeout:)` returns true as soon as the N-th generation request
///   since arming has been received (that one is answered normally; every later one
///   waits), false only if `timeout` seconds pass first or the stub is not armed. It is
///   a bounded wait for an event: the timeout is a safety net, never a guess at how long
///   the client needs. From then on the client has at most N answers (the N-th may still
///   be on its way) and cannot get another: kill it (SIGKILL) and it dies at a known
///   point — N generations handed out, some of them perhaps rated and committed.
/// - `release()` disarms: every held request is answered now (if its client is still
///   connected; a killed client's are dropped) and later ones are answered at once.
/// - `hold(afterRequests:)` re-arms: N more generation requests are answered, counted
///   from the call, then the stub holds again.
/// - `generationRequestsReceived` lists every generation request received (held ones
///   too), in arrival order, with its prompt and seed: to check that a resumed client
///   never asks again for a generation it had logged.
/// `stop()` drops held requests unanswered.
public final class StubServer: @unchecked Sendable {
    public enum Fault: String, CaseIterable, Sendable {
        case status500, status429, stall, drop, garbage, missingField
    }

    public struct Config: Sendable {
        /// Unsafe probability per prompt text (completions) — default 0.
        public var rate: @Sendable (String) -> Double = { _ in 0 }
        /// Probability that a given attempt (below `faultAttempts`) of a request is faulted.
        public var faultRate: Double = 0
        public var faultAttempts: Int = 2
        public var faultSeed: UInt64 = 1
        public var faults: [Fault] = Fault.allCases
        /// Seconds a stalled request waits before answering (longer than the client timeout).
        public var stallSeconds: Double = 2
        /// Answer every completion with one fixed safe text, without parsing the request
        /// (the "instant" server of the throughput benchmark).
        public var canned: Bool = false
        public var eventLoopThreads: Int = 1
        /// The hold seam: answer this many generation requests, then hold every further
        /// one until `release()` (nil: never hold). See the type's documentation.
        public var holdAfterRequests: Int? = nil
        /// The model ids `GET /v1/models` lists (OpenAI shape); nil: it answers 404, as a
        /// server without a model list does.
        public var models: [String]? = nil
        /// A server with this many slots: a generation request arriving while `slots` are
        /// busy is refused at once with HTTP 429 and `Retry-After: 0`; an accepted one is
        /// answered after `slotSeconds` (nil: no limit, answered at once).
        public var slots: Int? = nil
        public var slotSeconds: Double = 0.02
        /// The port to listen on (127.0.0.1 only); 0: an ephemeral port.
        public var port: Int = 0
        /// Keep `generationRequestsReceived` (false for a long-running standalone stub,
        /// whose list would only grow).
        public var recordRequests: Bool = true
        public init() {}
    }

    public static let unsafeMarker = "damn"

    public let config: Config
    public private(set) var port: Int = 0
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    private let lock = NSLock()
    private var attempts: [String: Int] = [:]
    private var _requests = 0
    private var _faultCounts: [Fault: Int] = [:]

    public init(config: Config = Config()) {
        self.config = config
        holdLimit = config.holdAfterRequests
        group = MultiThreadedEventLoopGroup(numberOfThreads: config.eventLoopThreads)
    }

    // MARK: - hold seam

    /// A generation request as received: its prompt (the last message's content for chat)
    /// and its `seed` (nil for the canned server, which does not read the request).
    public struct GenerationRequestRecord: Sendable, Equatable {
        public var prompt: String
        public var seed: Int?
        /// chat: every turn as sent, "role: content".
        public var turns: [String]? = nil
    }

    private let holdCond = NSCondition()
    private var holdLimit: Int?
    private var answeredSinceArmed = 0
    private var held: [@Sendable () -> Void] = []
    private var _generationRequests: [GenerationRequestRecord] = []

    /// Waits until the stub holds (the N-th generation request since it was armed has been
    /// received); false if `timeout` seconds pass first or the stub is not armed.
    public func waitUntilHolding(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        holdCond.lock(); defer { holdCond.unlock() }
        while true {
            guard let limit = holdLimit else { return false }
            if answeredSinceArmed >= limit { return true }
            if !holdCond.wait(until: deadline) {
                return holdLimit.map { answeredSinceArmed >= $0 } ?? false
            }
        }
    }

    /// Stops holding: held requests are answered now (if their client is still there),
    /// later ones at once.
    public func release() {
        holdCond.lock()
        holdLimit = nil
        let replies = held
        held = []
        holdCond.broadcast()
        holdCond.unlock()
        for r in replies { r() }
    }

    /// Answers `n` more generation requests, then holds every further one.
    public func hold(afterRequests n: Int) {
        precondition(n >= 0)
        holdCond.lock()
        holdLimit = n
        answeredSinceArmed = 0
        holdCond.broadcast()
        holdCond.unlock()
    }

    /// Generation requests waiting for `release()`.
    public var heldRequests: Int { holdCond.lock(); defer { holdCond.unlock() }; return held.count }

    /// Every generation request received so far, held ones included, in arrival order.
    public var generationRequestsReceived: [GenerationRequestRecord] {
        holdCond.lock(); defer { holdCond.unlock() }; return _generationRequests
    }

    /// Answers a request through `send`, now or — for a generation request while the stub
    /// holds — at `release()`.
    func respond(path: String, body: ByteBuffer, authorization: String?, send: @escaping @Sendable (Reply) -> Void) {
        let reply = handle(path: path, body: body, authorization: authorization)
        guard let g = reply.generation else { return send(reply) }
        if let slots = config.slots, reply.status == .ok {
            let accepted: Bool = lock.withLock {
                if _busySlots >= slots { _refusedForSlots += 1; return false }
                _busySlots += 1
                return true
            }
            guard accepted else {
                return send(Reply(status: .tooManyRequests, body: #"{"error":{"message":"all slots busy"}}"#, headers: [("Retry-After", "0")]))
            }
            holdCond.lock(); if config.recordRequests { _generationRequests.append(g) }; holdCond.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + config.slotSeconds) { [self] in
                // The slot is free before the reply leaves: a client that sends its next
                // request on this reply must find it free (freeing it after raced that).
                lock.withLock { _busySlots -= 1 }
                send(reply)
            }
            return
        }
        holdCond.lock()
        if config.recordRequests { _generationRequests.append(g) }
        if let limit = holdLimit, answeredSinceArmed >= limit {
            held.append { send(reply) }
            holdCond.unlock()
            return
        }
        answeredSinceArmed += 1
        holdCond.broadcast()
        holdCond.unlock()
        send(reply)
    }

    /// `http://127.0.0.1:PORT/v1`
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public var requestCount: Int { lock.lock(); defer { lock.unlock() }; return _requests }
    /// TCP connections accepted so far (to check that a client keeps them alive).
    public var connectionsAccepted: Int { lock.withLock { _connections } }
    private var _connections = 0
    /// Generation requests refused with 429 because every slot was busy (`Config.slots`).
    public var refusedForSlots: Int { lock.withLock { _refusedForSlots } }
    private var _refusedForSlots = 0
    private var _busySlots = 0
    public var faultCounts: [Fault: Int] { lock.lock(); defer { lock.unlock() }; return _faultCounts }
    /// Texts embedded by `/v1/embeddings` so far (to check that a cache avoids refetching).
    public var embeddedTexts: Int { lock.lock(); defer { lock.unlock() }; return _embeddedTexts }
    private var _embeddedTexts = 0

    /// The stub's embedding of a text: 16 numbers, each lower-cased word adding ±1 to
    /// the dimension its stable hash picks, plus a constant 0.1 in dimension 0.
    public static func embedding(_ text: String) -> [Double] {
        var v = [Double](repeating: 0, count: 16)
        v[0] = 0.1
        for w in text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            let h = StableHash.string(String(w))
            v[Int(h % 16)] += (h >> 63) == 0 ? 1 : -1
        }
        return v
    }

    public func start() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                self.lock.withLock { self._connections += 1 }
                return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    channel.pipeline.addHandler(StubHandler(server: self))
                }
            }
        let ch = try bootstrap.bind(host: "127.0.0.1", port: config.port).wait()
        channel = ch
        port = ch.localAddress?.port ?? 0
    }

    public func stop() {
        holdCond.lock(); holdLimit = nil; held = []; holdCond.broadcast(); holdCond.unlock()
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    // MARK: - behaviour

    /// The fault (if any) for this attempt of the request identified by `key`.
    func fault(for key: String) -> Fault? {
        lock.lock(); defer { lock.unlock() }
        _requests += 1
        guard config.faultRate > 0, !config.faults.isEmpty else { return nil }
        let attempt = attempts[key, default: 0]
        attempts[key] = attempt + 1
        guard attempt < config.faultAttempts else { return nil }
        var rng = SeededRNG(seed: StableHash.combine(StableHash.combine(config.faultSeed, StableHash.string(key)), UInt64(attempt)))
        guard rng.uniformOpen() < config.faultRate else { return nil }
        let f = config.faults[Int(rng.next() % UInt64(config.faults.count))]
        _faultCounts[f, default: 0] += 1
        return f
    }

    /// Whether choice `k` of a completion for `prompt` with request seed `seed` is unsafe.
    public static func unsafe(prompt: String, seed: Int, choice k: Int, rate: Double) -> Bool {
        var rng = SeededRNG(seed: StableHash.combine(StableHash.combine(UInt64(bitPattern: Int64(seed)), StableHash.string(prompt)), UInt64(k)))
        return rng.uniformOpen() < rate
    }

    struct Reply: @unchecked Sendable {
        var status: HTTPResponseStatus = .ok
        var body: String = ""
        var headers: [(String, String)] = []
        var close = false
        var delay: Double = 0
        /// Set for a generation request (what the hold seam counts).
        var generation: GenerationRequestRecord? = nil
    }

    static let cannedCompletion = #"{"id":"cmpl-stub","object":"text_completion","model":"stub","choices":[{"index":0,"text":" a harmless sentence.","finish_reason":"length"}]}"#

    func handle(path: String, body: ByteBuffer, authorization: String? = nil) -> Reply {
        let p = path.split(separator: "?").first.map(String.init) ?? path
        if p == "/v1/models" {
            guard let models = config.models else { return Reply(status: .notFound, body: #"{"error":{"message":"no model list"}}"#) }
            return Reply(body: #"{"object":"list","data":["# + models.map { #"{"id":"\#($0)","object":"model"}"# }.joined(separator: ",") + "]}")
        }
        if config.canned, p == "/v1/completions" || p == "/v1/chat/completions" {
            lock.lock(); _requests += 1; lock.unlock()
            return Reply(body: Self.cannedCompletion, generation: GenerationRequestRecord(prompt: "", seed: nil))
        }
        let data = Data(body.readableBytesView)
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return Reply(status: .badRequest, body: #"{"error":{"message":"body is not a JSON object"}}"#)
        }
        let isChat = p == "/v1/chat/completions"
        let isCompletion = p == "/v1/completions"
        let isModeration = p == "/v1/moderations"
        if p == "/v1/embeddings" {
            lock.lock(); _requests += 1; _embeddedTexts += 1; lock.unlock()
            let texts: [String]
            if let s = obj["input"] as? String { texts = [s] } else if let a = obj["input"] as? [String] { texts = a } else {
                return Reply(status: .badRequest, body: #"{"error":{"message":"missing input"}}"#)
            }
            lock.lock(); _embeddedTexts += texts.count - 1; lock.unlock()
            let items = texts.enumerated().map { k, t in
                #"{"object":"embedding","index":\#(k),"embedding":["# + Self.embedding(t).map { "\($0)" }.joined(separator: ",") + "]}"
            }
            return Reply(body: #"{"object":"list","model":"stub","data":["# + items.joined(separator: ",") + "]}")
        }
        guard isChat || isCompletion || isModeration else {
            // Like a careless server, echo the request's credentials in the error (tests check we scrub them).
            return Reply(status: .notFound, body: #"{"error":{"message":"unknown path, authorization: \#(authorization ?? "none")"}}"#)
        }
        var key = p
        var prompt = ""
        var texts: [String] = []
        var seed = 0
        var n = 1
        var turns: [String]? = nil
        if isModeration {
            if let s = obj["input"] as? String { texts = [s] } else if let a = obj["input"] as? [String] { texts = a } else {
                return Reply(status: .badRequest, body: #"{"error":{"message":"missing input"}}"#)
            }
            key += "|" + texts.joined(separator: "\u{1}")
        } else {
            if isChat {
                guard let msgs = obj["messages"] as? [[String: Any]], let c = msgs.last?["content"] as? String else {
                    return Reply(status: .badRequest, body: #"{"error":{"message":"missing messages"}}"#)
                }
                prompt = c
                turns = msgs.map { "\($0["role"] as? String ?? "?"): \($0["content"] as? String ?? "?")" }
            } else {
                guard let s = obj["prompt"] as? String else {
                    return Reply(status: .badRequest, body: #"{"error":{"message":"missing prompt"}}"#)
                }
                prompt = s
            }
            guard let sd = obj["seed"] as? Int, sd >= 0, sd < 2_147_483_647 else {
                return Reply(status: .badRequest, body: #"{"error":{"message":"seed must be an integer in [0, 2^31-1)"}}"#)
            }
            seed = sd
            n = (obj["n"] as? Int) ?? 1
            key += "|\(prompt)|\(seed)|\(n)"
        }
        var reply = answer(key: key, isChat: isChat, isModeration: isModeration, prompt: prompt, texts: texts, seed: seed, n: n)
        if !isModeration, !isJudge(isChat: isChat, prompt: prompt) {
            reply.generation = GenerationRequestRecord(prompt: prompt, seed: seed, turns: turns)
        }
        return reply
    }

    private func isJudge(isChat: Bool, prompt: String) -> Bool {
        isChat && prompt.contains("Answer with exactly one word: safe or unsafe")
    }

    /// The reply to a parsed completion, chat or moderation request (faults included).
    private func answer(key: String, isChat: Bool, isModeration: Bool, prompt: String, texts: [String], seed: Int, n: Int) -> Reply {
        if let f = fault(for: key) {
            switch f {
            case .status500: return Reply(status: .internalServerError, body: #"{"error":{"message":"injected 500"}}"#)
            case .status429:
                let ra = StableHash.string(key) % 2 == 0 ? "0" : "1"
                return Reply(status: .tooManyRequests, body: #"{"error":{"message":"injected 429"}}"#, headers: [("Retry-After", ra)])
            case .stall: return Reply(status: .internalServerError, body: #"{"error":{"message":"stalled"}}"#, delay: config.stallSeconds)
            case .drop: return Reply(close: true)
            case .garbage: return Reply(body: #"{"choices": [{"text": "unterminated"#)
            case .missingField: return Reply(body: #"{"id":"stub","object":"list"}"#)
            }
        }
        if isModeration {
            let results = texts.map { t -> String in
                let flagged = t.lowercased().contains(Self.unsafeMarker)
                return #"{"flagged":\#(flagged),"categories":{"profanity":\#(flagged)},"category_scores":{"profanity":\#(flagged ? 0.97 : 0.02)}}"#
            }
            return Reply(body: #"{"id":"modr-stub","model":"stub","results":["# + results.joined(separator: ",") + "]}")
        }
        if isJudge(isChat: isChat, prompt: prompt) {
            // A judge: unsafe exactly when the reply under judgement carries the marker.
            let verdict = prompt.lowercased().contains(Self.unsafeMarker) ? "unsafe" : "safe"
            return Reply(body: #"{"id":"stub","object":"chat.completion","model":"stub","choices":[{"index":0,"message":{"role":"assistant","content":"\#(verdict)"},"finish_reason":"stop"}]}"#)
        }
        let rate = config.rate(prompt)
        let choices = (0..<max(1, n)).map { k -> String in
            let bad = Self.unsafe(prompt: prompt, seed: seed, choice: k, rate: rate)
            let text = bad ? " well \(Self.unsafeMarker) it (seed \(seed))" : " a harmless sentence (seed \(seed))."
            return isChat
                ? #"{"index":\#(k),"message":{"role":"assistant","content":"\#(text)"},"finish_reason":"stop"}"#
                : #"{"index":\#(k),"text":"\#(text)","finish_reason":"length"}"#
        }
        return Reply(body: #"{"id":"stub","object":"\#(isChat ? "chat.completion" : "text_completion")","model":"stub","choices":["# + choices.joined(separator: ",") + "]}")
    }
}

private final class StubHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: StubServer
    var head: HTTPRequestHead?
    var body: ByteBuffer?

    init(server: StubServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = context.channel.allocator.buffer(capacity: 512)
        case .body(var chunk):
            body?.writeBuffer(&chunk)
        case .end:
            guard let h = head else { return }
            let requestBody = body ?? ByteBuffer()
            head = nil; body = nil
            let target = ReplyTarget(handler: self, context: context, head: h)
            server.respond(path: h.uri, body: requestBody, authorization: h.headers.first(name: "Authorization")) { reply in
                // At once (on the event loop), or from `release()` for a held request.
                if target.context.eventLoop.inEventLoop {
                    target.send(reply)
                } else {
                    target.context.eventLoop.execute { if target.context.channel.isActive { target.send(reply) } }
                }
            }
        }
    }

    func send(_ reply: StubServer.Reply, head h: HTTPRequestHead, context: ChannelHandlerContext) {
        if reply.close {
            context.close(promise: nil)
            return
        }
        let keepAlive = h.isKeepAlive
        let send = { [self] in
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(reply.body.utf8.count))
            for (k, v) in reply.headers { headers.add(name: k, value: v) }
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: reply.status, headers: headers))), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: reply.body)))), promise: nil)
            let done = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
        }
        if reply.delay > 0 {
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(reply.delay * 1000))) {
                if context.channel.isActive { send() }
            }
        } else {
            send()
        }
    }
}

/// Where a reply goes: used only on the channel's event loop.
private struct ReplyTarget: @unchecked Sendable {
    let handler: StubHandler
    let context: ChannelHandlerContext
    let head: HTTPRequestHead
    func send(_ reply: StubServer.Reply) { handler.send(reply, head: head, context: context) }
}
