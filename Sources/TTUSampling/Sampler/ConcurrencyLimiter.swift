import Foundation

/// `--concurrency auto`: how many generation requests an endpoint may have in flight.
///
/// It climbs by additive increase (+1/limit per success, about +1 per round of requests)
/// until the server says it is full, and what it does then depends on how it says so:
/// - **refused** (HTTP 429/503): the server counted the requests in flight and refused the
///   k-th, so it holds k − 1. The limit goes to k − 1 (not to half: against an instant
///   server, halving and climbing back lost a third of the throughput) and k becomes the
///   *ceiling*. Just under the ceiling the limit probes k again only after `probeInterval`
///   successes; each refusal at the same k doubles that interval (up to
///   `maxProbeInterval`), so refusals die out on a server whose slots do not change, and
///   a probe that succeeds raises the ceiling, so a server that grows is followed.
/// - **timed out**: a queueing server gives no count; the limit halves (as TCP does).
/// At most one decrease per round: only a request issued since the last decrease can
/// decrease the limit again, so a burst of refusals from one overload counts once. The
/// retry of a refused request waits as the server asked (`Retry-After`, see `RetryPolicy`).
public final class ConcurrencyLimiter: @unchecked Sendable {
    /// A request's right to be in flight; give it back with `release`.
    public struct Permit: Sendable {
        let epoch: Int
        /// Requests in flight on this endpoint, this one included, when it was issued.
        let level: Int
    }

    public let maximum: Int
    /// Successes just under a known ceiling before it is probed again (× the ceiling).
    public let initialProbeRounds: Int
    /// The most the probe interval grows to (× the ceiling).
    public let maxProbeRounds: Int
    private let lock = NSLock()
    private var limit: Double
    private var inFlight = 0
    private var epoch = 0
    private var waiters: [CheckedContinuation<Permit, Never>] = []
    private var decreases = 0
    /// The level at which the server last refused a request (it holds one fewer).
    private var ceiling: Int?
    /// The level of the refusal before, to tell a confirmed ceiling from a new one.
    private var previousRefusal: Int?
    private var probeRounds: Int
    private var successesUnderCeiling = 0
    /// A probe is out and no refusal has answered it yet.
    private var probing = false

    public init(initial: Int = 4, maximum: Int = 64, initialProbeRounds: Int = 4, maxProbeRounds: Int = 256) {
        self.maximum = max(1, maximum)
        limit = Double(min(max(1, initial), self.maximum))
        self.initialProbeRounds = max(1, initialProbeRounds)
        self.maxProbeRounds = max(self.initialProbeRounds, maxProbeRounds)
        probeRounds = self.initialProbeRounds
    }

    /// The current limit (whole requests).
    public var current: Int { lock.withLock { Int(limit) } }
    /// How many times an overload lowered the limit.
    public var overloads: Int { lock.withLock { decreases } }

    /// Waits until fewer than `current` requests are in flight.
    public func acquire() async -> Permit {
        await withCheckedContinuation { (c: CheckedContinuation<Permit, Never>) in
            let permit: Permit? = lock.withLock {
                if inFlight < Int(limit) { inFlight += 1; return Permit(epoch: epoch, level: inFlight) }
                waiters.append(c)
                return nil
            }
            if let permit { c.resume(returning: permit) }
        }
    }

    /// Gives the permit back; `overload`: how the server said it was full, if it did.
    public func release(_ permit: Permit, overload: Overload?) {
        let wake: [(CheckedContinuation<Permit, Never>, Permit)] = lock.withLock {
            inFlight -= 1
            switch overload {
            case .refused?:
                if permit.epoch == epoch { refused(at: permit.level) }
            case .timedOut?:
                if permit.epoch == epoch {
                    limit = max(1, limit / 2)
                    ceiling = nil
                    probing = false
                    epoch += 1
                    decreases += 1
                }
            case nil:
                succeeded()
            }
            var out: [(CheckedContinuation<Permit, Never>, Permit)] = []
            while inFlight < Int(limit), !waiters.isEmpty {
                inFlight += 1
                out.append((waiters.removeFirst(), Permit(epoch: epoch, level: inFlight)))
            }
            return out
        }
        for (c, p) in wake { c.resume(returning: p) }
    }

    /// Under the lock: a refusal of the `level`-th request in flight.
    private func refused(at level: Int) {
        if level == previousRefusal {
            probeRounds = min(probeRounds * 2, maxProbeRounds)
        } else {
            probeRounds = initialProbeRounds
        }
        previousRefusal = level
        probing = false
        ceiling = level
        limit = Double(max(1, min(Int(limit), level - 1)))
        successesUnderCeiling = 0
        epoch += 1
        decreases += 1
    }

    /// Under the lock: additive increase, held just under a known ceiling until it is
    /// time to probe it.
    private func succeeded() {
        guard let c = ceiling else {
            limit = min(Double(maximum), limit + 1 / limit)
            return
        }
        if limit + 1 / limit < Double(c) {
            limit += 1 / limit
            return
        }
        limit = Double(c - 1)
        successesUnderCeiling += 1
        if successesUnderCeiling >= probeRounds * c, c <= maximum {
            // Probe: allow c in flight. Refused → back under c with a longer interval;
            // not refused → c + 1 is the next ceiling to probe. Two probes in a row not
            // refused: the server has grown, so probe at the first pace again.
            if probing { probeRounds = initialProbeRounds }
            probing = true
            limit = Double(c)
            ceiling = c + 1
            successesUnderCeiling = 0
        }
    }
}
