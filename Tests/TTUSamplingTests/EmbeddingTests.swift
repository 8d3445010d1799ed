import Foundation
import XCTest
@testable import TTUSampling
import TTUTestSupport

final class EmbeddingTests: XCTestCase {
    /// Embeddings come from the stub's /v1/embeddings, and each text is fetched once:
    /// a second call (and a new client on the same cache file) asks the server nothing.
    func testEmbeddingsAreFetchedOnceThroughTheSQLiteCache() async throws {
        let server = StubServer()
        try server.start()
        defer { server.stop() }
        let dir = TempDir()
        let http = HTTPTransport(apiKey: "sk-secret", timeout: 10, connectionsPerHost: 2)
        let texts = ["the cat sat", "a dog barked", "the cat sat", "hello world"]
        let client = EmbeddingClient(base: server.baseURL, model: "stub-embed", transport: http,
                                     cache: try EmbeddingCache(path: dir.file("emb.sqlite")), batchSize: 2)
        let first = try await client.embed(texts)
        XCTAssertEqual(first.fetched, 3)
        XCTAssertEqual(server.embeddedTexts, 3)
        XCTAssertEqual(first.vectors[0], StubServer.embedding("the cat sat"))
        XCTAssertEqual(first.vectors[0], first.vectors[2])
        let again = EmbeddingClient(base: server.baseURL, model: "stub-embed", transport: http,
                                    cache: try EmbeddingCache(path: dir.file("emb.sqlite")))
        let second = try await again.embed(texts.reversed())
        XCTAssertEqual(second.fetched, 0)
        XCTAssertEqual(server.embeddedTexts, 3)
        XCTAssertEqual(second.vectors[0], StubServer.embedding("hello world"))
        // Another model is another cache entry.
        let other = EmbeddingClient(base: server.baseURL, model: "other", transport: http,
                                    cache: try EmbeddingCache(path: dir.file("emb.sqlite")))
        let third = try await other.embed(["the cat sat"])
        XCTAssertEqual(third.fetched, 1)
        XCTAssertEqual(try EmbeddingCache(path: dir.file("emb.sqlite")).count(), 4)
        await http.shutdown()
    }
}
