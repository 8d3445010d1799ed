import Foundation
import XCTest
import TTUCore
import TTUPipeline

private extension String {
    subscript(_ k: Int) -> Character { self[index(startIndex, offsetBy: k)] }
}

/// The numbers the README and the help quote are the code's defaults: each expected phrase
/// is built from the value in the code, so changing a default without its text fails here.
final class DocsAndHelpTests: XCTestCase {
    static let readme = (try? String(contentsOf: SettingsSchemaTests.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""

    func assertQuoted(_ phrase: String, in text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(text.contains(phrase), "\(what) should say '\(phrase)'", file: file, line: line)
    }

    func testREADMEQuotesTheDefaults() {
        let r = Self.readme
        XCTAssertFalse(r.isEmpty)
        let plan = PlanStage.Settings(predictions: "", out: "", budget: 1)
        assertQuoted("`--strategy` defaults to `\(plan.strategy.rawValue)`", in: r, "README (strategy)")
        XCTAssertNil(plan.maxWeight)
        assertQuoted("Its default, `auto`, chooses W", in: r, "README (W)")
        assertQuoted("simulates the whole calibration \(WeightChoice.defaultSimulations) times", in: r, "README (W search)")
        assertQuoted("within \(Num.format(WeightChoice.defaultTolerance * 100))% of the best", in: r, "README (W tolerance)")
        let w = WeightChoice.defaultCandidates
        assertQuoted("(\(Num.format(w.first!)) … 10⁵)", in: r, "README (W candidates)")
        XCTAssertEqual(w.last, 100_000)
        XCTAssertEqual(plan.tauGrid, .auto)
        let grid = TauGrid.auto(pHat: [0.01, 0.001], boundCap: 1e4, budget: 10)
        let superscript = String(String(Int(-grid.minLog10)).map { "⁰¹²³⁴⁵⁶⁷⁸⁹"[$0.wholeNumberValue!] })
        assertQuoted("`--tau-grid auto` (the default of `plan` and `run`) keeps the\npaper's \(grid.count) levels from 10⁻\(superscript)", in: r, "README (grid)")
        assertQuoted("`\(GuaranteeSettings().inequality.rawValue)` (the default;", in: r, "README (inequality)")
        assertQuoted("fewer than \(Num.format(PlanStage.Settings.defaultMinPilotMisses)) miscovered prompts", in: r, "README (adaptive pilot)")
    }

    func testHelpQuotesTheDefaults() throws {
        let t = try TTURunner()
        defer { t.cleanup() }
        let plan = try t.run(["plan", "--help"]).out
        assertQuoted("fewer than \(Num.format(PlanStage.Settings.defaultMinPilotMisses)) miscovered", in: plan, "ttu plan --help")
        assertQuoted("(default: \(Num.format(PlanStage.Settings.defaultMinPilotMisses)))", in: plan, "ttu plan --help (--min-pilot-misses)")
        let compact = plan.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        assertQuoted("(default: auto)", in: compact, "ttu plan --help (--max-weight, --tau-grid)")
        assertQuoted("-3,-0.75,300", in: compact, "ttu plan --help (the paper's grid)")
        let calibrate = try t.run(["calibrate", "--help"]).out.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        assertQuoted("default: \(GuaranteeSettings().inequality.rawValue)", in: calibrate, "ttu calibrate --help (--inequality)")
    }
}
