import Foundation
import NIOCore
import TTUCore
import XCTest
@testable import TTUSampling

/// `CompletionJSON` (the byte-level reader of completion responses) against the
/// `JSONSerialization` reading it replaced: the same texts from valid responses, and
/// every response JSONSerialization refuses is refused.
final class CompletionJSONTests: XCTestCase {
    typealias Choice = CompletionJSON.Choice

    /// What the former `JSONSerialization`-based `parseChoices` read from `bytes`.
    func reference(_ bytes: [UInt8], chat: Bool) -> CompletionJSON.Parsed {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)), let dict = obj as? [String: Any] else {
            return .notAnObject
        }
        guard let choices = dict["choices"] as? [[String: Any]] else { return .noChoices }
        return .choices(choices.map { c in
            let text = chat ? (c["message"] as? [String: Any])?["content"] as? String : c["text"] as? String
            return Choice(index: c["index"] as? Int, text: text)
        })
    }

    /// Indices far beyond any `choices` count are out of range either way, and how a
    /// number with more digits than a Double holds (`9.9999999999999999999`) rounds is
    /// not compared: such indices are dropped from both readings.
    func sane(_ p: CompletionJSON.Parsed, input: [UInt8]) -> CompletionJSON.Parsed {
        guard case .choices(let cs) = p else { return p }
        var run = 0, longNumber = false
        for b in input {
            run = (b >= 0x30 && b <= 0x39) || (b == UInt8(ascii: ".") && run > 0) ? run + 1 : 0
            if run > 16 { longNumber = true }
        }
        return .choices(cs.map { c in
            Choice(index: c.index.flatMap { abs($0) < 1000 && !longNumber ? $0 : nil }, text: c.text)
        })
    }

    func parse(_ bytes: [UInt8], chat: Bool) -> CompletionJSON.Parsed {
        var b = ByteBufferAllocator().buffer(capacity: bytes.count)
        b.writeBytes(bytes)
        return CompletionJSON.parse(b, chat: chat)
    }

    static let samples: [String] = [
        #"{"id":"cmpl-stub","object":"text_completion","model":"stub","choices":[{"index":0,"text":" a harmless sentence.","finish_reason":"length"}]}"#,
        #"{"choices":[{"text":"b","index":1},{"index":0,"text":"a"}],"usage":{"prompt_tokens":3,"total_tokens":-1.5e+3}}"#,
        " \n{ \"choices\" : [ { \"index\" : 0 , \"text\" : \"tab\\there \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r \\u00e9\\u4e2d\\ud83d\\ude00\" } ] }\r\n",
        #"{"choices":[{"index":0,"text":"héllo wörld 😀 中文","logprobs":null,"x":[true,false,null,{"a":[]},{}]}]}"#,
        #"{"choices":[{"index":0,"message":{"role":"assistant","content":"safe"},"finish_reason":"stop"}]}"#,
        #"{"choices":[{"index":0,"message":{"role":"assistant","content":null}}]}"#,
        #"{"choices":[{"index":0,"text":null}]}"#,
        #"{"choices":[{"index":"0","text":"s"}]}"#,
        #"{"choices":[{"index":2.0,"text":"f"},{"index":1e0,"text":"e"},{"index":0,"text":"z"}]}"#,
        #"{"choices":[{"index":0,"text":"a"},3]}"#,
        #"{"choices":{"text":"a"}}"#,
        #"{"choices":[]}"#,
        #"{"choices":[{"index":0,"text":"trailing commas",},],}"#,
        #"{"choices":[{"index":0,"text":"first"}],"choices":[{"index":0,"text":"second"}]}"#,
        #"{"choices":[{"index":0,"text":"first","text":"second"}]}"#,
        #"{"ch\u006fices":[{"\u0069ndex":0,"t\u0065xt":"escaped keys"}]}"#,
        #"{"id":"stub","object":"list"}"#,
        #"{"choices": [{"text": "unterminated"#,
        #"[{"choices":[]}]"#,
        #""just a string""#,
        "{\"choices\":[{\"index\":0,\"text\":\"\\ud800 lone\"}]}",
        "{\"choices\":[{\"index\":-0,\"text\":\"neg zero\"},{\"index\":99999999999999999999,\"text\":\"huge\"}]}",
        "{}",
        "",
    ]

    func testValidAndMalformedSamplesAgreeWithJSONSerialization() {
        for s in Self.samples {
            for chat in [false, true] {
                let b = Array(s.utf8)
                XCTAssertEqual(parse(b, chat: chat), reference(b, chat: chat), "\(chat ? "chat" : "completion"): \(s)")
            }
        }
        XCTAssertEqual(parse(Array(Self.samples[2].utf8), chat: false),
                       .choices([Choice(index: 0, text: "tab\there \"q\" \\ / \u{8}\u{c}\n\r é中😀")]))
    }

    /// Truncations, byte substitutions, insertions and deletions of the samples: whatever
    /// JSONSerialization refuses is refused, and what it reads is read the same.
    func testMutatedResponsesAgreeWithJSONSerialization() {
        let alphabet: [UInt8] = Array(#"{}[],:"\/u0-.e+Et fn1a"#.utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xA9, 0xFF, 0x80, 0xED, 0xA0]
        var rng = SeededRNG(seed: 5)
        var checked = 0, refused = 0
        for s in Self.samples {
            let b = Array(s.utf8)
            var variants: [[UInt8]] = (0..<b.count).map { Array(b[..<$0]) }
            for _ in 0..<400 where !b.isEmpty {
                var m = b
                for _ in 0..<(1 + Int(rng.next() % 2)) {
                    let at = Int(rng.next() % UInt64(m.count))
                    let c = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    switch rng.next() % 3 {
                    case 0: m[at] = c
                    case 1: m.insert(c, at: at)
                    default: if m.count > 1 { m.remove(at: at) }
                    }
                }
                variants.append(m)
            }
            for v in variants {
                for chat in [false, true] {
                    let mine = parse(v, chat: chat), ref = reference(v, chat: chat)
                    checked += 1
                    if ref == .notAnObject {
                        refused += 1
                        XCTAssertEqual(mine, .notAnObject, "accepted what JSONSerialization refuses: \(String(decoding: v, as: UTF8.self).debugDescription)")
                    } else {
                        XCTAssertEqual(sane(mine, input: v), sane(ref, input: v), "\(String(decoding: v, as: UTF8.self).debugDescription)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(refused, checked / 4)
        XCTAssertGreaterThan(checked - refused, checked / 10)
    }

    func testDeepNestingIsRefusedNotRecursed() {
        let deep = Array(("{\"choices\":[{\"index\":0,\"text\":\"a\",\"x\":" + String(repeating: "[", count: 100_000)
            + String(repeating: "]", count: 100_000) + "}]}").utf8)
        XCTAssertEqual(parse(deep, chat: false), .notAnObject)
    }

    func testParseChoicesOrdersByIndexAndRefusesMalformed() throws {
        func choices(_ s: String, expected: Int, chat: Bool = false) throws -> [String] {
            try OpenAIGenerator.parseChoices(ByteBuffer(string: s), chat: chat, expected: expected, url: "u")
        }
        XCTAssertEqual(try choices(Self.samples[1], expected: 2), ["a", "b"])
        XCTAssertEqual(try choices(Self.samples[4], expected: 1, chat: true), ["safe"])
        let malformed: [(String, Int)] = [
            (#"{"choices":[{"index":0,"message":{"role":"assistant","content":null}}]}"#, 1),
            (#"{"choices":[{"index":0,"text":null}]}"#, 1),
            (#"{"choices":[{"index":0,"text":"a"},3]}"#, 1),
            (#"{"choices":[]}"#, 1),
            (#"{"id":"stub","object":"list"}"#, 1),
            (#"{"choices": [{"text": "unterminated"#, 1),
            (#"{"choices":[{"index":5,"text":"a"}]}"#, 1),
            (#"{"choices":[{"index":1,"text":"a"},{"index":1,"text":"b"}]}"#, 2),
        ]
        for (s, expected) in malformed {
            XCTAssertThrowsError(try choices(s, expected: expected), s) { XCTAssertTrue($0 is TransientError, s) }
        }
    }

    /// Request bodies carry any prompt text exactly (quotes, backslashes, control
    /// characters, non-ASCII), for both APIs.
    func testRequestBodyCarriesThePromptExactly() throws {
        let transport = HTTPTransport(apiKey: nil, timeout: 1, connectionsPerHost: 1)
        defer { try? transport.client.syncShutdown() }
        for api in SamplingSettings.API.allCases {
            let g = OpenAIGenerator(base: "http://127.0.0.1:1/v1", settings: SamplingSettings(model: "m", api: api), transport: transport)
            for prompt in ["plain words", "say \"hi\"", "back\\slash", "line\nbreak\ttab\u{1}\u{1F}", "héllo 😀 中文", ""] {
                let r = GenerationRequest(promptID: "p", prompt: prompt, firstIndex: 3, runSeed: 9)
                let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(g.body(r).utf8)) as? [String: Any])
                let sent = api == .chat ? ((obj["messages"] as? [[String: Any]])?.first?["content"] as? String) : obj["prompt"] as? String
                XCTAssertEqual(sent, prompt)
                XCTAssertEqual(obj["seed"] as? Int, r.wireSeed)
                XCTAssertEqual(JSONAccess.quote(prompt), String(buffer: { var b = ByteBuffer(); JSONAccess.writeQuoted(prompt, into: &b); return b }()))
            }
        }
    }
}
