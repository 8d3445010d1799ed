import Foundation
import XCTest
import TTUCore
@testable import TTUFiles

/// The CSV readers on files written to a temp dir: what they accept (exact values) and
/// what they refuse (exact file, line and field of the InputError).
final class CSVReaderTests: XCTestCase {
    var dir: TempDir!
    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    // MARK: - accepted input

    func testPredictionsExactValues() throws {
        let p = dir.write("pred.csv", "id,p_hat\na,0.1\nb,1e-300\nc,0\nd,1\ne,0.333333333333333314829616256247\n")
        let r = try Predictions.read(p)
        XCTAssertEqual(r.ids, ["a", "b", "c", "d", "e"])
        XCTAssertEqual(bits(r.pHat), bits([0.1, 1e-300, 0, 1, 1.0 / 3]))
    }

    func testColumnsInAnotherOrderAndSpacesAroundFields() throws {
        let p = dir.write("pred.csv", " p_hat , id \n 0.25 , x \n\t0.5\t,\ty\t\n")
        let r = try Predictions.read(p)
        XCTAssertEqual(r.ids, ["x", "y"])
        XCTAssertEqual(bits(r.pHat), bits([0.25, 0.5]))
        let o = try ObservationsFile.read(dir.write("obs.csv", "event,observed,id,cap\n1,3,q,10\n0,4,r,4\n"))
        XCTAssertEqual(o.ids, ["q", "r"])
        XCTAssertEqual(o.rows, [Observation(cap: 10, observed: 3, event: true), Observation(cap: 4, observed: 4, event: false)])
        XCTAssertEqual(o.lines, [2, 3])
    }

    func testQuotedFieldsWithCommasAndEscapedQuotes() throws {
        let p = dir.write("pred.csv", "id,p_hat\n\"a,b\",\"0.5\"\n\"say \"\"hi\"\"\",0.25\n\"\",\"\"\"\"\n")
        // The third row's id is a quoted empty string: refused as an empty id.
        assertInputError(try Predictions.read(p), file: p, line: 4, field: "id", ["empty id"])
        let q = dir.write("pred2.csv", "id,p_hat\n\"a,b\",\"0.5\"\n\"say \"\"hi\"\"\",0.25\n\"\"\"\",0.125\n\" padded \",1\n")
        let r = try Predictions.read(q)
        XCTAssertEqual(r.ids, ["a,b", "say \"hi\"", "\"", " padded "])
        XCTAssertEqual(bits(r.pHat), bits([0.5, 0.25, 0.125, 1]))
    }

    /// A line break inside quotes belongs to the field; later errors still name the
    /// file's own line (the record after a two-line record starts two lines later).
    func testLineBreakInsideQuotesKeepsFileLineNumbers() throws {
        let ok = dir.write("ok.csv", "id,p_hat\n\"two\nlines\",0.5\n\"crlf\r\ninside\",0.25\nlast,0.125\n")
        let r = try Predictions.read(ok)
        XCTAssertEqual(r.ids, ["two\nlines", "crlf\r\ninside", "last"])
        XCTAssertEqual(bits(r.pHat), bits([0.5, 0.25, 0.125]))
        let bad = dir.write("bad.csv", "id,p_hat\n\"two\nlines\",0.5\nb,2\n")
        assertInputError(try Predictions.read(bad), file: bad, line: 4, field: "p_hat", ["outside [0, 1]"])
        let dup = dir.write("dup.csv", "id,p_hat\na,0.5\n\"x\ny\nz\",0.1\na,0.2\n")
        assertInputError(try Predictions.read(dup), file: dup, line: 6, field: "id", ["duplicate id 'a'", "first on line 2"])
    }

    func testCRLFLineEndingsLeaveNoCarriageReturn() throws {
        // The id is the last column, where a stray '\r' would end up.
        let p = dir.write("pred.csv", "p_hat,id\r\n0.5,a\r\n0.25,\"b\"\r\n")
        let r = try Predictions.read(p)
        XCTAssertEqual(r.ids, ["a", "b"])
        XCTAssertEqual(bits(r.pHat), bits([0.5, 0.25]))
        let o = try ObservationsFile.read(dir.write("obs.csv", "id,cap,observed,event\r\nq,10,3,1\r\nr,4,4,0\r\n"))
        XCTAssertEqual(o.rows.map(\.event), [true, false])
        let rates = try RatesFile.read(dir.write("rates.csv", "id,p\r\nx,0.001\r\n\r\n"))
        XCTAssertEqual(rates, ["x": 0.001])
    }

