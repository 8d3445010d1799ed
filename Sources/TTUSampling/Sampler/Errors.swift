import Foundation
import TTUCore

/// A failure worth trying again: a timeout, a reset connection, HTTP 429/5xx, a
/// malformed or incomplete response. It is never turned into a rating.
public struct TransientError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// Seconds the server asked us to wait (`Retry-After`), if it said.
    public var retryAfter: Double?
    /// The server is overloaded: `--concurrency auto` lowers the number of requests in flight.
    public var overload: Overload?
    public init(_ message: String, retryAfter: Double? = nil, overload: Overload? = nil) {
        self.message = message
        self.retryAfter = retryAfter
        self.overload = overload
    }
    public var description: String { message }
}

/// How a server said it is overloaded.
public enum Overload: Sendable, Equatable {
    /// HTTP 429 or 503: the server counted the requests in flight and refused one more.
    case refused
    /// The request timed out: the server may be queueing, by how much is unknown.
    case timedOut
}

/// A failure that retrying cannot fix (HTTP 400/401/403/404, a bad configuration):
/// the run stops with this message.
public struct FatalSamplingError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Exponential backoff with full jitter, honouring `Retry-After`.
///
/// Attempt `a` (0-based count of failures so far) waits a uniform time in
/// `[0, min(maxDelay, baseDelay·2^a)]`; when the server sent `Retry-After: s` the
/// wait is at least `s` (capped at `maxRetryAfter`). The jitter comes from a seeded
/// generator, so a run's schedule is reproducible given the same failures.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt (so `maxRetries + 1` attempts in all).
    public var maxRetries: Int
    public var baseDelay: Double
    public var maxDelay: Double
    public var maxRetryAfter: Double

    public init(maxRetries: Int = 6, baseDelay: Double = 0.5, maxDelay: Double = 30, maxRetryAfter: Double = 120) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    public func delay<R: RandomNumberGenerator>(attempt: Int, retryAfter: Double?, rng: inout R) -> Double {
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(min(attempt, 60))))
        let jitter = ceiling * rng.uniformOpen()
        if let r = retryAfter, r > 0 { return min(max(r, jitter), maxRetryAfter) }
        return jitter
    }
}

/// Runs `body` until it succeeds, retrying transient failures per `policy`.
/// Fatal errors and cancellation are rethrown at once; after the last retry the last
/// transient error is rethrown.
func withRetries<T, R: RandomNumberGenerator>(
    _ policy: RetryPolicy, rng: inout R, onRetry: (Error) -> Void = { _ in },
    _ body: () async throws -> T
) async throws -> T {
    var attempt = 0
    while true {
        do {
            try Task.checkCancellation()
            return try await body()
        } catch let e as FatalSamplingError {
            throw e
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if attempt >= policy.maxRetries { throw error }
            let retryAfter = (error as? TransientError)?.retryAfter
            let d = policy.delay(attempt: attempt, retryAfter: retryAfter, rng: &rng)
            attempt += 1
            onRetry(error)
            if d > 0 { try await Task.sleep(nanoseconds: UInt64(d * 1e9)) }
        }
    }
}
