import Foundation
import NIOCore
import NIOPosix

/// The HTTP/1.1 client of `HTTPTransport.postJSON` for plain `http://` URLs: keep-alive
/// connections on the shared event loops, one request at a time per connection, and
/// nothing per request but what a JSON POST needs.
///
/// Why not AsyncHTTPClient here: against a server that answers at once, its per-request
/// machinery (URL parsing and request preparation, tracing attributes, a transaction
/// state machine, an async body stream, a timer per request, thread hops) cost about
/// 60 % of `collect`'s CPU (perf, see README "Speed"). Here a request is one buffer (its
/// head encoded once per URL), the answer is read by `HTTP1ResponseParser` straight from
/// the socket's buffers, and a caller running on an event loop (the collector's workers
/// do, see `EventLoopExecutor`) gets a connection of that same loop, so the request, its
/// answer and the caller's next step never change threads. `https://` URLs and every GET
/// stay on AsyncHTTPClient.
///
/// Contract (what `postJSON` relies on): `post` returns the status, `Retry-After` and
/// body of a complete response, or throws `KeepAliveClient.Failure` (timed out — the
/// whole exchange, connect included, took longer than `timeout`; closed by the server
/// before the response was complete; response larger than `maxResponseBytes`; malformed
/// HTTP) or the connect error; a cancelled caller gets `CancellationError` at once and
/// its connection is closed. A connection goes back to the pool only after a complete
/// response that allows keep-alive, and is taken from it only while still open (a server
/// may close an idle one: a request that meets that close fails as `closed`, a transient
/// error the caller's retries absorb).
final class KeepAliveClient: Sendable {
    typealias Response = HTTP1ResponseParser.Message

    enum Failure: Error, CustomStringConvertible {
        case timedOut, closed, tooLarge(Int), malformed(String)
        var description: String {
            switch self {
            case .timedOut: return "timed out"
            case .closed: return "connection closed by server"
            case .tooLarge(let n): return "response larger than \(n) bytes"
            case .malformed(let why): return "malformed HTTP response (\(why))"
            }
        }
    }

    /// A parsed `http://` URL and the head of every POST to it, encoded once.
    struct Target: Sendable {
        let host: String
        let port: Int
        /// "POST /path HTTP/1.1\r\nHost: …\r\n…Content-Length: " (the length and body follow).
        let head: [UInt8]

        /// nil unless `url` is an absolute `http://` URL with a host and no user or
        /// password (and `authorization` a valid header value: one line).
        init?(url: String, authorization: String?) {
            if let a = authorization, a.utf8.contains(where: { $0 == 13 || $0 == 10 }) { return nil }
            guard let u = URLComponents(string: url), u.scheme?.lowercased() == "http", u.user == nil, u.password == nil,
                  let name = u.host, !name.isEmpty else { return nil }
            host = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
            port = u.port ?? 80
            // As written (percent-escapes kept): the request line must stay one valid line.
            var path = u.percentEncodedPath.isEmpty ? "/" : u.percentEncodedPath
            if let q = u.percentEncodedQuery { path += "?" + q }
            guard !path.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else { return nil }
            let hostField = (host.contains(":") ? "[\(host)]" : host) + (u.port.map { ":\($0)" } ?? "")
            var h = "POST \(path) HTTP/1.1\r\nHost: \(hostField)\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
            if let authorization { h += "Authorization: \(authorization)\r\n" }
            h += "Content-Length: "
            head = Array(h.utf8)
        }
    }

    /// One URL's target and its idle connections (most recently used last).
    final class Route: @unchecked Sendable {
        let target: Target
        fileprivate let lock = NSLock()
        fileprivate var idle: [Connection] = []
        init(_ target: Target) { self.target = target }
    }