    func testUTF8ByteOrderMarkIsSkipped() throws {
        let p = dir.write("pred.csv", bytes: [0xEF, 0xBB, 0xBF] + Array("id,p_hat\nß,0.5\n".utf8))
        let r = try Predictions.read(p)
        XCTAssertEqual(r.ids, ["ß"])
        XCTAssertEqual(r.pHat, [0.5])
    }

    func testTrailingBlankLinesAllowedBlankLineInsideRefused() throws {
        let p = dir.write("pred.csv", "id,p_hat\na,0.5\n\n\r\n\n")
        XCTAssertEqual(try Predictions.read(p).ids, ["a"])
        let noNewline = dir.write("nonl.csv", "id,p_hat\na,0.5")
        XCTAssertEqual(try Predictions.read(noNewline).pHat, [0.5])
        let q = dir.write("blank.csv", "id,p_hat\na,0.5\n\nb,0.25\n")
        assertInputError(try Predictions.read(q), file: q, line: 3, field: nil, ["blank line"])
    }

    /// Long lines are read whole: a 1 MB id and a number written with 300 digits.
    func testVeryLongFields() throws {
        let longID = String(repeating: "x", count: 1 << 20)
        let longNumber = "0.1" + String(repeating: "0", count: 300)
        let p = dir.write("pred.csv", "id,p_hat\n\(longID),\(longNumber)\n\"\(longID)y\",\"\(longNumber)\"\n")
        let r = try Predictions.read(p)
        XCTAssertEqual(r.ids.map(\.count), [1 << 20, (1 << 20) + 1])
        XCTAssertEqual(r.ids[0], longID)
        XCTAssertEqual(bits(r.pHat), bits([0.1, 0.1]))
    }

    // MARK: - refused input

    func testEmptyFileHeaderOnlyAndBlankFirstLine() {
        let empty = dir.write("empty.csv", "")
        assertInputError(try Predictions.read(empty), file: empty, line: 1, field: nil, ["empty file", "id,p_hat"])
        let header = dir.write("header.csv", "id,p_hat\n")
        assertInputError(try Predictions.read(header), file: header, line: nil, field: nil, ["no rows"])
        let blankFirst = dir.write("blank.csv", "\nid,p_hat\na,0.5\n")
        assertInputError(try Predictions.read(blankFirst), file: blankFirst, line: 1, field: nil, ["blank first line"])
        let missing = dir.file("nope.csv")
        assertInputError(try Predictions.read(missing), file: missing, line: nil, field: nil, ["cannot read"])
        for (name, reader) in [("o.csv", { _ = try ObservationsFile.read($0) }), ("r.csv", { _ = try RatesFile.read($0) }),
                               ("l.csv", { _ = try LPBFile.read($0) }), ("s.csv", { _ = try SurvivalDataFile.read($0) })]
            as [(String, (String) throws -> Void)] {
            let p = dir.write(name, "")
            assertInputError(try reader(p), file: p, line: 1, field: nil, ["empty file"])
        }
        let rates = dir.write("rates.csv", "id,p\n")
        assertInputError(try RatesFile.read(rates), file: rates, line: nil, field: nil, ["no rows"])
    }

    func testHeaderMissingExtraAndRepeatedColumns() {
        let missing = dir.write("m.csv", "id\na\n")
        assertInputError(try Predictions.read(missing), file: missing, line: 1, field: "p_hat", ["missing column", "id,p_hat"])
        let extra = dir.write("e.csv", "id,p_hat,note\na,0.5,x\n")
        assertInputError(try Predictions.read(extra), file: extra, line: 1, field: "note", ["unexpected column"])
        let twice = dir.write("t.csv", "id,p_hat,id\na,0.5,b\n")
        assertInputError(try Predictions.read(twice), file: twice, line: 1, field: "id", ["appears twice"])
        let unterminated = dir.write("u.csv", "\"id,p_hat\na,0.5\n")
        assertInputError(try Predictions.read(unterminated), file: unterminated, line: 1, field: nil, ["unterminated quoted field"])
    }

