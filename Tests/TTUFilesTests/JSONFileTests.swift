import Foundation
import XCTest
import TTUCore
@testable import TTUFiles

/// The JSON files (`readJSON` / `encodeJSON`) and the test-evaluation join.
final class JSONFileTests: XCTestCase {
    var dir: TempDir!
    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    func evaluation(ci: Bool) -> TestEvaluation {
        TestEvaluation(n: 40, covered: 31, miscovered: 3, undecided: 6, coverageLower: 0.775, coverageUpper: 0.925,
                       coverageCI95Lower: ci ? 0.1 + 0.2 : nil, coverageCI95Upper: ci ? 1.0 / 3 : nil,
                       meanLPB: .infinity, medianLPB: 17, trivialFraction: 0.025, exactCoverageSimulated: ci ? .leastNonzeroMagnitude : nil)
    }

    func testTestEvaluationRoundTripsWithInfinityAndOptionals() throws {
        for ci in [true, false] {
            let e = evaluation(ci: ci)
            let text = try encodeJSON(e)
            XCTAssertTrue(text.contains("\"mean_lpb\" : \"inf\""), text)
            XCTAssertEqual(text.contains("\"coverage_ci95_lower\""), ci, text)
            let path = dir.write("eval-\(ci).json", text)
            let back = try readJSON(TestEvaluation.self, from: path)
            XCTAssertEqual(back, e)
            XCTAssertEqual(back.coverageCI95Lower?.bitPattern, e.coverageCI95Lower?.bitPattern)
        }
    }

    func testCollectSummaryRoundTripsAndSidecarPath() throws {
        let s = CollectSummary(generator: "simulated", model: nil, endpoints: ["http://127.0.0.1:1/v1"], rater: "keyword",
                               threshold: 0.1, seed: .max, mode: "first-unsafe", db: "/tmp/x.sqlite", prompts: 3, complete: 2,
                               incomplete: ["c"], generationsLogged: 10, generationsThisRun: 7, unsafeThisRun: 1,
                               plannedBudget: 12, overshoot: 0, retries: 2, interrupted: true)
        let path = dir.write("obs.json", try encodeJSON(s))
        let back = try readJSON(CollectSummary.self, from: path)
        XCTAssertTrue(back.simulated)
        XCTAssertEqual(back.seed, UInt64.max)
        XCTAssertEqual(back.threshold, 0.1)
        XCTAssertEqual(back.incomplete, ["c"])
        XCTAssertNil(back.model)
        XCTAssertEqual([back.generationsLogged, back.generationsThisRun, back.unsafeThisRun, back.plannedBudget, back.retries],
                       [10, 7, 1, 12, 2])
        XCTAssertEqual(CollectSummary.path(for: "/run/obs.csv"), "/run/obs.json")
        XCTAssertEqual(CollectSummary.path(for: "/run/obs"), "/run/obs.json")
        XCTAssertEqual(CollectSummary.path(for: "/run/obs.JSON"), "/run/obs.JSON.summary.json")
    }

    func testCalibrationFileDecodesNullTauAndRefusesMissingKey() throws {
        let text = """
        {"tau_hat": null, "tau_index": -1, "alpha": 0.1, "guarantee": "pac", "delta": 0.05, "bound": "betting",
         "max_lpb": 2000, "miscoverage_estimate": null, "miscoverage_upper_bound": null, "n": 500, "strategy": "optimized",
         "budget": 20, "tau_grid": {"min_log10": -3, "max_log10": -0.75, "count": 3}, "sampled_prompts": 40,
         "mean_generations": 18.5, "planned_generations": 9000, "miscoverage_curve": [0.05, 0.2, "inf"], "statement": "s"}
        """
        let c = try readJSON(CalibrationFile.self, from: dir.write("cal.json", text))
        XCTAssertNil(c.tauHat)
        XCTAssertEqual(c.tauIndex, -1)
        XCTAssertEqual(c.strategy, .optimized)
        XCTAssertEqual(c.tauGrid, TauGrid(minLog10: -3, maxLog10: -0.75, count: 3))
        XCTAssertEqual(c.miscoverageCurve, [0.05, 0.2, .infinity])
        XCTAssertEqual(c.lowerBound.bound(pHat: 0.01), 1)  // no admissible level: the trivial bound

        let noAlpha = dir.write("noalpha.json", text.replacingOccurrences(of: "\"alpha\": 0.1, ", with: ""))
        assertInputError(try readJSON(CalibrationFile.self, from: noAlpha), file: noAlpha, line: nil, field: "alpha", ["missing key"])
        let badN = dir.write("badn.json", text.replacingOccurrences(of: "\"n\": 500", with: "\"n\": \"500\""))
        assertInputError(try readJSON(CalibrationFile.self, from: badN), file: badN, line: nil, field: "n", [])
        let badStrategy = dir.write("bads.json", text.replacingOccurrences(of: "\"optimized\"", with: "\"greedy\""))
        assertInputError(try readJSON(CalibrationFile.self, from: badStrategy), file: badStrategy, line: nil, field: "strategy", [])
    }