    let group: MultiThreadedEventLoopGroup
    let connectTimeout: TimeAmount
    let maxResponseBytes: Int
    private let state = State()

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var routes: [Route] = []
        var shutDown = false
    }

    init(group: MultiThreadedEventLoopGroup = .singleton, connectTimeout: TimeAmount = .seconds(10), maxResponseBytes: Int) {
        self.group = group
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// The route for `url` (nil unless it is a plain `http://` URL); call once per URL.
    func route(_ url: String, authorization: String?) -> Route? {
        guard let t = Target(url: url, authorization: authorization) else { return nil }
        let r = Route(t)
        state.lock.withLock { state.routes.append(r) }
        return r
    }

    /// Closes every idle connection; later requests fail.
    func shutdown() {
        let routes: [Route] = state.lock.withLock {
            state.shutDown = true
            return state.routes
        }
        for r in routes {
            let idle: [Connection] = r.lock.withLock { defer { r.idle = [] }; return r.idle }
            for c in idle { c.channel.close(promise: nil) }
        }
    }

    private var isShutDown: Bool { state.lock.withLock { state.shutDown } }

    /// POSTs `body` to the route's URL; the whole exchange (connect included) must end within `timeout`.
    func post(_ route: Route, body: ByteBuffer, timeout: TimeAmount) async throws -> Response {
        let deadline = NIODeadline.now() + timeout
        // A caller on an event loop gets a connection of that loop (no thread hop); any
        // other caller any idle connection.
        let current = MultiThreadedEventLoopGroup.currentEventLoop
        let conn: Connection
        if let c = takeIdle(route, on: current) {
            conn = c
        } else {
            if isShutDown { throw Failure.closed }
            conn = try await connect(route.target, on: current ?? group.next(), deadline: deadline)
        }
        let head = route.target.head
        var request = conn.channel.allocator.buffer(capacity: head.count + 24 + body.readableBytes)
        request.writeBytes(head)
        Self.writeDecimal(body.readableBytes, into: &request)
        request.writeStaticString("\r\n\r\n")
        var b = body
        request.writeBuffer(&b)
        let response: Response
        do {
            response = try await withTaskCancellationHandler {
                try await withUnsafeThrowingContinuation { (reply: UnsafeContinuation<Response, Error>) in
                    let handler = conn.handler
                    if conn.channel.eventLoop.inEventLoop {
                        handler.send(request, deadline: deadline, reply: reply)
                    } else {
                        conn.channel.eventLoop.execute { handler.send(request, deadline: deadline, reply: reply) }
                    }
                }
            } onCancel: {
                let handler = conn.handler
                conn.channel.eventLoop.execute { handler.cancel() }
            }
        } catch {
            conn.channel.close(promise: nil)
            throw error
        }
        if response.keepAlive { putIdle(route, conn) } else { conn.channel.close(promise: nil) }
        return response
    }

    /// `n ≥ 0` in decimal digits (no String in between).
    static func writeDecimal(_ n: Int, into buffer: inout ByteBuffer) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = withUnsafeMutableBytes(of: &digits) { d -> Int in
            var v = n, k = d.count
            repeat { k -= 1; d[k] = UInt8(truncatingIfNeeded: 0x30 + v % 10); v /= 10 } while v > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: d[k...]))
            return d.count - k
        }
        _ = count
    }

    /// The most recently used open idle connection (of `loop`, when given).
    private func takeIdle(_ route: Route, on loop: EventLoop?) -> Connection? {
        route.lock.lock()
        defer { route.lock.unlock() }
        var k = route.idle.count - 1
        while k >= 0 {
            let c = route.idle[k]
            if !c.channel.isActive {
                route.idle.remove(at: k)
            } else if loop == nil || c.channel.eventLoop === loop! {
                route.idle.remove(at: k)
                return c
            }
            k -= 1
        }
        return nil
    }

    private func putIdle(_ route: Route, _ c: Connection) {
        if isShutDown { c.channel.close(promise: nil); return }
        route.lock.withLock { route.idle.append(c) }
    }

    private func connect(_ target: Target, on loop: EventLoop, deadline: NIODeadline) async throws -> Connection {
        let left = deadline - .now()
        let limit = min(connectTimeout, max(left, .milliseconds(1)))
        let handler = ResponseHandler(maxResponseBytes: maxResponseBytes)
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(limit)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: target.host, port: target.port).get()
        return Connection(channel: channel, handler: handler)
    }

    final class Connection: Sendable {
        let channel: Channel
        let handler: ResponseHandler
        init(channel: Channel, handler: ResponseHandler) { self.channel = channel; self.handler = handler }
    }
}

/// One connection's request/response cycle. Used only on the channel's event loop; the
/// reply continuation is resumed exactly once, there.
///
/// The timeout costs no timer per request: one scheduled check per connection, re-armed
/// for the current request's deadline only when it fires early (deadlines only grow).
final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var parser: HTTP1ResponseParser
    private let maxResponseBytes: Int
    private var context: ChannelHandlerContext?
    private var reply: UnsafeContinuation<KeepAliveClient.Response, Error>?
    /// Bytes of an incomplete line kept for the next read.
    private var cumulation: ByteBuffer?
    private var deadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?
    private var closed = false
    private var cancelled = false

    init(maxResponseBytes: Int) {
        self.maxResponseBytes = maxResponseBytes
        parser = HTTP1ResponseParser(maxBodyBytes: maxResponseBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ request: ByteBuffer, deadline: NIODeadline, reply: UnsafeContinuation<KeepAliveClient.Response, Error>) {
        guard let context, !closed, !cancelled, self.reply == nil else {
            reply.resume(throwing: cancelled ? CancellationError() as Error : KeepAliveClient.Failure.closed)
            return
        }
        self.reply = reply
        self.deadline = deadline
        if timer == nil { arm(context.eventLoop) }
        context.writeAndFlush(NIOAny(request), promise: nil)
    }

    /// The caller was cancelled: it gets `CancellationError` now, and the connection closes.
    func cancel() {
        cancelled = true
        fail(CancellationError())
    }

    private func arm(_ loop: EventLoop) {
        timer = loop.scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard reply != nil else { return }
            if NIODeadline.now() >= deadline {
                fail(KeepAliveClient.Failure.timedOut)
            } else {
                arm(loop)
            }
        }
    }

    /// Fails the request in flight (if any) and closes the connection.
    private func fail(_ error: Error) {
        if let r = reply {
            reply = nil
            r.resume(throwing: error)
        }
        closed = true
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard reply != nil else {
            // An answer nobody asked for: the connection's state is unknown.
            fail(KeepAliveClient.Failure.malformed("unsolicited response"))
            return
        }
        if var c = cumulation {
            cumulation = nil
            c.writeBuffer(&buffer)
            buffer = c
        }
        do {
            guard var m = try parser.parse(&buffer) else {
                if buffer.readableBytes > 0 { cumulation = buffer }
                return
            }
            // Bytes after the response (we never pipeline): do not trust the connection.
            if buffer.readableBytes > 0 { m.keepAlive = false }
            let r = reply!
            reply = nil
            if !m.keepAlive { closed = true; context.close(promise: nil) }
            r.resume(returning: m)
        } catch is HTTP1ResponseParser.TooLarge {
            fail(KeepAliveClient.Failure.tooLarge(maxResponseBytes))
        } catch {
            fail(KeepAliveClient.Failure.malformed("\(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        timer?.cancel()
        timer = nil
        if let r = reply {
            reply = nil
            // A body that runs until the connection closes ends here; anything else was cut short.
            if cumulation == nil, let m = parser.end() { r.resume(returning: m) } else { r.resume(throwing: KeepAliveClient.Failure.closed) }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error)
    }
}
