import XCTest
@testable import TTUSampling

/// `--concurrency auto` against a simulated server with hard slots, in rounds the test
/// drives (no clock): each round issues `current` requests; the server accepts the first
/// `slots` and refuses the rest at once (their refusals return before the successes).
final class ConcurrencyLimiterTests: XCTestCase {
    struct Tally { var accepted = 0, refused = 0, rounds = 0 }

    func drive(_ limiter: ConcurrencyLimiter, slots: (Int) -> Int, rounds: Int) async -> (Tally, [Int]) {
        var t = Tally(), levels: [Int] = []
        for round in 0..<rounds {
            let n = limiter.current
            levels.append(n)
            var permits: [ConcurrencyLimiter.Permit] = []
            for _ in 0..<n { permits.append(await limiter.acquire()) }
            let s = slots(round)
            for p in permits.dropFirst(s) { limiter.release(p, overload: .refused); t.refused += 1 }
            for p in permits.prefix(s) { limiter.release(p, overload: nil); t.accepted += 1 }
            t.rounds += 1
        }
        return (t, levels)
    }

    func testHoldsAtTheSlotsWithFewRefusals() async {
        let limiter = ConcurrencyLimiter(initial: 4, maximum: 64)
        let (t, levels) = await drive(limiter, slots: { _ in 6 }, rounds: 3000)
        let steady = levels.suffix(2000)
        let mean = Double(steady.map { min($0, 6) }.reduce(0, +)) / Double(steady.count)
        XCTAssertGreaterThan(mean, 0.97 * 6, "throughput relative to 6 slots: \(mean / 6)")
        XCTAssertLessThan(Double(t.refused) / Double(t.accepted + t.refused), 0.01, "refused \(t.refused) of \(t.accepted + t.refused)")
        XCTAssertGreaterThan(t.refused, 0, "it must have probed above the slots")
    }

    func testFollowsAServerThatGrowsAndOneThatShrinks() async {
        let limiter = ConcurrencyLimiter(initial: 4, maximum: 64)
        _ = await drive(limiter, slots: { _ in 6 }, rounds: 500)
        let (_, grown) = await drive(limiter, slots: { _ in 12 }, rounds: 3000)
        XCTAssertGreaterThanOrEqual(grown.suffix(100).min()!, 11, "\(grown.suffix(20))")
        let (_, shrunk) = await drive(limiter, slots: { _ in 3 }, rounds: 50)
        XCTAssertLessThanOrEqual(shrunk.suffix(10).max()!, 4, "\(shrunk.suffix(10))")
    }

    func testATimeoutHalvesTheLimit() async {
        let limiter = ConcurrencyLimiter(initial: 16, maximum: 64)
        let p = await limiter.acquire()
        limiter.release(p, overload: .timedOut)
        XCTAssertEqual(limiter.current, 8)
        XCTAssertEqual(limiter.overloads, 1)
    }
}
