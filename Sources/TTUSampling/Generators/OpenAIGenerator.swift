import Foundation
import NIOCore
import TTUFiles

/// An OpenAI-compatible server (vLLM, llama.cpp, TGI, OpenAI…): `POST {base}/completions`
/// with `prompt`, or `POST {base}/chat/completions` with the prompt as one user turn (after
/// the system prompt, if any) or a chat prompt's own turns.
/// `base` is the API root, e.g. `http://127.0.0.1:8081/v1`.
public struct OpenAIGenerator: Generator {
    public let base: String
    public let settings: SamplingSettings
    let transport: HTTPTransport
    /// Where generation requests go: `{base}/completions` or `{base}/chat/completions`.
    public let url: String
    let fixedFields: String

    /// `GET {base}/models`, which OpenAI-compatible servers answer; any answer passes.
    public func preflight() async throws { try await transport.probe(base + "/models") }

    public init(base: String, settings: SamplingSettings, transport: HTTPTransport) {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        self.base = b
        self.settings = settings
        self.transport = transport
        url = b + (settings.api == .chat ? "/chat/completions" : "/completions")
        // Everything but prompt and seed is the same for every request: encode it once.
        var f = "\"model\":" + JSONAccess.quote(settings.model)
        f += ",\"max_tokens\":\(settings.maxTokens)"
        f += ",\"temperature\":" + JSONAccess.number(settings.temperature)
        if let p = settings.topP { f += ",\"top_p\":" + JSONAccess.number(p) }
        if !settings.stop.isEmpty { f += ",\"stop\":[" + settings.stop.map(JSONAccess.quote).joined(separator: ",") + "]" }
        if settings.n > 1 { f += ",\"n\":\(settings.n)" }
        f += ",\"stream\":false"
        // Extra fields: the members of a JSON object (validated by SamplingSettings.canonicalExtraBody).
        if let e = settings.extraBody {
            let inner = e.trimmingCharacters(in: .whitespaces).dropFirst().dropLast()
            if !inner.trimmingCharacters(in: .whitespaces).isEmpty { f += "," + inner }
        }
        fixedFields = f
    }

    public var name: String { base }
    public var batchSize: Int { settings.n }

    /// The request body as text (tests, the benchmark's plain load).
    public func body(_ r: GenerationRequest) -> String { String(buffer: bodyBuffer(r)) }

    /// The request body, written straight into the buffer that is sent.
    func bodyBuffer(_ r: GenerationRequest) -> ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(r.prompt.utf8.count + fixedFields.utf8.count + 80)
        if settings.api == .chat {
            b.writeStaticString("{\"messages\":[")
            let turns = r.messages ?? [ChatMessage(role: "user", content: r.prompt)]
            var first = true
            func turn(_ role: String, _ content: String) {
                b.writeString(first ? "{\"role\":" : ",{\"role\":")
                first = false
                JSONAccess.writeQuoted(role, into: &b)
                b.writeStaticString(",\"content\":")
                JSONAccess.writeQuoted(content, into: &b)
                b.writeStaticString("}")
            }
            if let system = settings.systemPrompt, turns.first?.role != "system" { turn("system", system) }
            for t in turns { turn(t.role, t.content) }
            b.writeStaticString("],")
        } else {
            b.writeStaticString("{\"prompt\":")
            JSONAccess.writeQuoted(r.prompt, into: &b)
            b.writeStaticString(",")
        }
        b.writeString(fixedFields)
        b.writeStaticString(",\"seed\":")
        b.writeString(String(r.wireSeed))
        b.writeStaticString("}")
        return b
    }

    public func generate(_ r: GenerationRequest) async throws -> [String] {
        let bytes = try await transport.postJSON(url, body: bodyBuffer(r))
        return try Self.parseChoices(bytes, chat: settings.api == .chat, expected: r.count, url: url)
    }

    /// The texts of `choices` ordered by their `index` field (or array order without one).
    static func parseChoices(_ bytes: ByteBuffer, chat: Bool, expected: Int, url: String) throws -> [String] {
        let choices: [CompletionJSON.Choice]
        switch CompletionJSON.parse(bytes, chat: chat) {
        case .notAnObject: throw TransientError("malformed \(url) response: not a JSON object")
        case .noChoices: throw TransientError("malformed response from \(url): no 'choices' array")
        case .choices(let c): choices = c
        }
        guard choices.count >= expected else {
            throw TransientError("malformed response from \(url): \(choices.count) choices, expected \(expected)")
        }
        // The usual answer: exactly the choices asked for, in order, each with its text.
        if choices.count == expected, choices.indices.allSatisfy({ (choices[$0].index ?? $0) == $0 && choices[$0].text != nil }) {
            return choices.map { $0.text! }
        }
        var texts = [String?](repeating: nil, count: expected)
        for (pos, c) in choices.enumerated() {
            let k = c.index ?? pos
            guard k >= 0, k < choices.count else {
                throw TransientError("malformed response from \(url): choice index \(k) out of range")
            }
            if k >= expected { continue }
            guard let t = c.text else {
                throw TransientError("malformed response from \(url): choice \(k) has no \(chat ? "message.content" : "text")")
            }
            texts[k] = t
        }
        var out: [String] = []
        out.reserveCapacity(expected)
        for (k, t) in texts.enumerated() {
            guard let t else { throw TransientError("malformed response from \(url): choice \(k) missing") }
            out.append(t)
        }
        return out
    }
}
