import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One shared `HTTPClient` for a run, plus the conventions every OpenAI-compatible
/// call shares: JSON POST, bearer token, per-request timeout, error classification.
///
/// The API key lives only in memory here: it is sent as `Authorization: Bearer …`
/// and scrubbed from every error message this type produces.
public final class HTTPTransport: Sendable {
    public let client: HTTPClient
    let timeout: TimeAmount
    let apiKey: String?
    let maxResponseBytes = 16 << 20
    /// POSTs to `http://` URLs (see `KeepAliveClient`); `https://` and GETs use `client`.
    let keepAlive: KeepAliveClient
    private let routes = RouteCache()

    /// - Parameters:
    ///   - connectionsPerHost: allow this many parallel connections to one host (the
    ///     per-endpoint concurrency); AsyncHTTPClient's default is 8.
    ///   - timeout: seconds one request may take, head and body.
    public init(apiKey: String?, timeout: Double, connectionsPerHost: Int) {
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(10), read: .milliseconds(Int64(timeout * 1000)))
        config.connectionPool = .init(idleTimeout: .seconds(60),
                                      concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, connectionsPerHost))
        config.decompression = .disabled
        config.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        self.timeout = .milliseconds(Int64(timeout * 1000))
        self.apiKey = (apiKey?.isEmpty ?? true) ? nil : apiKey
        keepAlive = KeepAliveClient(maxResponseBytes: maxResponseBytes)
    }

    public func shutdown() async {
        keepAlive.shutdown()
        try? await client.shutdown()
    }

    /// The keep-alive client's route for a plain `http://` URL (made once), else nil.
    private func plainRoute(_ url: String) -> KeepAliveClient.Route? {
        routes.get(url) { keepAlive.route(url, authorization: apiKey.map { "Bearer " + $0 }) }
    }

    /// Removes the API key from a message (defence in depth: servers sometimes echo headers).
    func scrub(_ s: String) -> String {
        guard let k = apiKey, k.count >= 4 else { return s }
        return s.replacingOccurrences(of: k, with: "[redacted]")
    }

    /// POSTs `body` (JSON) to `url` and returns the response bytes for a 2xx answer.
    /// Throws `TransientError` for what a retry may fix (timeouts, resets, 408/409/429/5xx)
    /// and `FatalSamplingError` for other 4xx answers.
    public func postJSON(_ url: String, body: ByteBuffer) async throws -> ByteBuffer {
        guard let route = plainRoute(url) else { return try await postWithAsyncHTTPClient(url, body: body) }
        let response: KeepAliveClient.Response
        do {
            response = try await keepAlive.post(route, body: body, timeout: timeout)
        } catch is CancellationError {
            throw CancellationError()
        } catch let e as KeepAliveClient.Failure {
            if Task.isCancelled { throw CancellationError() }
            if case .timedOut = e { throw TransientError(scrub("\(url): \(e)"), overload: .timedOut) }
            throw TransientError(scrub("\(url): \(e)"))
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw TransientError(scrub("\(url): \(error)"))
        }
        return try classify(url, status: response.status, retryAfter: response.retryAfter, body: response.body)
    }

    private func postWithAsyncHTTPClient(_ url: String, body: ByteBuffer) async throws -> ByteBuffer {
        try await send(.POST, url, contentType: "application/json", accept: "application/json", body: body)
    }

    /// Any request through the shared `HTTPClient` (GETs, `https://`, the Batch API's
    /// uploads), with the bearer key; the body of a 2xx answer (at most `limit` bytes,
    /// default `maxResponseBytes`), else the error `classify` gives.
    func send(_ method: HTTPMethod, _ url: String, contentType: String? = nil, accept: String? = nil, body: ByteBuffer? = nil,
              limit: Int? = nil) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer " + apiKey) }
        if let body { request.body = .bytes(body) }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            bytes = try await response.body.collect(upTo: limit ?? maxResponseBytes)
        } catch is CancellationError {
            throw CancellationError()
        } catch let e as HTTPClientError {
            if Task.isCancelled { throw CancellationError() }
            if e == .cancelled { throw CancellationError() }
            throw TransientError(scrub("\(url): \(Self.describe(e))"), overload: e == .deadlineExceeded || e == .readTimeout ? .timedOut : nil)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw TransientError(scrub("\(url): \(error)"))
        }
        return try classify(url, status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: bytes)
    }

    /// The body of a 2xx answer; `TransientError` for 408/409/425/429/5xx (with the
    /// server's `Retry-After`), `FatalSamplingError` for any other status.
    private func classify(_ url: String, status: Int, retryAfter: String?, body bytes: ByteBuffer) throws -> ByteBuffer {
        if (200..<300).contains(status) { return bytes }
        let snippet = scrub(String(decoding: bytes.readableBytesView.prefix(300), as: UTF8.self))
            .replacingOccurrences(of: "\n", with: " ")
        switch status {
        case 408, 409, 425, 429, 500...599:
            let ra = retryAfter.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            throw TransientError("\(url): HTTP \(status) \(snippet)", retryAfter: ra, overload: status == 429 || status == 503 ? .refused : nil)
        default:
            throw FatalSamplingError("\(url): HTTP \(status) \(snippet)")
        }
    }

    /// Checks, before a run draws anything, that a server accepts connections at `url`
    /// (a GET without credentials: any HTTP answer passes, even 401 or 404). Only a
    /// failure to connect (refused, unreachable, unknown host, connect timeout) is fatal,
    /// so a dead or mistyped endpoint stops the run at once with its URL instead of
    /// every request retrying into it; anything later is left to the retries.
    public func probe(_ url: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try? await response.body.collect(upTo: 1 << 20)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if let reason = Self.connectFailure(error) {
                throw FatalSamplingError("cannot connect to \(url) (\(reason)): is the server running, and is the URL right?")
            }
        }
    }

    /// The model ids `GET {base}/models` lists (`{"data": [{"id": …}, …]}`, the OpenAI
    /// shape vLLM, llama.cpp, Ollama and TGI answer), or nil when the server gives no usable
    /// list (another status, another shape, an empty list). A server that cannot be
    /// connected to is fatal, as in `probe`.
    public func listModels(_ base: String) async throws -> [String]? {
        let url = base + "/models"
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 22)
            guard response.status == .ok,
                  let obj = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let data = obj["data"] as? [[String: Any]] else { return nil }
            let ids = data.compactMap { $0["id"] as? String }
            return ids.isEmpty ? nil : ids
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if let reason = Self.connectFailure(error) {
                throw FatalSamplingError("cannot connect to \(url) (\(reason)): is the server running, and is the URL right?")
            }
            return nil
        }
    }

    /// A short reason when `error` means no connection could be made, else nil.
    static func connectFailure(_ error: Error) -> String? {
        if let e = error as? HTTPClientError {
            return e == .connectTimeout ? "connect timed out" : nil
        }
        if let e = error as? IOError, [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL].contains(e.errnoCode) {
            return String(cString: strerror(e.errnoCode)).lowercased()
        }
        if error is NIOConnectionError || error is SocketAddressError { return "\(error)" }
        if let e = error as? ChannelError, case .connectTimeout = e { return "connect timed out" }
        return nil
    }

    static func describe(_ e: HTTPClientError) -> String {
        switch e {
        case .deadlineExceeded: return "timed out"
        case .readTimeout: return "read timed out"
        case .remoteConnectionClosed: return "connection closed by server"
        case .connectTimeout: return "connect timed out"
        default: return "\(e)"
        }
    }
}

