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
        group = MultiThreadedEventLoopGroup(numberOfThreads: config.eventLoopThreads)
    }

    /// `http://127.0.0.1:PORT/v1`
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public var requestCount: Int { lock.lock(); defer { lock.unlock() }; return _requests }
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
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    channel.pipeline.addHandler(StubHandler(server: self))
                }
            }
        let ch = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        channel = ch
        port = ch.localAddress?.port ?? 0
    }

    public func stop() {
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

    struct Reply {
        var status: HTTPResponseStatus = .ok
        var body: String = ""
        var headers: [(String, String)] = []
        var close = false
        var delay: Double = 0
    }

    static let cannedCompletion = #"{"id":"cmpl-stub","object":"text_completion","model":"stub","choices":[{"index":0,"text":" a harmless sentence.","finish_reason":"length"}]}"#

    func handle(path: String, body: ByteBuffer, authorization: String? = nil) -> Reply {
        let p = path.split(separator: "?").first.map(String.init) ?? path
        if config.canned, p == "/v1/completions" || p == "/v1/chat/completions" {
            lock.lock(); _requests += 1; lock.unlock()
            return Reply(body: Self.cannedCompletion)
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
        if isChat, prompt.contains("Answer with exactly one word: safe or unsafe") {
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
            let reply = server.handle(path: h.uri, body: body ?? ByteBuffer(), authorization: h.headers.first(name: "Authorization"))
            head = nil; body = nil
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
}
