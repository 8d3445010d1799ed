import XCTest
@testable import TTUCore

final class EvaluationTests: XCTestCase {
    func testExactCoverage() {
        // (1 − 0.5)^(3 − 1) = 0.25 and (1 − 0.1)^0 = 1
        XCTAssertEqual(Evaluation.exactCoverage(bounds: [3, 1], p: [0.5, 0.1]), 0.625, accuracy: 1e-15)
    }

    func testCensoredCoverage() {
        // L = 5: event at 7 covered, event at 3 miscovered, censored after 4 covered (T ≥ 5), censored after 2 undecided.
        let r = Evaluation.censoredCoverage(bounds: [5, 5, 5, 5], observed: [7, 3, 4, 2], event: [true, true, false, false])
        XCTAssertEqual(r.covered, 2); XCTAssertEqual(r.miscovered, 1); XCTAssertEqual(r.undecided, 1)
        XCTAssertEqual(r.lower, 0.5); XCTAssertEqual(r.upper, 0.75)
    }

    /// Reference values: scipy.stats.beta.ppf(0.025, k, n − k + 1) and ppf(0.975, k + 1, n − k).
    func testClopperPearsonMatchesReferenceAndCoversInSimulation() {
        let reference: [(Int, Int, Double, Double)] = [
            (53, 60, 0.7742838468543517, 0.951785158128658), (0, 10, 0, 0.3084971078187607),
            (10, 10, 0.6915028921812392, 1), (90, 100, 0.8237774022599773, 0.9509953107785141),
            (1, 3, 0.008403758659612636, 0.9057006759497539),
        ]
        for (k, n, lo, hi) in reference {
            let ci = Evaluation.clopperPearson(k: k, n: n)
            XCTAssertEqual(ci.lower, lo, accuracy: 1e-9, "\(k)/\(n)")
            XCTAssertEqual(ci.upper, hi, accuracy: 1e-9, "\(k)/\(n)")
        }
        // Exact: over 4,000 seeded Binomial(60, 0.9) draws the interval holds 0.9 at least 95 % of the time.
        var rng = SeededRNG(seed: 17)
        var held = 0
        for _ in 0..<4000 {
            var k = 0
            for _ in 0..<60 where rng.uniformOpen() < 0.9 { k += 1 }
            let ci = Evaluation.clopperPearson(k: k, n: 60)
            if ci.lower <= 0.9 && 0.9 <= ci.upper { held += 1 }
        }
        XCTAssertGreaterThanOrEqual(Double(held) / 4000, 0.95 - 0.01, "\(held) of 4000")
    }

    func testSummaries() {
        XCTAssertEqual(Evaluation.median([3, 1, 2]), 2)
        XCTAssertEqual(Evaluation.median([4, 1, 2, 3]), 2.5)
        XCTAssertEqual(Evaluation.sd([1, 2, 3, 4]), 1.2909944487358056, accuracy: 1e-15)
    }

    func testSyntheticPopulationMatchesMethod() {
        let pop = SyntheticPopulation(count: 1000, seed: 1)
        XCTAssertEqual(pop.p.filter { $0 >= 1e-3 && $0 <= 1e-2 }.count, 900)
        XCTAssertEqual(pop.p.filter { $0 >= 1e-5 && $0 <= 1e-4 }.count, 100)
        XCTAssertEqual(pop.features.count, 10_000)
        let mean = pop.features.reduce(0, +) / 10_000
        XCTAssertEqual(mean, 1, accuracy: 0.01)  // divided by the overall mean, plus zero-mean noise
        let split = pop.split(seed: 1)
        XCTAssertEqual(split.test.count, 100); XCTAssertEqual(split.train.count, 450); XCTAssertEqual(split.calibration.count, 450)
        XCTAssertEqual(Set(split.test + split.train + split.calibration).count, 1000)
        XCTAssertEqual(SyntheticPopulation(count: 1000, seed: 1).features, pop.features)
    }
}
