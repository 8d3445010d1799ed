import Foundation
import XCTest
import TTUCore
@testable import TTUFiles

/// The fast decimal path of the CSV readers against strtod, bit for bit: whenever
/// `DecimalParser` answers, its double is strtod's; and `CSVRow.parseDouble` as a whole
/// keeps strtod's whole-field rule. Every string comes from a seeded generator.
final class DecimalParserTests: XCTestCase {
    func strtodValue(_ s: String) -> Double? {
        s.withCString { c -> Double? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(c, &end)
            return end! - UnsafeMutablePointer(mutating: c) == s.utf8.count ? v : nil
        }
    }

    func fast(_ s: String) -> Double? {
        var s = s
        return s.withUTF8 { DecimalParser.parse($0.baseAddress!, $0.count) }
    }

    func whole(_ s: String) -> Double? {
        var s = s
        return s.withUTF8 { CSVRow.parseDouble($0) }
    }

    /// Checks `s` and returns whether the fast path answered.
    @discardableResult
    func check(_ s: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let ref = strtodValue(s)
        guard let f = fast(s) else {
            XCTAssertEqual(whole(s)?.bitPattern, ref?.bitPattern, "'\(s)' (fallback)", file: file, line: line)
            return false
        }
        XCTAssertEqual(f.bitPattern, ref?.bitPattern, "'\(s)': fast \(f) vs strtod \(String(describing: ref))", file: file, line: line)
        return true
    }

    /// What `ttu` writes (Swift's shortest round-trip form) and printf's usual forms, for
    /// random finite doubles of every magnitude; the fast path must answer almost always.
    func testRandomDoublesInTheFormsTTUWritesMatchStrtod() {
        var rng = SeededRNG(seed: 42)
        var answered = 0, total = 0, shortest = 0, shortestDeclined = 0
        for k in 0..<100_000 {
            // Random mantissa bits and biased exponent 0…0x7FE (subnormals included, never inf or
            // NaN); every tenth one in [1e-12, 1], where p̂ lives.
            var x = Double(bitPattern: rng.next() & 0x000F_FFFF_FFFF_FFFF | (rng.next() % 0x7FF) << 52)
            if k % 10 == 0 { x = pow(10, -12 * rng.uniformOpen()) }
            if rng.next() & 1 == 1 { x = -x }
            if x == 0 { continue }
            let forms = ["\(x)", String(format: "%.17g", x), String(format: "%.15g", x), String(format: "%.6e", x)]
            for s in forms {
                total += 1
                if check(s) { answered += 1 }
            }
            // Shortest forms of normal doubles away from the extremes: the fast path declines
            // only when the 128-bit product cannot settle the rounding (an exactly
            // representable value such as 1577370260591016.5 times a truncated 10⁻¹).
            if abs(x) > 1e-300, abs(x) < 1e300 {
                shortest += 1
                if fast("\(x)") == nil { shortestDeclined += 1 }
            }
        }
        XCTAssertGreaterThan(Double(answered) / Double(total), 0.99)
        XCTAssertLessThan(Double(shortestDeclined) / Double(shortest), 0.005, "\(shortestDeclined) of \(shortest)")
    }

    /// Digit strings up to 19 significant digits, the point anywhere, exponents across the
    /// whole range (under- and overflow included).
    func testRandomDigitStringsMatchStrtod() {
        var rng = SeededRNG(seed: 7)
        for _ in 0..<300_000 {
            let nd = 1 + Int(rng.next() % 19)
            var digits = (0..<nd).map { _ in Character(String(rng.next() % 10)) }
            if rng.next() % 4 == 0 { digits.insert(contentsOf: "000", at: 0) }
            let point = Int(rng.next() % UInt64(digits.count + 1))
            var s = String(digits.prefix(point))
            if point < digits.count || rng.next() & 1 == 1 { s += "." + String(digits.dropFirst(point)) }
            if rng.next() % 3 != 0 {
                let e = Int(rng.next() % 701) - 350
                s += (rng.next() & 1 == 1 ? "e" : "E") + (e >= 0 && rng.next() & 1 == 1 ? "+" : "") + String(e)
            }
            if rng.next() % 5 == 0 { s = "-" + s }
            if s.hasPrefix(".") && rng.next() & 1 == 1 { s = "+" + s }
            check(s)
        }
    }

    /// Hand-picked hard cases: ties to even above 2⁵³, the largest and smallest normals,
    /// overflow, subnormals and underflow, classic hard roundings.
    func testHardCases() {
        let cases = ["9007199254740993", "9007199254740995", "9007199254740993e0", "90071992547409930e-1",
                     "1e23", "8.98846567431158e307", "1.7976931348623157e308", "1.7976931348623158e308",
                     "1.7976931348623159e308", "2.2250738585072014e-308", "2.2250738585072011e-308",
                     "4.9e-324", "5e-324", "1e-400", "1e400", "123456789012345678e-340",
                     "7.038531e-26", "9.109383701528e-31", "6.02214076e23", "2.470328229206232720e-324",
                     "0.1", "0.2", "0.3", "1.0000000000000002", "0.30000000000000004", "0.0001234567890123456789",
                     "1e-300", "1e0", "-0", "-0.0e10", "0e99999", "00000.000001", "5.", ".5", "+.5e-3", "1.e5",
                     "18446744073709551615", "9999999999999999999", "9999999999999999999e-3"]
        for s in cases { check(s) }
        XCTAssertEqual(fast("-0")?.bitPattern, (-0.0).bitPattern)
        // Exactly half-way between two doubles (2⁵³ + 1; 10²³ = 2²³·5²³ with 5²³ odd and 54
        // bits long): the fast path leaves the tie to strtod, which rounds to even.
        XCTAssertNil(fast("9007199254740993"))
        XCTAssertEqual(whole("9007199254740993"), 9007199254740992)
        XCTAssertNil(fast("1e23"))
        XCTAssertEqual(whole("1e23"), 1e23)
        // What `ttu` writes for p̂ takes the fast path.
        XCTAssertEqual(fast("0.0022027115240144364"), 0.0022027115240144364)
        XCTAssertEqual(fast("1.2345678901234567e-05"), 1.2345678901234567e-05)
    }

    /// The whole-field rule is strtod's, fast path or not: the same accepted values and the
    /// same refusals (trailing text, hex, a lone sign or point, an exponent without digits).
    func testWholeFieldRuleUnchanged() {
        for s in ["1e", "1e+", "1e-", ".", "-", "+", "e5", "1.2.3", "1e5.5", "--1", "+-1", "1 2", "0x10", "0X1p3",
                  "inf", "-Infinity", "nan", "1d5", "1,5", "١٢", "0.5abc", "1e5e5", "1_000"] {
            let ref = strtodValue(s).flatMap { v in s.lowercased().contains("x") ? nil : v }
            XCTAssertEqual(whole(s)?.bitPattern, ref?.bitPattern, "'\(s)'")
            if ["1e", "1e+", ".", "-", "e5", "0x10", "inf", "nan"].contains(s) { XCTAssertNil(fast(s), "'\(s)' must be left to strtod") }
        }
        XCTAssertEqual(whole(" \t0.25 \t"), 0.25)
        XCTAssertNil(whole("  "))
    }
}