    func testJSONSyntaxEncodingAndMissingFile() {
        let broken = dir.write("broken.json", "{\"n\": 1,")
        assertInputError(try readJSON(TestEvaluation.self, from: broken), file: broken, line: nil, field: nil, ["not valid JSON"])
        let empty = dir.write("empty.json", "")
        assertInputError(try readJSON(TestEvaluation.self, from: empty), file: empty, line: nil, field: nil, [])
        let latin1 = dir.write("latin1.json", bytes: Array("{\n\"statement\": \"caf".utf8) + [0xE9] + Array("\"\n}\n".utf8))
        assertInputError(try readJSON(CalibrationFile.self, from: latin1), file: latin1, line: 2, field: nil, ["0xE9", "not valid UTF-8"])
        let bom = dir.write("bom.json", bytes: [0xEF, 0xBB, 0xBF] + Array(try! encodeJSON(evaluation(ci: true)).utf8))
        XCTAssertEqual(try readJSON(TestEvaluation.self, from: bom), evaluation(ci: true))
        let missing = dir.file("none.json")
        assertInputError(try readJSON(TestEvaluation.self, from: missing), file: missing, line: nil, field: nil, ["cannot read"])
    }

    /// `TestEvaluation.compute` joins bounds and truth by id (rows in any order) and
    /// names the line of an id present in only one of them.
    func testEvaluationJoinsByIDAndNamesUnmatchedLines() throws {
        let lpbPath = dir.write("lpb.csv", "id,p_hat,lpb\na,0.1,3\nb,0.01,5\nc,0.3,2\nd,0.9,1\n")
        let truthPath = dir.write("truth.csv", "id,cap,observed,event\nd,9,1,1\nc,1,1,0\nb,10,2,1\na,20,4,1\n")
        let e = try TestEvaluation.compute(lpb: try LPBFile.read(lpbPath), lpbPath: lpbPath,
                                           truth: try ObservationsFile.read(truthPath), truthPath: truthPath,
                                           trueRates: ["a": 0.1, "b": 0.01, "c": 0.3, "d": 0.9])
        // a: 4 ≥ 3 covered; b: 2 < 5 miscovered; c: censored at 1 ≥ 2 − 1 covered; d: 1 ≥ 1 covered.
        XCTAssertEqual([e.n, e.covered, e.miscovered, e.undecided], [4, 3, 1, 0])
        XCTAssertEqual(e.meanLPB, 11.0 / 4)
        XCTAssertEqual(e.medianLPB, 2.5)
        XCTAssertEqual(e.trivialFraction, 0.25)
        // Exact coverage: mean of (1 − p)^(L − 1).
        let exact = (0.9 * 0.9 + 0.99 * 0.99 * 0.99 * 0.99 + 0.7 + 1) / 4
        XCTAssertEqual(e.exactCoverageSimulated!, exact, accuracy: 1e-12)

        let extraTruth = dir.write("truth2.csv", "id,cap,observed,event\na,20,4,1\nb,10,2,1\nzz,1,1,1\nc,1,1,0\nd,9,1,1\n")
        assertInputError(try TestEvaluation.compute(lpb: try LPBFile.read(lpbPath), lpbPath: lpbPath,
                                                    truth: try ObservationsFile.read(extraTruth), truthPath: extraTruth),
                         file: extraTruth, line: 4, field: "id", ["'zz' has no bound"])
        let fewerTruth = dir.write("truth3.csv", "id,cap,observed,event\na,20,4,1\nb,10,2,1\nd,9,1,1\n")
        assertInputError(try TestEvaluation.compute(lpb: try LPBFile.read(lpbPath), lpbPath: lpbPath,
                                                    truth: try ObservationsFile.read(fewerTruth), truthPath: fewerTruth),
                         file: lpbPath, line: 4, field: "id", ["'c' has no observation"])
    }
}
