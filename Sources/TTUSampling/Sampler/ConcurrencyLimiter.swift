import Foundation

/// `--concurrency auto`: how many generation requests an endpoint may have in flight,
/// found by additive increase / multiplicative decrease (AIMD), as TCP finds a link's
/// capacity. Every success raises the limit by 1/limit (about +1 per round of requests);
/// an overload answer (HTTP 429 or 503, or a timeout) halves it, at most once per round:
/// only a request issued since the last decrease can decrease it again, so a burst of
/// refusals from one overload counts once. The retry of a refused request waits as the
/// server asked (`Retry-After`, see `RetryPolicy`). Against a server with a fixed number
/// of slots the limit saw-tooths just below that number instead of flooding it.
public final class ConcurrencyLimiter: @unchecked Sendable {
    /// A request's right to be in flight; give it back with `release`.
    public struct Permit: Sendable { let epoch: Int }

    public let maximum: Int
    private let lock = NSLock()
    private var limit: Double
    private var inFlight = 0
    private var epoch = 0
    private var waiters: [CheckedContinuation<Permit, Never>] = []
    private var decreases = 0

    public init(initial: Int = 4, maximum: Int = 64) {
        self.maximum = max(1, maximum)
        limit = Double(min(max(1, initial), self.maximum))
    }

    /// The current limit (whole requests).
    public var current: Int { lock.withLock { Int(limit) } }
    /// How many times an overload halved the limit.
    public var overloads: Int { lock.withLock { decreases } }

    /// Waits until fewer than `current` requests are in flight.
    public func acquire() async -> Permit {
        await withCheckedContinuation { (c: CheckedContinuation<Permit, Never>) in
            let permit: Permit? = lock.withLock {
                if inFlight < Int(limit) { inFlight += 1; return Permit(epoch: epoch) }
                waiters.append(c)
                return nil
            }
            if let permit { c.resume(returning: permit) }
        }
    }

    /// Gives the permit back; `overloaded`: the server refused or timed the request out.
    public func release(_ permit: Permit, overloaded: Bool) {
        let wake: [(CheckedContinuation<Permit, Never>, Permit)] = lock.withLock {
            inFlight -= 1
            if overloaded {
                if permit.epoch == epoch {
                    limit = max(1, limit / 2)
                    epoch += 1
                    decreases += 1
                }
            } else {
                limit = min(Double(maximum), limit + 1 / limit)
            }
            var out: [(CheckedContinuation<Permit, Never>, Permit)] = []
            while inFlight < Int(limit), !waiters.isEmpty {
                inFlight += 1
                out.append((waiters.removeFirst(), Permit(epoch: epoch)))
            }
            return out
        }
        for (c, p) in wake { c.resume(returning: p) }
    }
}
