import Foundation

/// An in-process guard classifier on 127.0.0.1 (ephemeral port) answering
/// `POST /v1/chat/completions` in Llama Guard's shape, with OpenAI-style logprobs, and
/// `GET /v1/models`. It judges the assistant message: `unsafe` (second line: its
/// categories) exactly when it contains `StubServer.unsafeMarker`, i.e. exactly the texts
/// `StubServer`'s moderation endpoint flags.
///
/// The verdict token's top logprobs give P(unsafe) = `unsafeScore` for an unsafe verdict
/// and `safeScore` for a safe one, spread over case and space variants of both words so a
/// client must match tokens case-insensitively after trimming. A request that is not the
/// guard's shape (two messages, user then assistant; temperature 0; logprobs with
/// top_logprobs ≥ 2; a few max_tokens) gets a 400. With `malformedAttempts` > 0 the first
/// attempts of every distinct conversation get a malformed answer (prose, another first
/// word, an empty message, no choices), later ones the right answer.
public final class GuardStub: @unchecked Sendable {
    public struct Config: Sendable {
        public var model = "llama-guard-stub"
        /// The categories line of an unsafe verdict for an assistant text.
        public var categories: @Sendable (String) -> String = { _ in "S1" }
        /// Whether answers carry logprobs (else `"logprobs": null`).
        public var logprobs = true
        /// Open the answer with a blank line, as Llama Guard 3 may (a whitespace first token).
        public var leadingBlankLine = true
        /// Malformed answers to the first this many attempts of each conversation.
        public var malformedAttempts = 0
        public init() {}
    }

    public static let malformedAnswers = ["I cannot classify this conversation.", "unsure\nS1", "", "NO_CHOICES"]

    /// The top logprobs of the verdict token: (token, probability).
    static let unsafeTop: [(String, Double)] = [("unsafe", 0.90), ("safe", 0.05), (" Unsafe", 0.03), ("\n", 0.01), (" SAFE", 0.004)]
    static let safeTop: [(String, Double)] = [("safe", 0.90), ("unsafe", 0.05), (" Safe", 0.03), ("\n", 0.01), (" UNSAFE", 0.004)]
    static func normalised(_ top: [(String, Double)]) -> Double {
        let u = top.filter { $0.0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "unsafe" }.map(\.1).reduce(0, +)
        let s = top.filter { $0.0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "safe" }.map(\.1).reduce(0, +)
        return u / (u + s)
    }
    /// The score a client should derive for an unsafe (≈ 0.945) and a safe (≈ 0.055) verdict.
    public static let unsafeScore = normalised(unsafeTop)
    public static let safeScore = normalised(safeTop)

    public let config: Config
    private var server: LoopbackServer!
    private let lock = NSLock()
    private var attempts: [String: Int] = [:]
    private var _requests = 0, _malformed = 0, _rejected = 0

    public init(config: Config = Config()) {
        self.config = config
        server = LoopbackServer { [unowned self] r in
            let (status, text) = self.handle(method: r.method, path: r.path, body: r.body)
            return .init(status, text)
        }
    }

    public var port: Int { server.port }
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    public var requestCount: Int { lock.lock(); defer { lock.unlock() }; return _requests }
    /// Malformed answers sent so far.
    public var malformedCount: Int { lock.lock(); defer { lock.unlock() }; return _malformed }
    /// Requests refused with a 400 because they were not the guard's shape.
    public var rejectedCount: Int { lock.lock(); defer { lock.unlock() }; return _rejected }

    public func start() throws { try server.start() }
    public func stop() { server.stop() }

    func reject(_ message: String) -> (Int, String) {
        lock.lock(); _rejected += 1; lock.unlock()
        return (400, #"{"error":{"message":\#(Self.quote(message))}}"#)
    }

    /// (status, body) for a request.
    func handle(method: String, path: String, body: Data) -> (Int, String) {
        let p = path.split(separator: "?").first.map(String.init) ?? path
        if method == "GET", p == "/v1/models" { return (200, #"{"object":"list","data":[{"id":\#(Self.quote(config.model)),"object":"model"}]}"#) }
        guard method == "POST", p == "/v1/chat/completions" else { return (404, #"{"error":{"message":"unknown path"}}"#) }
        guard let obj = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return reject("body is not a JSON object") }
        guard let msgs = obj["messages"] as? [[String: Any]], msgs.count == 2,
              msgs[0]["role"] as? String == "user", msgs[1]["role"] as? String == "assistant",
              let prompt = msgs[0]["content"] as? String, let reply = msgs[1]["content"] as? String else {
            return reject("expected messages [user: prompt, assistant: completion]")
        }
        guard (obj["temperature"] as? NSNumber)?.doubleValue == 0 else { return reject("expected temperature 0") }
        guard obj["logprobs"] as? Bool == true, ((obj["top_logprobs"] as? Int) ?? 0) >= 2 else { return reject("expected logprobs: true and top_logprobs ≥ 2") }
        guard let mt = obj["max_tokens"] as? Int, (4...32).contains(mt) else { return reject("expected a few max_tokens") }
        guard obj["model"] as? String == config.model else { return reject("unknown model") }
        lock.lock()
        _requests += 1
        let key = prompt + "\u{1}" + reply
        let attempt = attempts[key, default: 0]
        attempts[key] = attempt + 1
        let malformed = attempt < config.malformedAttempts
        if malformed { _malformed += 1 }
        lock.unlock()
        if malformed {
            let a = Self.malformedAnswers[attempt % Self.malformedAnswers.count]
            if a == "NO_CHOICES" { return (200, #"{"id":"guard","object":"chat.completion"}"#) }
            return (200, Self.completion(content: a, logprobs: "null"))
        }
        let unsafe = reply.lowercased().contains(StubServer.unsafeMarker)
        let verdict = unsafe ? "unsafe\n" + config.categories(reply) : "safe"
        let lead = config.leadingBlankLine ? "\n\n" : ""
        var logprobs = "null"
        if config.logprobs {
            let top = (unsafe ? Self.unsafeTop : Self.safeTop).map { #"{"token":\#(Self.quote($0.0)),"logprob":\#(log($0.1))}"# }
            var tokens: [String] = []
            if config.leadingBlankLine { tokens.append(#"{"token":"\n\n","logprob":-0.001,"top_logprobs":[{"token":"\n\n","logprob":-0.001}]}"#) }
            tokens.append(#"{"token":"\#(unsafe ? "unsafe" : "safe")","logprob":\#(log(unsafe ? 0.9 : 0.9)),"top_logprobs":[\#(top.joined(separator: ","))]}"#)
            logprobs = #"{"content":[\#(tokens.joined(separator: ","))]}"#
        }
        return (200, Self.completion(content: lead + verdict, logprobs: logprobs))
    }

    static func completion(content: String, logprobs: String) -> String {
        #"{"id":"guard","object":"chat.completion","model":"guard","choices":[{"index":0,"message":{"role":"assistant","content":\#(quote(content))},"logprobs":\#(logprobs),"finish_reason":"stop"}]}"#
    }

    static func quote(_ s: String) -> String {
        let d = try! JSONSerialization.data(withJSONObject: [s])
        let a = String(decoding: d, as: UTF8.self)
        return String(a.dropFirst().dropLast())
    }
}