    func testRowsWithMissingOrExtraFields() {
        let short = dir.write("s.csv", "id,p_hat\na,0.5\nb\n")
        assertInputError(try Predictions.read(short), file: short, line: 3, field: nil, ["expected 2 fields", "id,p_hat", "found 1"])
        let long = dir.write("l.csv", "id,p_hat\na,0.5,extra\n")
        assertInputError(try Predictions.read(long), file: long, line: 2, field: nil, ["expected 2 fields", "found 3"])
        let trailingComma = dir.write("c.csv", "id,cap,observed,event\nq,3,3,0,\n")
        assertInputError(try ObservationsFile.read(trailingComma), file: trailingComma, line: 2, field: nil, ["expected 4 fields", "found 5"])
    }

    func testEmptyFieldsNameTheirColumn() {
        let noID = dir.write("a.csv", "id,p_hat\na,0.5\n,0.25\n")
        assertInputError(try Predictions.read(noID), file: noID, line: 3, field: "id", ["empty id"])
        let spacesID = dir.write("b.csv", "id,p_hat\n\"   \",0.25\n")
        assertInputError(try Predictions.read(spacesID), file: spacesID, line: 2, field: "id", ["empty id"])
        let noP = dir.write("c.csv", "p_hat,id\n ,a\n")
        assertInputError(try Predictions.read(noP), file: noP, line: 2, field: "p_hat", ["'' is not a number"])
        let noCap = dir.write("d.csv", "id,cap,observed,event\nq,,0,0\n")
        assertInputError(try ObservationsFile.read(noCap), file: noCap, line: 2, field: "cap", ["not a whole number"])
    }

    func testUnterminatedQuoteAndTextAfterQuote() {
        let open = dir.write("o.csv", "id,p_hat\na,0.5\n\"b,0.25\nc,0.125\n")
        assertInputError(try Predictions.read(open), file: open, line: 3, field: nil, ["unterminated quoted field"])
        let after = dir.write("t.csv", "id,p_hat\n\"a\"b,0.5\n")
        assertInputError(try Predictions.read(after), file: after, line: 2, field: nil, ["text after a closing quote"])
    }

    func testDuplicateIDsNameTheLineOfTheFirst() {
        let p = dir.write("p.csv", "id,p_hat\na,0.5\nb,0.25\n\"a\",0.125\n")
        assertInputError(try Predictions.read(p), file: p, line: 4, field: "id", ["duplicate id 'a'", "first on line 2"])
        let o = dir.write("o.csv", "id,cap,observed,event\nx,1,1,0\ny,1,1,1\nx,2,2,0\n")
        assertInputError(try ObservationsFile.read(o), file: o, line: 4, field: "id", ["duplicate id 'x'", "first on line 2"])
        let r = dir.write("r.csv", "id,p\nx,0.1\ny,0.2\ny,0.3\n")
        assertInputError(try RatesFile.read(r), file: r, line: 4, field: "id", ["duplicate id 'y'", "first on line 3"])
        let l = dir.write("l.csv", "id,p_hat,lpb\nk,0.1,2\nk,0.1,3\n")
        assertInputError(try LPBFile.read(l), file: l, line: 3, field: "id", ["duplicate id 'k'", "first on line 2"])
        let s = dir.write("s.csv", "id,n,k\nk,5,1\nj,5,0\nk,5,0\n")
        assertInputError(try SurvivalDataFile.read(s), file: s, line: 4, field: "id", ["duplicate id 'k'", "first on line 2"])
    }

    func testPHatNaNInfinityAndOutOfRange() {
        let cases: [(String, [String])] = [
            ("nan", ["NaN is not allowed"]), ("NaN", ["NaN is not allowed"]),
            ("inf", ["inf is outside [0, 1]"]), ("-infinity", ["-infinity is outside [0, 1]"]),
            ("1.0000001", ["1.0000001 is outside [0, 1]"]), ("-0.1", ["-0.1 is outside [0, 1]"]),
            ("1e999", ["1e999 is outside [0, 1]"]),
        ]
        for (k, (value, words)) in cases.enumerated() {
            let p = dir.write("p\(k).csv", "id,p_hat\nok,0.5\nbad,\(value)\n")
            assertInputError(try Predictions.read(p), file: p, line: 3, field: "p_hat", words)
        }
        let rates = dir.write("rates.csv", "id,p\nx,1.5\n")
        assertInputError(try RatesFile.read(rates), file: rates, line: 2, field: "p", ["1.5 is outside [0, 1]"])
    }

