import XCTest
@testable import TTUCore

final class EvaluationTests: XCTestCase {
    func testExactCoverage() {
        // (1 − 0.5)^(3 − 1) = 0.25 and (1 − 0.1)^0 = 1
        XCTAssertEqual(Evaluation.exactCoverage(bounds: [3, 1], p: [0.5, 0.1]), 0.625, accuracy: 1e-15)
    }

    func testCensoredCoverage() {
        // L = 5: event at 7 covered, event at 3 miscovered, censored after 4 covered (T ≥ 5), censored after 2 ambiguous.
        let r = Evaluation.censoredCoverage(bounds: [5, 5, 5, 5], observed: [7, 3, 4, 2], event: [true, true, false, false])
        XCTAssertEqual(r.covered, 2); XCTAssertEqual(r.miscovered, 1); XCTAssertEqual(r.ambiguous, 1)
        XCTAssertEqual(r.lower, 0.5); XCTAssertEqual(r.upper, 0.75)
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
