import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server on 127.0.0.1 (ephemeral port) that answers each request with
/// what a synchronous handler returns: what `GuardStub` and `BatchStub` share (the
/// OpenAI stub `StubServer` has its own handler, for its hold seam and delays).
/// A request body larger than `maxBodyBytes` gets a 413.
final class LoopbackServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        /// The path without the query.
        var path: String
        var headers: [(String, String)]
        var body: Data
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    struct Response: Sendable {
        var status: Int
        var body: Data
        var contentType = "application/json"
        init(_ status: Int, _ body: String, contentType: String = "application/json") {
            self.status = status
            self.body = Data(body.utf8)
            self.contentType = contentType
        }
    }

    let maxBodyBytes: Int
    private(set) var port = 0
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    private let handle: @Sendable (Request) -> Response

    init(maxBodyBytes: Int = 64 << 20, handle: @escaping @Sendable (Request) -> Response) {
        self.maxBodyBytes = maxBodyBytes
        self.handle = handle
    }

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    func start() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    channel.pipeline.addHandler(LoopbackHandler(server: self))
                }
            }
        let ch = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        channel = ch
        port = ch.localAddress?.port ?? 0
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    fileprivate func respond(_ r: Request) -> Response {
        r.body.count > maxBodyBytes ? Response(413, #"{"error":{"message":"request too large"}}"#) : handle(r)
    }
}

private final class LoopbackHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: LoopbackServer
    var head: HTTPRequestHead?
    var body = Data()

    init(server: LoopbackServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = Data()
        case .body(let chunk):
            if body.count <= server.maxBodyBytes { body.append(contentsOf: chunk.readableBytesView) }
        case .end:
            guard let h = head else { return }
            head = nil
            let path = h.uri.split(separator: "?").first.map(String.init) ?? h.uri
            let reply = server.respond(.init(method: h.method.rawValue, path: path, headers: h.headers.map { ($0.name, $0.value) }, body: body))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: reply.contentType)
            headers.add(name: "Content-Length", value: String(reply.body.count))
            if !h.isKeepAlive { headers.add(name: "Connection", value: "close") }
            let keepAlive = h.isKeepAlive
            var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
            buffer.writeBytes(reply.body)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { _ in context.close(promise: nil) } }
        }
    }
}