    /// Numbers follow one rule, quoted or not: decimal forms only (no hex), whole field.
    func testNonNumericValuesAreRefusedQuotedOrNot() {
        for (k, value) in ["abc", "0.5abc", "0.5 0.1", "0x1p-2", "\"0x1p-2\"", "\"0.5abc\"", "1,5"].enumerated() {
            let p = dir.write("p\(k).csv", "id,p_hat\nbad,\(value)\n")
            if value == "1,5" {
                assertInputError(try Predictions.read(p), file: p, line: 2, field: nil, ["found 3"])
            } else {
                assertInputError(try Predictions.read(p), file: p, line: 2, field: "p_hat", ["is not a number"])
            }
        }
        let hexCap = dir.write("o.csv", "id,cap,observed,event\nq,0x10,16,0\n")
        assertInputError(try ObservationsFile.read(hexCap), file: hexCap, line: 2, field: "cap", ["'0x10' is not a whole number"])
    }

    /// A byte that is not UTF-8 is refused with its line, whichever column holds it.
    func testNonUTF8BytesAreRefusedWithTheirLine() {
        let inID = dir.write("a.csv", bytes: Array("id,p_hat\na,0.5\nb".utf8) + [0xFF] + Array(",0.25\n".utf8))
        assertInputError(try Predictions.read(inID), file: inID, line: 3, field: nil, ["0xFF", "not valid UTF-8"])
        // Latin-1 'é' (0xE9) inside a quoted field after a quoted line break: line 4.
        let latin1 = dir.write("b.csv", bytes: Array("id,p_hat\n\"x\ny\",0.5\n\"caf".utf8) + [0xE9] + Array("\",0.25\n".utf8))
        assertInputError(try Predictions.read(latin1), file: latin1, line: 4, field: nil, ["0xE9", "not valid UTF-8"])
        // An encoded surrogate (ED A0 80) and a truncated sequence at the very end.
        let surrogate = dir.write("c.csv", bytes: Array("id,p\nx".utf8) + [0xED, 0xA0, 0x80] + Array(",0.5\n".utf8))
        assertInputError(try RatesFile.read(surrogate), file: surrogate, line: 2, field: nil, ["0xED", "not valid UTF-8"])
        let truncated = dir.write("d.csv", bytes: Array("id,p\nx,0.5\n".utf8) + [0xE2, 0x82])
        assertInputError(try RatesFile.read(truncated), file: truncated, line: 3, field: nil, ["0xE2", "not valid UTF-8"])
        let header = dir.write("e.csv", bytes: [0xC0, 0xAF] + Array("id,p\nx,0.5\n".utf8))
        assertInputError(try RatesFile.read(header), file: header, line: 1, field: nil, ["0xC0", "not valid UTF-8"])
    }

    func testObservationRules() throws {
        let p = dir.write("ok.csv", "id,cap,observed,event\na,10,3,1\nb,5,5,0\nc,0,0,0\nd,12.0,1e0,true\ne,7,7,FALSE\n")
        let o = try ObservationsFile.read(p)
        XCTAssertEqual(o.ids, ["a", "b", "c", "d", "e"])
        XCTAssertEqual(o.rows, [Observation(cap: 10, observed: 3, event: true), Observation(cap: 5, observed: 5, event: false),
                                Observation(cap: 0, observed: 0, event: false), Observation(cap: 12, observed: 1, event: true),
                                Observation(cap: 7, observed: 7, event: false)])
        let cases: [(String, String, [String])] = [
            ("a,3,4,1", "observed", ["4 generations drawn but cap is 3"]),
            ("a,3,0,1", "event", ["needs at least one generation"]),
            ("a,3,2,0", "observed", ["only 2 of cap 3"]),
            ("a,-1,0,0", "cap", ["-1 is below 0"]),
            ("a,1.5,1,1", "cap", ["'1.5' is not a whole number"]),
            ("a,3,3,2", "event", ["is not 0 or 1"]),
            ("a,3,3,yes", "event", ["is not 0 or 1"]),
            ("a,inf,3,1", "cap", ["'inf' is not a whole number"]),
        ]
        for (k, (row, field, words)) in cases.enumerated() {
            let f = dir.write("bad\(k).csv", "id,cap,observed,event\nz,1,1,1\n\(row)\n")
            assertInputError(try ObservationsFile.read(f), file: f, line: 3, field: field, words)
        }
    }

