import XCTest
@testable import TTUFiles

final class InputErrorTests: XCTestCase {
    func testDescriptionNamesFileLineAndField() {
        XCTAssertEqual(InputError(file: "p.csv", line: 17, field: "p_hat", "1.3 is outside [0, 1]").description,
                       "p.csv:17: field 'p_hat': 1.3 is outside [0, 1]")
        XCTAssertEqual(InputError(file: "p.csv", "no rows").description, "p.csv: no rows")
    }
}
