import Foundation
import TTUCore
import TTUFiles

/// A generator and how many requests it may have in flight.
public struct Endpoint: Sendable {
    public var generator: any Generator
    /// Requests in flight (with a limiter: the most it may allow).
    public var concurrency: Int
    /// `--concurrency auto`: finds the endpoint's capacity by AIMD; nil: fixed.
    public var limiter: ConcurrencyLimiter?
    public init(generator: any Generator, concurrency: Int, limiter: ConcurrencyLimiter? = nil) {
        self.generator = generator
        self.concurrency = limiter?.maximum ?? concurrency
        self.limiter = limiter
    }
}
