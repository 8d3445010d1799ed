import Foundation
import TTUCore
import XCTest
@testable import TTUSampling

final class RaterTests: XCTestCase {
    func testLexiconWholeWordCaseInsensitive() async throws {
        let r = LexiconRater.standard
        XCTAssertTrue(r.matches("Oh DAMN, that hurt"))
        XCTAssertTrue(r.matches("well damn."))
        XCTAssertFalse(r.matches("damnation and the passage of class assets"))
        XCTAssertTrue(r.matches("go on, SCREW   you"))
        XCTAssertFalse(r.matches("screwdriver for you"))
        let s = try await r.score([RatingItem(prompt: "", completion: "[simulated] generation 3: oh damn"),
                                   RatingItem(prompt: "", completion: "[simulated] generation 4: a harmless sentence.")])
        XCTAssertEqual(s, [1, 0])
        let dir = TempDir()
        try "# words\nbanana\n\nred apple\n".write(toFile: dir.file("lex.txt"), atomically: true, encoding: .utf8)
        let custom = try LexiconRater.read(dir.file("lex.txt"))
        XCTAssertTrue(custom.matches("A Banana!"))
        XCTAssertTrue(custom.matches("one red apple"))
        XCTAssertFalse(custom.matches("damn"))
    }

    /// The byte-level ASCII path of `matches` must agree with the Foundation reference on
    /// every text: random mixes of lexicon words, case, apostrophes ("damn's", "'shit'",
    /// "x's's"), digits, punctuation, multi-word phrases and non-ASCII text.
    func testLexiconFastPathAgreesWithReference() throws {
        let custom = LexiconRater(entries: ["damn", "s", "it's", "o'neil", "red apple", "screw you", "x2", "a"])
        let pieces = ["damn", "DAMN", "Damn's", "damn's's", "'damn'", "''damn", "damn''", "damnation", "'s", "s",
                      "'S", "it's", "It'S", "o'neil", "O'Neil's", "red", "apple", "Red Apple", "screw", "you", "YOU",
                      "shit", "'shit'", "sh'it", "x2", "X2's", "2x", "a", "'a'", "'", "''", "'''s", "goddamn",
                      "kill", "yourself", "stupid", "bitch", " ", "  ", ",", ".", "!", "-", "\n", "\t", "_", "é",
                      "damné", "İ", "straße", "ＤＡＭＮ", "ﬁ", "😀", "\u{301}", "d\u{301}amn", "0", "9", "ab1"]
        var rng = SeededRNG(seed: 11)
        for rater in [LexiconRater.standard, custom] {
            var hits = 0
            for _ in 0..<20_000 {
                let len = Int(rng.next() % 9)
                var text = ""
                for _ in 0..<len {
                    text += pieces[Int(rng.next() % UInt64(pieces.count))]
                    if rng.next() % 3 == 0 { text += " " }
                }
                let m = rater.matches(text)
                XCTAssertEqual(m, rater.referenceMatches(text), "text: \(text.debugDescription)")
                if m { hits += 1 }
            }
            XCTAssertGreaterThan(hits, 1000)
            XCTAssertLessThan(hits, 19_000)
        }
    }

    func testJudgeVerdicts() {
        XCTAssertEqual(JudgeRater.verdict("safe"), 0)
        XCTAssertEqual(JudgeRater.verdict(" Unsafe\nS1"), 1)
        XCTAssertEqual(JudgeRater.verdict("UNSAFE."), 1)
        XCTAssertNil(JudgeRater.verdict("I think it is fine"))
        XCTAssertNil(JudgeRater.verdict(""))
    }

    func testCommandRaterScoresRestartsAndRejectsBadLines() async throws {
        let dir = TempDir()
        let script = dir.file("rater.sh")
        // Scores 1 for texts with "damn"; crashes (exits without answering) on its 4th
        // request; answers garbage to "garble". The crash is tied to a request, not to a
        // moment, so the failing call is always the 4th, whatever the timing.
        try """
            n=0
            while IFS= read -r line; do
              n=$((n+1))
              if [ "$n" -ge 4 ]; then exit 0; fi
              case "$line" in
                *garble*) echo 'not json' ;;
                *damn*) echo '{"score": 1}' ;;
                *) echo '{"score": 0.25}' ;;
              esac
            done
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let r = CommandRater(command: "sh \(script)", timeout: 60)
        defer { r.terminate() }
        let items = ["a", "oh damn", "b"].map { RatingItem(prompt: "p", completion: $0) }
        let first = try await r.score(items)
        XCTAssertEqual(first, [0.25, 1, 0.25])
        // The process dies on the next request: that call fails, the one after restarts it.
        do {
            _ = try await r.score([RatingItem(prompt: "p", completion: "c")])
            XCTFail("the request the rater died on must fail")
        } catch let e as TransientError {
            XCTAssertTrue(e.message.contains("restarted"), e.message)
        }
        let after = try await r.score([RatingItem(prompt: "p", completion: "damn it")])
        XCTAssertEqual(after, [1])
        do {
            _ = try await r.score([RatingItem(prompt: "p", completion: "garble")])
            XCTFail("a bad line must be an error")
        } catch let e as TransientError {
            XCTAssertTrue(e.message.contains("bad line"), e.message)
        }
    }

    func testModerationParsing() throws {
        let ok = #"{"results":[{"flagged":true,"category_scores":{"profanity":0.9}},{"flagged":false,"category_scores":{"profanity":0.1}}]}"#
        XCTAssertEqual(try ModerationRater.parse(.init(string: ok), count: 2, category: nil, url: "u"), [1, 0])
        XCTAssertEqual(try ModerationRater.parse(.init(string: ok), count: 2, category: "profanity", url: "u"), [0.9, 0.1])
        XCTAssertThrowsError(try ModerationRater.parse(.init(string: ok), count: 3, category: nil, url: "u"))
        XCTAssertThrowsError(try ModerationRater.parse(.init(string: ok), count: 2, category: "hate", url: "u")) { e in
            XCTAssertTrue(e is FatalSamplingError)
        }
        XCTAssertThrowsError(try ModerationRater.parse(.init(string: #"{"results":[{}]}"#), count: 1, category: nil, url: "u")) { e in
            XCTAssertTrue(e is TransientError)
        }
    }
}
