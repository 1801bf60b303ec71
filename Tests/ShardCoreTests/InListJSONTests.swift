import XCTest
@testable import ShardCore

final class InListJSONTests: XCTestCase {
    private func json(_ texts: [[UInt8]], _ others: [InListJSON.Item] = []) -> String? {
        var list = InListJSON()
        for o in others { guard list.add(o) else { return nil } }
        for t in texts {
            guard t.withUnsafeBytes({ list.add(.text($0)) }) else { return nil }
        }
        return list.text
    }

    func testNumbersTextAndLeftOutValues() {
        XCTAssertEqual(json([], [.integer(1), .never, .integer(-9223372036854775808), .real(0.1), .real(1e16),
                                 .real(-.infinity), .real(.nan)]),
                       "[1,-9223372036854775808,0.1,1e+16,-9e999]")
        XCTAssertEqual(json([], [.never, .integer(2)]), "[2]")
        XCTAssertEqual(json([], []), "[]")
        XCTAssertEqual(json([Array("a\"b\\c\u{1}\u{7f}é😀".utf8)]), "[\"a\\\"b\\\\c\\u0001\\u007fé😀\"]")
    }

    func testTextJSONCannotCarry() {
        XCTAssertNil(json([[0x61, 0x00, 0x62]]), "NUL")
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            XCTAssertNil(json([bad]), "\(bad)")
        }
        XCTAssertNotNil(json([[0xF4, 0x8F, 0xBF, 0xBF], [0xEF, 0xBF, 0xBD], [0xC2, 0x80]]))
    }

    func testThresholdFollowsTheVariableLimit() {
        XCTAssertEqual(InListJSON.threshold(variableLimit: 32766), 1000)
        XCTAssertEqual(InListJSON.threshold(variableLimit: 999), 249)
        XCTAssertEqual(InListJSON.threshold(variableLimit: 0), 0)
    }
}
