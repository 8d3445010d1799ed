import Foundation
import NIOCore
import TTUCore
import XCTest
@testable import TTUSampling
import TTUTestSupport

/// The plain-http client behind `HTTPTransport.postJSON` (`KeepAliveClient`): keep-alive
/// reuse, and every failure a transient error of the right kind, never an answer.
/// No timing assertions: a stalled request is held far longer (600 s) than the client's
/// timeout, so the timeout always comes first.
final class KeepAliveClientTests: XCTestCase {
    func stub(faults: [StubServer.Fault] = [], faultAttempts: Int = 1) throws -> StubServer {
        var c = StubServer.Config()
        if !faults.isEmpty { (c.faultRate, c.faults, c.faultAttempts, c.stallSeconds) = (1, faults, faultAttempts, 600) }
        let s = StubServer(config: c)
        try s.start()
        return s
    }

    func generator(_ stub: StubServer, _ transport: HTTPTransport) -> OpenAIGenerator {
        OpenAIGenerator(base: stub.baseURL, settings: SamplingSettings(model: "m"), transport: transport)
    }

    func request(_ index: Int) -> GenerationRequest {
        GenerationRequest(promptID: "p", prompt: "tell me about \"it\"", firstIndex: index, runSeed: 5)
    }

    func testSequentialRequestsShareOneConnection() async throws {
        let s = try stub()
        defer { s.stop() }
        let transport = HTTPTransport(apiKey: "sk-test-key", timeout: 30, connectionsPerHost: 4)
        let g = generator(s, transport)
        for i in 1...40 {
            let texts = try await g.generate(request(i))
            XCTAssertEqual(texts.count, 1)
            XCTAssertTrue(texts[0].contains("(seed \(request(i).wireSeed))"), texts[0])
        }
        XCTAssertEqual(s.connectionsAccepted, 1)
        XCTAssertEqual(s.requestCount, 40)
        await transport.shutdown()
    }

    func testStallTimesOutAsOverloadThenTheRetryIsAnswered() async throws {
        let s = try stub(faults: [.stall])
        defer { s.stop() }
        let short = HTTPTransport(apiKey: nil, timeout: 0.3, connectionsPerHost: 1)
        do {
            _ = try await generator(s, short).generate(request(1))
            XCTFail("a stalled request must time out")
        } catch let e as TransientError {
            XCTAssertTrue(e.message.contains("\(s.baseURL)/completions: timed out"), e.message)
            XCTAssertEqual(e.overload, .timedOut)
        }
        await short.shutdown()
        // The second attempt of the same request is answered (on a new connection: the
        // timed-out one was closed).
        let long = HTTPTransport(apiKey: nil, timeout: 30, connectionsPerHost: 1)
        let texts = try await generator(s, long).generate(request(1))
        XCTAssertEqual(texts.count, 1)
        XCTAssertEqual(s.connectionsAccepted, 2)
        await long.shutdown()
    }

    func testDroppedConnectionIsTransientAndReplaced() async throws {
        let s = try stub(faults: [.drop])
        defer { s.stop() }
        let transport = HTTPTransport(apiKey: nil, timeout: 30, connectionsPerHost: 1)
        let g = generator(s, transport)
        do {
            _ = try await g.generate(request(1))
            XCTFail("a dropped connection must fail the request")
        } catch let e as TransientError {
            XCTAssertTrue(e.message.contains("connection closed by server"), e.message)
            XCTAssertNil(e.overload)
        }
        let texts = try await g.generate(request(1))
        XCTAssertEqual(texts.count, 1)
        XCTAssertEqual(s.connectionsAccepted, 2)
        await transport.shutdown()
    }

    func testStatusesAreClassifiedWithRetryAfter() async throws {
        let s = try stub(faults: [.status429, .status500], faultAttempts: 1)
        defer { s.stop() }
        let transport = HTTPTransport(apiKey: nil, timeout: 30, connectionsPerHost: 1)
        let g = generator(s, transport)
        var seen = Set<Int>()
        for i in 1...20 {
            do {
                _ = try await g.generate(request(i))
                XCTFail("every first attempt is faulted")
            } catch let e as TransientError {
                if e.message.contains("HTTP 429") {
                    seen.insert(429)
                    XCTAssertEqual(e.overload, .refused)
                    XCTAssertTrue(e.retryAfter == 0 || e.retryAfter == 1, "\(String(describing: e.retryAfter))")
                } else {
                    XCTAssertTrue(e.message.contains("HTTP 500"), e.message)
                    XCTAssertNil(e.overload)
                    XCTAssertNil(e.retryAfter)
                    seen.insert(500)
                }
            }
        }
        XCTAssertEqual(seen, [429, 500])
        // Error answers keep the connection alive.
        XCTAssertEqual(s.connectionsAccepted, 1)
        await transport.shutdown()
    }

    func testCancelledRequestEndsAsCancellation() async throws {
        let s = try stub()
        defer { s.stop() }
        s.hold(afterRequests: 0)
        let transport = HTTPTransport(apiKey: nil, timeout: 120, connectionsPerHost: 1)
        let g = generator(s, transport)
        let task = Task { try await g.generate(self.request(1)) }
        XCTAssertTrue(s.waitUntilHolding(timeout: 60))
        task.cancel()
        let result = await task.result
        XCTAssertThrowsError(try result.get()) { XCTAssertTrue($0 is CancellationError, "\($0)") }
        s.release()
        await transport.shutdown()
    }

    func testTargetsAreParsedOnceAndHTTPSIsLeftToAsyncHTTPClient() {
        let t = KeepAliveClient.Target(url: "http://127.0.0.1:8081/v1/completions", authorization: "Bearer k")
        XCTAssertEqual(t?.host, "127.0.0.1")
        XCTAssertEqual(t?.port, 8081)
        XCTAssertEqual(t.map { String(decoding: $0.head, as: UTF8.self) },
                       "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:8081\r\nContent-Type: application/json\r\n"
                       + "Accept: application/json\r\nAuthorization: Bearer k\r\nContent-Length: ")
        let plain = KeepAliveClient.Target(url: "http://example.org/v1/moderations?x=1", authorization: nil)
        XCTAssertEqual(plain?.port, 80)
        XCTAssertTrue(plain.map { String(decoding: $0.head, as: UTF8.self) }?.hasPrefix("POST /v1/moderations?x=1 HTTP/1.1\r\nHost: example.org\r\n") ?? false)
        XCTAssertEqual(KeepAliveClient.Target(url: "http://[::1]:9/v1", authorization: nil)?.host, "::1")
        XCTAssertTrue(KeepAliveClient.Target(url: "http://[::1]:9/v1", authorization: nil)
            .map { String(decoding: $0.head, as: UTF8.self).contains("Host: [::1]:9\r\n") } ?? false)
        XCTAssertTrue(KeepAliveClient.Target(url: "http://h:1/a%20b/c", authorization: nil)
            .map { String(decoding: $0.head, as: UTF8.self).hasPrefix("POST /a%20b/c HTTP/1.1\r\n") } ?? false)
        XCTAssertNil(KeepAliveClient.Target(url: "http://user:pw@h:1/v1", authorization: nil))
        XCTAssertNil(KeepAliveClient.Target(url: "https://api.example.org/v1/completions", authorization: nil))
        XCTAssertNil(KeepAliveClient.Target(url: "not a url", authorization: nil))
        XCTAssertNil(KeepAliveClient.Target(url: "http://127.0.0.1:1/v1", authorization: "Bearer a\r\nX-Evil: 1"))
    }
}
