import XCTest
@testable import TTUCore

final class RandomTests: XCTestCase {
    func testSameSeedSameStream() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42), c = SeededRNG(seed: 43)
        let xa = (0..<10).map { _ in a.next() }, xb = (0..<10).map { _ in b.next() }, xc = (0..<10).map { _ in c.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
        XCTAssertNotEqual(SeededRNG(seed: 1).derived(1).seed, SeededRNG(seed: 1).derived(2).seed)
    }

    func testGeometricAndBinomialMoments() {
        var rng = SeededRNG(seed: 7)
        let p = 0.01, draws = 40_000
        let g = (0..<draws).map { _ in Double(rng.geometric(p)) }
        let mean = g.reduce(0, +) / Double(draws)
        // sd of T is √(1−p)/p ≈ 99.5; the mean's standard error ≈ 0.5
        XCTAssertEqual(mean, 100, accuracy: 2.5)
        XCTAssertEqual(rng.geometric(1), 1)
        XCTAssertEqual(rng.geometric(0), Int.max)
        let k = (0..<draws).map { _ in Double(rng.binomial(500, 0.02)) }
        let km = k.reduce(0, +) / Double(draws)
        let kv = k.reduce(0) { $0 + ($1 - km) * ($1 - km) } / Double(draws - 1)
        XCTAssertEqual(km, 10, accuracy: 0.1)
        XCTAssertEqual(kv, 9.8, accuracy: 0.4)
    }

    func testStableHashIsStable() {
        // Fixed values: a change here changes every seeded generation request.
        XCTAssertEqual(StableHash.string(""), SplitMix64.mix(0xCBF2_9CE4_8422_2325))
        XCTAssertEqual(StableHash.generationSeed(seed: 1, promptID: "a", index: 3),
                       StableHash.generationSeed(seed: 1, promptID: "a", index: 3))
        XCTAssertNotEqual(StableHash.generationSeed(seed: 1, promptID: "a", index: 3),
                          StableHash.generationSeed(seed: 1, promptID: "a", index: 4))
    }
}