    func testSurvivalDataBothFormsAndTheirRules() throws {
        let counts = try SurvivalDataFile.read(dir.write("c.csv", "k,id,n\n0,a,10\n3,b,4\n"))
        XCTAssertEqual(counts.form, .counts)
        XCTAssertEqual(counts.ids, ["a", "b"])
        XCTAssertEqual(counts.generations, [10, 4])
        XCTAssertEqual(counts.unsafe, [0, 3])
        XCTAssertEqual(counts.lines, [2, 3])
        let times = try SurvivalDataFile.read(dir.write("t.csv", "id,cap,observed,event\na,9,2,1\nb,9,9,0\n"))
        XCTAssertEqual(times.form, .firstUnsafe)
        XCTAssertEqual(times.generations, [2, 9])
        XCTAssertEqual(times.unsafe, [1, 0])
        let bad = dir.write("b.csv", "id,n,events\na,1,0\n")
        assertInputError(try SurvivalDataFile.read(bad), file: bad, line: 1, field: nil, ["id,n,events", "neither id,n,k"])
        let kn = dir.write("k.csv", "id,n,k\na,2,3\n")
        assertInputError(try SurvivalDataFile.read(kn), file: kn, line: 2, field: "k", ["k = 3 exceeds n = 2"])
        let ev = dir.write("e.csv", "id,observed,event\na,0,1\n")
        assertInputError(try SurvivalDataFile.read(ev), file: ev, line: 2, field: "observed", ["an event needs observed ≥ 1"])
        let none = dir.write("n.csv", "id,n,k\n")
        assertInputError(try SurvivalDataFile.read(none), file: none, line: nil, field: nil, ["no rows"])
    }

    func testLPBFileAcceptsInfinityRefusesBelowOne() throws {
        let f = try LPBFile.read(dir.write("l.csv", "id,p_hat,lpb\na,0,inf\nb,0.5,1\nc,0.01,69\n"))
        XCTAssertEqual(f.ids, ["a", "b", "c"])
        XCTAssertEqual(f.lpb, [.infinity, 1, 69])
        XCTAssertEqual(f.lines, [2, 3, 4])
        let low = dir.write("low.csv", "id,p_hat,lpb\na,0.5,0.5\n")
        assertInputError(try LPBFile.read(low), file: low, line: 2, field: "lpb", ["0.5 is below 1"])
        let nan = dir.write("nan.csv", "id,p_hat,lpb\na,0.5,nan\n")
        assertInputError(try LPBFile.read(nan), file: nan, line: 2, field: "lpb", ["NaN is not allowed"])
    }

    func testPlanFileRoundTripAndItsRules() throws {
        let settings = PlanSettings(strategy: .trimmed, budget: 20, maxWeight: 10, tauGrid: TauGrid(minLog10: -3, maxLog10: -1, count: 5), seed: 3)
        let pHat = [0.1, 1.0 / 3, 1e-300, 0, 0.5]
        let plan = try Allocation.plan(pHat: pHat, settings: settings)
        let path = dir.file("plan.csv")
        try PlanFile(ids: ["a", "b", "c", "d", "e"], plan: plan).write(to: path)
        let back = try PlanFile.read(path)
        XCTAssertEqual(back.ids, ["a", "b", "c", "d", "e"])
        XCTAssertEqual(back.plan.settings, settings)
        XCTAssertEqual(bits(back.plan.pHat), bits(pHat))
        XCTAssertEqual(bits(back.plan.priorQuantile), bits(plan.priorQuantile))
        XCTAssertEqual(bits(back.plan.pi!), bits(plan.pi!))
        XCTAssertEqual(back.plan.cap, plan.cap)
        XCTAssertEqual(back.index?.index(of: "d"), 3)

        // prior_quantile below 1 and a naive plan with a π are refused.
        let bad = dir.write("bad/plan.csv", "id,p_hat,prior_quantile,pi,cap\na,0.5,0.5,1,1\n")
        try writeAtomically(try encodeJSON(settings), to: dir.file("bad/plan.json"))
        assertInputError(try PlanFile.read(bad), file: bad, line: 2, field: "prior_quantile", ["0.5 is outside [1, inf]"])
        let naive = dir.write("naive/plan.csv", "id,p_hat,prior_quantile,pi,cap\na,0.5,inf,0.5,1\n")
        try writeAtomically(try encodeJSON(PlanSettings(strategy: .naive, budget: 5)), to: dir.file("naive/plan.json"))
        assertInputError(try PlanFile.read(naive), file: naive, line: 2, field: "pi", ["must be empty for the naive strategy"])
        let noJSON = dir.write("nojson/plan.csv", "id,p_hat,prior_quantile,pi,cap\n")
        assertInputError(try PlanFile.read(noJSON), file: dir.file("nojson/plan.json"), line: nil, field: nil, ["cannot read the plan settings"])
    }
}
