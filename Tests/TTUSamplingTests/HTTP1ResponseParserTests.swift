import NIOCore
import XCTest
@testable import TTUSampling

/// `HTTP1ResponseParser`: every framing a server may use, read whole and one byte at a
/// time, and every malformed head refused (never read as an answer).
final class HTTP1ResponseParserTests: XCTestCase {
    enum Outcome: Equatable {
        case message(status: Int, retryAfter: String?, keepAlive: Bool, body: String, rest: String)
        case needMore
        case invalid
        case tooLarge
    }

    /// Feeds `text` in pieces of `piece` bytes (0: whole), as the handler does: unread
    /// bytes are kept and the next read appended to them. At the end, a close (`eof`).
    func read(_ text: String, piece: Int = 0, eof: Bool = false, max: Int = 1 << 20) -> Outcome {
        var p = HTTP1ResponseParser(maxBodyBytes: max)
        let bytes = Array(text.utf8)
        var kept = ByteBuffer()
        var start = 0
        while start < bytes.count {
            let end = piece == 0 ? bytes.count : min(bytes.count, start + piece)
            kept.writeBytes(bytes[start..<end])
            start = end
            do {
                if let m = try p.parse(&kept) {
                    kept.writeBytes(bytes[start...])
                    return .message(status: m.status, retryAfter: m.retryAfter, keepAlive: m.keepAlive,
                                    body: String(buffer: m.body), rest: String(buffer: kept))
                }
            } catch is HTTP1ResponseParser.TooLarge {
                return .tooLarge
            } catch {
                return .invalid
            }
        }
        if eof, let m = p.end() {
            return .message(status: m.status, retryAfter: m.retryAfter, keepAlive: m.keepAlive, body: String(buffer: m.body), rest: "")
        }
        return .needMore
    }

    /// The same outcome whole, byte by byte, and in 7-byte pieces.
    func check(_ text: String, eof: Bool = false, max: Int = 1 << 20, _ expected: Outcome, line: UInt = #line) {
        for piece in [0, 1, 7] {
            XCTAssertEqual(read(text, piece: piece, eof: eof, max: max), expected, "piece \(piece)", line: line)
        }
    }

    func testContentLength() {
        check("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-LENGTH: 11\r\n\r\n{\"a\": [1]}\n",
              .message(status: 200, retryAfter: nil, keepAlive: true, body: "{\"a\": [1]}\n", rest: ""))
        check("HTTP/1.1 429 Too Many Requests\r\nRetry-After:  1 \r\nContent-Length: 2\r\n\r\n{}",
              .message(status: 429, retryAfter: "1", keepAlive: true, body: "{}", rest: ""))
        // No reason phrase, bare LF line ends.
        check("HTTP/1.1 503\nContent-Length: 0\n\n", .message(status: 503, retryAfter: nil, keepAlive: true, body: "", rest: ""))
        // Cut short by a close: no answer.
        check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345", eof: true, .needMore)
    }

    func testChunked() {
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\nB \r\n: \"bcdefg\"}\r\n0\r\nX-Trailer: 1\r\n\r\n",
              .message(status: 200, retryAfter: nil, keepAlive: true, body: "{\"a\": \"bcdefg\"}", rest: ""))
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", .invalid)
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalid)
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", eof: true, .needMore)
    }

    func testConnectionReuse() {
        check("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
              .message(status: 200, retryAfter: nil, keepAlive: false, body: "x", rest: ""))
        check("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", .message(status: 200, retryAfter: nil, keepAlive: false, body: "x", rest: ""))
        check("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
              .message(status: 200, retryAfter: nil, keepAlive: true, body: "x", rest: ""))
        // No length: the body runs until the server closes.
        check("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}", eof: true,
              .message(status: 200, retryAfter: nil, keepAlive: false, body: "{\"a\":1}", rest: ""))
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz", eof: true,
              .message(status: 200, retryAfter: nil, keepAlive: false, body: "xyz", rest: ""))
        // Bytes after a response stay unread (the client then does not reuse the connection).
        check("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/", .message(status: 204, retryAfter: nil, keepAlive: true, body: "", rest: "HTTP/"))
        check("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1", .message(status: 200, retryAfter: nil, keepAlive: true, body: "ok", rest: "HTTP/1.1"))
    }

    func testInterimResponsesAreSkipped() {
        check("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
              .message(status: 200, retryAfter: nil, keepAlive: true, body: "ok", rest: ""))
    }

    func testMalformedHeadsAreRefused() {
        for bad in ["HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "HTTP/1.1 200 OK\r\nX: a\r\n  folded\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
                    "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 90_000) + "\r\n\r\n"] {
            XCTAssertEqual(read(bad), .invalid, String(bad.prefix(60)))
            XCTAssertEqual(read(bad, piece: bad.utf8.count > 1000 ? 4096 : 1), .invalid, String(bad.prefix(60)))
        }
        // The same length twice is one length.
        check("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
              .message(status: 200, retryAfter: nil, keepAlive: true, body: "ok", rest: ""))
    }

    func testBodiesOverTheLimitAreRefused() {
        check("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", max: 10, .tooLarge)
        check("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", max: 10, .tooLarge)
        check("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "x", count: 11), eof: true, max: 10, .tooLarge)
        check("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", max: 10,
              .message(status: 200, retryAfter: nil, keepAlive: true, body: "0123456789", rest: ""))
    }
}
