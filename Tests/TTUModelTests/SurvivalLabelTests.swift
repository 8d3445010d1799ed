import XCTest
@testable import TTUModel

final class SurvivalLabelTests: XCTestCase {
    func testCountsTargetAndWeight() throws {
        let (y, w) = try SurvivalLabel.counts(n: 500, k: 3).targetAndWeight()
        XCTAssertEqual(y, 3.0 / 500); XCTAssertEqual(w, 500)
        XCTAssertEqual(SurvivalLabel.counts(n: 0, k: 0).weight, 0)
    }

    func testFirstUnsafeTargetAndWeight() throws {
        let event = try SurvivalLabel.firstUnsafe(observed: 8, event: true).targetAndWeight()
        XCTAssertEqual(event.target, 1.0 / 8); XCTAssertEqual(event.weight, 8)
        let censored = try SurvivalLabel.firstUnsafe(observed: 30, event: false).targetAndWeight()
        XCTAssertEqual(censored.target, 0); XCTAssertEqual(censored.weight, 30)
    }

    /// The weighted BCE row reproduces each form's log-likelihood exactly.
    func testWeightedBCEEqualsLogLikelihood() {
        let p = 0.037
        let c = SurvivalLabel.counts(n: 40, k: 6)
        let llCounts = 6 * log(p) + 34 * log(1 - p)
        XCTAssertEqual(-c.weight * BinaryCrossEntropy.fromLogit(BinaryCrossEntropy.logit(p), target: c.target),
                       llCounts, accuracy: 1e-10)
        let f = SurvivalLabel.firstUnsafe(observed: 12, event: true)
        let llTime = log(p) + 11 * log(1 - p)
        XCTAssertEqual(-f.weight * BinaryCrossEntropy.fromLogit(BinaryCrossEntropy.logit(p), target: f.target),
                       llTime, accuracy: 1e-10)
    }

    func testInvalidLabelsThrow() {
        XCTAssertThrowsError(try SurvivalLabel.counts(n: 5, k: 6).validate())
        XCTAssertThrowsError(try SurvivalLabel.counts(n: -1, k: 0).validate())
        XCTAssertThrowsError(try SurvivalLabel.counts(n: 5, k: -1).validate())
        XCTAssertThrowsError(try SurvivalLabel.firstUnsafe(observed: 0, event: true).validate())
        XCTAssertThrowsError(try SurvivalLabel.firstUnsafe(observed: -2, event: false).validate())
        XCTAssertNoThrow(try SurvivalLabel.firstUnsafe(observed: 0, event: false).validate())
        XCTAssertThrowsError(try SurvivalLabel.targetsAndWeights([.counts(n: 2, k: 1), .counts(n: 2, k: 3)])) { e in
            XCTAssertTrue("\(e)".contains("row 1"), "\(e)")
        }
    }

    func testStableBCEHandlesExtremeLogits() {
        XCTAssertEqual(BinaryCrossEntropy.fromLogit(800, target: 1), 0, accuracy: 1e-300)
        XCTAssertEqual(BinaryCrossEntropy.fromLogit(-800, target: 1), 800, accuracy: 1e-9)
        XCTAssertTrue(BinaryCrossEntropy.fromLogit(-800, target: 0).isFinite)
        XCTAssertEqual(BinaryCrossEntropy.sigmoid(-800), 0, accuracy: 1e-300)
        XCTAssertEqual(BinaryCrossEntropy.sigmoid(800), 1)
    }
}
