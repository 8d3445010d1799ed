import NIOCore

/// Reads HTTP/1.x responses from a byte stream, for `KeepAliveClient` (RFC 9112 framing).
///
/// Only what a JSON exchange needs becomes a value: the status, `Retry-After`, whether the
/// connection may be reused, and the body. The framing is complete: `Content-Length`,
/// `Transfer-Encoding: chunked` (extensions and trailers skipped), a body running until the
/// connection closes (no length, or another transfer coding), no body for 204 and 304, and
/// interim 1xx responses skipped. Lines may end in CRLF or a bare LF. Anything else that
/// breaks the grammar — a bad status line, a header line without a colon or starting with
/// whitespace (obsolete folding), conflicting or non-numeric `Content-Length`, a bad chunk
/// size, a 101 upgrade, more than 80 KiB of header — throws `Invalid`; a body larger than
/// `maxBodyBytes` throws `TooLarge`. A body that arrives in one read is a slice of it (no copy).
struct HTTP1ResponseParser {
    struct Invalid: Error, CustomStringConvertible {
        let why: String
        var description: String { why }
    }

    struct TooLarge: Error {}

    struct Message {
        var status: Int
        var retryAfter: String?
        /// The connection may carry another request.
        var keepAlive: Bool
        var body: ByteBuffer
    }

    private enum State {
        case statusLine, headers, trailers, untilClose
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
    }

    let maxBodyBytes: Int
    static let maxHeaderBytes = 80 * 1024