/// The keep-alive routes of `HTTPTransport`, by URL text.
private final class RouteCache: @unchecked Sendable {
    private let lock = NSLock()
    private var map: [String: KeepAliveClient.Route?] = [:]
    func get(_ url: String, make: () -> KeepAliveClient.Route?) -> KeepAliveClient.Route? {
        lock.lock(); defer { lock.unlock() }
        if let t = map[url] { return t }
        let t = make()
        map[url] = .some(t)
        return t
    }
}

/// Minimal JSON access for OpenAI-style responses (tolerant of extra fields, strict on the
/// ones we need: a missing or mistyped field is a malformed response, never a default).
enum JSONAccess {
    static func object(_ buffer: ByteBuffer, what: String) throws -> [String: Any] {
        let data = Data(buffer.readableBytesView)
        guard let obj = try? JSONSerialization.jsonObject(with: data), let dict = obj as? [String: Any] else {
            throw TransientError("malformed \(what) response: not a JSON object")
        }
        return dict
    }

    /// Whether `s` holds a character a JSON string literal must escape.
    static func needsEscaping(_ s: String) -> Bool {
        @inline(__always) func special(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5C }
        return s.utf8.withContiguousStorageIfAvailable { $0.contains(where: special) } ?? s.utf8.contains(where: special)
    }

    /// Writes the JSON string literal for `s` (with quotes) into `buffer`.
    static func writeQuoted(_ s: String, into buffer: inout ByteBuffer) {
        if needsEscaping(s) {
            buffer.writeString(quote(s))
        } else {
            buffer.writeStaticString("\"")
            buffer.writeString(s)
            buffer.writeStaticString("\"")
        }
    }

    /// JSON string literal for `s` (with quotes), escaping per RFC 8259.
    static func quote(_ s: String) -> String {
        if !needsEscaping(s) { return "\"" + s + "\"" }
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
        return out
    }

    /// Formats a double for JSON (finite only).
    static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}
