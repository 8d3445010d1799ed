import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TTUCore

/// A batch as the API reports it (`GET /v1/batches/{id}`).
public struct BatchStatus: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case validating, inProgress = "in_progress", finalizing, completed, failed, expired, cancelling, cancelled
        /// Nothing more will happen to the batch.
        public var isFinal: Bool { [.completed, .failed, .expired, .cancelled].contains(self) }
    }
    public var id: String
    public var state: State
    public var outputFileID: String?
    public var errorFileID: String?
    /// The batch's own errors (a failed batch), as the API wrote them.
    public var errors: String?
}

/// The OpenAI Batch API (also what vLLM's OpenAI server and others imitate), through the
/// run's `HTTPTransport` (its API key, timeouts, error classification and scrubbing):
/// `POST {base}/files` (multipart, purpose=batch), `POST {base}/batches`,
/// `GET {base}/batches/{id}`, `GET {base}/files/{id}/content`.
/// Every call is retried per `retry` on transient failures (timeouts, 429/5xx).
public struct BatchAPI: Sendable {
    public let base: String
    let transport: HTTPTransport
    let retry: RetryPolicy
    /// Largest output file accepted.
    let maxFileBytes = 1 << 30

    public init(base: String, transport: HTTPTransport, retry: RetryPolicy = RetryPolicy()) {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        self.base = b
        self.transport = transport
        self.retry = retry
    }

    private func retrying<T>(_ seed: UInt64, _ body: () async throws -> T) async throws -> T {
        var rng = SeededRNG(seed: seed)
        return try await withRetries(retry, rng: &rng, body)
    }

    /// Uploads a batch input file; returns its file id.
    public func upload(_ jsonl: Data, filename: String) async throws -> String {
        let boundary = "ttu-batch-boundary-7c1f0e"
        var body = Data()
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n".utf8))
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/jsonl\r\n\r\n".utf8))
        body.append(jsonl)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let url = base + "/files"
        let reply = try await retrying(1) {
            try await transport.send(.POST, url, contentType: "multipart/form-data; boundary=\(boundary)", body: ByteBuffer(bytes: body))
        }
        return try Self.string(reply, "id", url: url)
    }

    /// Creates a batch of the uploaded file's requests to `endpoint` (`/v1/completions`…).
    public func create(inputFileID: String, endpoint: String) async throws -> BatchStatus {
        let url = base + "/batches"
        let body = "{\"input_file_id\":" + JSONAccess.quote(inputFileID) + ",\"endpoint\":" + JSONAccess.quote(endpoint)
            + ",\"completion_window\":\"24h\"}"
        // A create whose answer was lost (a timeout) may still have made a batch, which a
        // retry then makes twice; the first is left unused (never ingested, so never counted).
        let reply = try await retrying(4) { try await transport.send(.POST, url, contentType: "application/json", body: ByteBuffer(string: body)) }
        return try Self.status(reply, url: url)
    }

    public func status(_ id: String) async throws -> BatchStatus {
        let url = base + "/batches/" + id
        return try Self.status(try await retrying(2) { try await transport.send(.GET, url) }, url: url)
    }

    public func content(_ fileID: String) async throws -> Data {
        let url = base + "/files/" + fileID + "/content"
        let reply = try await retrying(3) { try await transport.send(.GET, url, limit: maxFileBytes) }
        return Data(reply.readableBytesView)
    }

    static func string(_ reply: ByteBuffer, _ key: String, url: String) throws -> String {
        let obj = try JSONAccess.object(reply, what: url)
        guard let v = obj[key] as? String, !v.isEmpty else { throw TransientError("malformed \(url) response: no '\(key)'") }
        return v
    }

    static func status(_ reply: ByteBuffer, url: String) throws -> BatchStatus {
        let obj = try JSONAccess.object(reply, what: url)
        guard let id = obj["id"] as? String, let s = obj["status"] as? String else {
            throw TransientError("malformed \(url) response: no 'id' and 'status'")
        }
        guard let state = BatchStatus.State(rawValue: s) else {
            throw FatalSamplingError("\(url): unknown batch status '\(s)' (expected one of \(BatchStatus.State.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var errors: String?
        if let e = obj["errors"], !(e is NSNull), let d = try? JSONSerialization.data(withJSONObject: e, options: [.sortedKeys]) {
            errors = String(decoding: d, as: UTF8.self)
        }
        return BatchStatus(id: id, state: state, outputFileID: obj["output_file_id"] as? String,
                           errorFileID: obj["error_file_id"] as? String, errors: errors)
    }
}