    private var state = State.statusLine
    private var status = 0
    private var http10 = false
    private var retryAfter: String?
    private var contentLength: Int?
    private var chunked = false
    private var otherCoding = false
    private var connectionClose = false
    private var connectionKeepAlive = false
    private var headerBytes = 0
    private var body: ByteBuffer?
    private var bodyBytes = 0

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    /// Consumes what it can of `buffer` and returns the response once it is complete (any
    /// bytes after it stay in `buffer`); nil: more bytes are needed.
    mutating func parse(_ buffer: inout ByteBuffer) throws -> Message? {
        while true {
            switch state {
            case .statusLine:
                guard let line = try readLine(&buffer) else { return nil }
                try statusLine(line)
                state = .headers
            case .headers:
                guard let line = try readLine(&buffer) else { return nil }
                if line.readableBytes > 0 {
                    try header(line)
                } else if let m = try endOfHead() {
                    return m
                }
            case .body(let remaining):
                let n = min(remaining, buffer.readableBytes)
                if n == 0 { return nil }
                take(&buffer, n)
                if remaining == n { return finish() }
                state = .body(remaining: remaining - n)
            case .chunkSize:
                guard let line = try readLine(&buffer, head: false) else { return nil }
                let size = try chunkSize(line)
                if size == 0 {
                    state = .trailers
                } else {
                    if bodyBytes + size > maxBodyBytes { throw TooLarge() }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let n = min(remaining, buffer.readableBytes)
                if n == 0 { return nil }
                take(&buffer, n)
                state = remaining == n ? .chunkEnd : .chunkData(remaining: remaining - n)
            case .chunkEnd:
                guard let line = try readLine(&buffer, head: false) else { return nil }
                guard line.readableBytes == 0 else { throw Invalid(why: "chunk longer than its size") }
                state = .chunkSize
            case .trailers:
                guard let line = try readLine(&buffer) else { return nil }
                if line.readableBytes == 0 { return finish() }
            case .untilClose:
                let n = buffer.readableBytes
                if n == 0 { return nil }
                if bodyBytes + n > maxBodyBytes { throw TooLarge() }
                take(&buffer, n)
                return nil
            }
        }
    }

    /// The connection closed: the response, when its body was the rest of the stream;
    /// nil when the response was cut short (or none had begun).
    mutating func end() -> Message? {
        if case .untilClose = state { return finish() }
        return nil
    }

    // MARK: - pieces

    private mutating func take(_ buffer: inout ByteBuffer, _ n: Int) {
        bodyBytes += n
        if body == nil {
            body = buffer.readSlice(length: n)
        } else {
            var slice = buffer.readSlice(length: n)!
            body!.writeBuffer(&slice)
        }
    }

    private mutating func finish() -> Message {
        let keepAlive: Bool
        if case .untilClose = state {
            keepAlive = false
        } else {
            keepAlive = http10 ? (connectionKeepAlive && !connectionClose) : !connectionClose
        }
        let m = Message(status: status, retryAfter: retryAfter, keepAlive: keepAlive, body: body ?? ByteBuffer())
        self = HTTP1ResponseParser(maxBodyBytes: maxBodyBytes)
        return m
    }

    /// A line without its CRLF (or LF), consumed from `buffer`; nil if it is not complete
    /// yet. Lines of the head (and trailers) count towards its 80 KiB; a chunk-size line
    /// may be as long on its own.
    private mutating func readLine(_ buffer: inout ByteBuffer, head: Bool = true) throws -> ByteBuffer? {
        let used = head ? headerBytes : 0
        let lf = buffer.withUnsafeReadableBytes { $0.firstIndex(of: 0x0A) }
        guard let lf else {
            if used + buffer.readableBytes > Self.maxHeaderBytes { throw Invalid(why: "header larger than 80 KiB") }
            return nil
        }
        if used + lf + 1 > Self.maxHeaderBytes { throw Invalid(why: "header larger than 80 KiB") }
        if head { headerBytes += lf + 1 }
        var line = buffer.readSlice(length: lf)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == 0x0D {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        return line
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]`
    private mutating func statusLine(_ line: ByteBuffer) throws {
        let ok: Bool = line.withUnsafeReadableBytes { b in
            guard b.count >= 12, b.starts(with: "HTTP/1.".utf8), b[7] == 0x30 || b[7] == 0x31, b[8] == 0x20 else { return false }
            var s = 0
            for k in 9..<12 {
                guard b[k] >= 0x30, b[k] <= 0x39 else { return false }
                s = s * 10 + Int(b[k] - 0x30)
            }
            guard b.count == 12 || b[12] == 0x20, s >= 100 else { return false }
            status = s
            http10 = b[7] == 0x30
            return true
        }
        if !ok { throw Invalid(why: "bad status line") }
    }

    private mutating func header(_ line: ByteBuffer) throws {
        enum Known { case contentLength, transferEncoding, connection, retryAfter, other }
        let (known, value): (Known, String?) = try line.withUnsafeReadableBytes { b in
            guard let colon = b.firstIndex(of: 0x3A), colon > 0 else { throw Invalid(why: "header line without a name and colon") }
            for k in 0..<colon where b[k] == 0x20 || b[k] == 0x09 { throw Invalid(why: "whitespace in a header name") }
            @inline(__always) func named(_ n: StaticString) -> Bool {
                guard colon == n.utf8CodeUnitCount else { return false }
                let p = n.utf8Start
                for k in 0..<colon where b[k] | 0x20 != p[k] { return false }
                return true
            }
            let kind: Known = named("content-length") ? .contentLength : named("transfer-encoding") ? .transferEncoding
                : named("connection") ? .connection : named("retry-after") ? .retryAfter : .other
            if kind == .other { return (kind, nil) }
            var lo = colon + 1, hi = b.count
            while lo < hi, b[lo] == 0x20 || b[lo] == 0x09 { lo += 1 }
            while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0x09 { hi -= 1 }
            return (kind, String(decoding: UnsafeRawBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self))
        }
        guard let value else { return }
        switch known {
        case .contentLength:
            guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value) else {
                throw Invalid(why: "bad Content-Length '\(value.prefix(40))'")
            }
            if let old = contentLength, old != n { throw Invalid(why: "conflicting Content-Length") }
            contentLength = n
        case .transferEncoding:
            let last = value.split(separator: ",").last?.trimmingWhitespace.lowercased()
            chunked = last == "chunked"
            otherCoding = !chunked
        case .connection:
            for token in value.split(separator: ",") {
                switch token.trimmingWhitespace.lowercased() {
                case "close": connectionClose = true
                case "keep-alive": connectionKeepAlive = true
                default: break
                }
            }
        case .retryAfter:
            if retryAfter == nil { retryAfter = value }
        case .other:
            break
        }
    }

    /// After the blank line: the response if it has no body, else the body's framing.
    private mutating func endOfHead() throws -> Message? {
        if status < 200 {
            if status == 101 { throw Invalid(why: "unexpected 101 Switching Protocols") }
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            self = HTTP1ResponseParser(maxBodyBytes: maxBodyBytes)
            return nil
        }
        if status == 204 || status == 304 { return finish() }
        if chunked {
            state = .chunkSize
        } else if otherCoding {
            state = .untilClose
        } else if let n = contentLength {
            if n > maxBodyBytes { throw TooLarge() }
            if n == 0 { return finish() }
            state = .body(remaining: n)
        } else {
            state = .untilClose
        }
        return nil
    }

    /// `1*HEXDIG [; extensions]`
    private func chunkSize(_ line: ByteBuffer) throws -> Int {
        try line.withUnsafeReadableBytes { b in
            var n = 0, digits = 0, k = 0
            while k < b.count {
                let c = b[k]
                let v: Int
                switch c {
                case 0x30...0x39: v = Int(c - 0x30)
                case 0x41...0x46: v = Int(c - 0x41 + 10)
                case 0x61...0x66: v = Int(c - 0x61 + 10)
                default: v = -1
                }
                if v < 0 { break }
                n = n * 16 + v
                digits += 1
                k += 1
            }
            guard digits > 0, digits <= 15 else { throw Invalid(why: "bad chunk size") }
            while k < b.count, b[k] == 0x20 || b[k] == 0x09 { k += 1 }
            guard k == b.count || b[k] == 0x3B else { throw Invalid(why: "bad chunk size") }
            return n
        }
    }
}

private extension Substring {
    var trimmingWhitespace: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
