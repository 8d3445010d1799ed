import Foundation
import XCTest
import TTUCore
@testable import TTUFiles

/// What `ttu` writes, it reads back unchanged: numbers bit for bit, ids character for character.
final class RoundTripTests: XCTestCase {
    var dir: TempDir!
    override func setUp() { dir = TempDir() }
    override func tearDown() { dir = nil }

    /// Writes `values` through CSVWriter + Num.format and reads them back with CSVReader.
    func roundTrip(_ values: [Double], name: String) throws -> [Double] {
        var w = CSVWriter(columns: ["id", "x"])
        for (k, x) in values.enumerated() { w.row(["r\(k)", Num.format(x)]) }
        let path = dir.file(name)
        try w.write(to: path)
        let csv = try CSVReader(path: path, columns: ["id", "x"])
        let cx = csv.index(of: "x")
        var out: [Double] = []
        try csv.forEachRow { row in out.append(try row.double(cx)) }
        return out
    }

    func testNumFormatThenReaderIsBitExact() throws {
        let special: [Double] = [0.1, 1.0 / 3, 2.0 / 3, 1e-300, .leastNonzeroMagnitude, 2.2250738585072014e-308, (2.2250738585072014e-308).nextDown,
                                 1e300, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e15, 1e15 + 1, 999_999_999_999_999,
                                 123_456_789.125, -2.5, 0, 1, (1.0).nextDown, (1.0).nextUp, 0.1 + 0.2, 9_007_199_254_740_992, 9_007_199_254_740_994,
                                 .infinity, -.infinity]
        XCTAssertEqual(bits(try roundTrip(special, name: "special.csv")), bits(special))
        // 3000 doubles drawn uniformly over bit patterns: every exponent, subnormals included.
        var rng = SeededRNG(seed: 2024)
        var random: [Double] = []
        while random.count < 3000 {
            let x = Double(bitPattern: rng.next())
            if x.isFinite, x != 0 { random.append(x) }
        }
        XCTAssertEqual(bits(try roundTrip(random, name: "random.csv")), bits(random))
        // −0 is written as "0" (a whole number) and reads back as +0: equal as a number only.
        let z = try roundTrip([-0.0], name: "zero.csv")
        XCTAssertEqual(z, [0])
        XCTAssertEqual(Num.format(-0.0), "0")
        XCTAssertEqual([Num.format(.infinity), Num.format(-.infinity), Num.format(1e15), Num.format(0.1), Num.format(nil as Double?)],
                       ["inf", "-inf", "1000000000000000.0", "0.1", ""])
    }

    /// Ids with commas, quotes, line breaks, spaces or tabs at either end come back unchanged.
    func testPredictionsWriteReadKeepsTrickyIDsAndValues() throws {
        let ids = ["plain", " lead", "trail ", "\ttab", "a,b", "q\"uote", "\"", "multi\nline", "cr\rmid", "crlf\r\n",
                   "ünïcödé ✓", "x"]
        let p: [Double] = [0.1, 1.0 / 3, 1e-300, .leastNonzeroMagnitude, 0, 1, (1.0).nextDown, 0.5, 0.25, 1e-17, 0.7, 2.0 / 3]
        let path = dir.file("pred.csv")
        try Predictions(ids: ids, pHat: p).write(to: path)
        let back = try Predictions.read(path)
        XCTAssertEqual(back.ids, ids)
        XCTAssertEqual(bits(back.pHat), bits(p))
    }

    func testObservationsWriteRead() throws {
        let f = ObservationsFile(ids: ["a", "b,c", "d"], rows: [Observation(cap: 10, observed: 3, event: true),
                                                           Observation(cap: 0, observed: 0, event: false),
                                                           Observation(cap: 1_000_000, observed: 1_000_000, event: false)])
        let path = dir.file("obs.csv")
        try f.write(to: path)
        let back = try ObservationsFile.read(path)
        XCTAssertEqual(back.ids, f.ids)
        XCTAssertEqual(back.rows, f.rows)
        XCTAssertEqual(back.lines, [2, 3, 4])
    }

    func testLPBInfinityRoundTrips() throws {
        var w = CSVWriter(columns: ["id", "p_hat", "lpb"])
        w.row(["never", Num.format(0.0), Num.format(Double.infinity)])
        w.row(["rare", Num.format(1e-300), Num.format(1.0e300)])
        w.row(["often", Num.format(0.5), Num.format(1.0)])
        let path = dir.file("lpb.csv")
        try w.write(to: path)
        let f = try LPBFile.read(path)
        XCTAssertEqual(bits(f.lpb), bits([.infinity, 1e300, 1]))
        XCTAssertEqual(bits(f.pHat), bits([0, 1e-300, 0.5]))
    }

    func testIDIndexFindsEveryIDAndReportsDuplicates() {
        var index = IDIndex()
        let ids = (0..<5000).map { "id-\($0)-é" } + ["", " ", "Ω", "ω"]
        for id in ids { XCTAssertNil(index.insert(id)) }
        XCTAssertEqual(index.count, ids.count)
        for (k, id) in ids.enumerated() { XCTAssertEqual(index.index(of: id), k) }
        XCTAssertNil(index.index(of: "id-5000-é"))
        XCTAssertEqual(index.insert("id-17-é"), 17)
        XCTAssertEqual(index.count, ids.count)

        switch IDIndex.build(["x", "y", "z", "y", "x"]) {
        case .success: XCTFail("duplicates not found")
        case .failure(let d): XCTAssertEqual([d.row, d.firstRow], [3, 1])
        }
        switch IDIndex.build(ids) {
        case .success(let built): XCTAssertEqual(built.index(of: "Ω"), 5002)
        case .failure(let d): XCTFail("false duplicate \(d)")
        }
    }
}
