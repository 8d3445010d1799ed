import XCTest
@testable import TTUPipeline

/// On a terminal the progress line is redrawn in place and cut to the width; a line for
/// people ends it, so the last progress stays on screen.
final class ConsoleTests: XCTestCase {
    func testProgressRedrawsInPlaceAndSayEndsIt() {
        let out = Lines()
        let screen = InPlaceLine(columns: 30, write: { out.add($0) })
        screen.redraw("collect: 10% done")
        screen.redraw("collect: 20% done, and a lot more text than fits")
        screen.say("collect: finished")
        screen.say("wrote o.csv")
        XCTAssertEqual(out.all, ["\r\u{1B}[Kcollect: 10% done", "\r\u{1B}[Kcollect: 20% done, and a lot…",
                                 "\ncollect: finished\n", "wrote o.csv\n"])
        XCTAssertLessThan(out.all[1].count - 4, 30)
    }
}
