import XCTest
@testable import ShardCore

final class JSONSyntaxTests: XCTestCase {
    private func firstError(_ text: String) -> Int? {
        Array(text.utf8).withUnsafeBytes { JSONSyntax.firstError($0) }
    }

    func testValidJSON() {
        for text in ["{}", " { \"a\" : [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"], \"b\": {} }\n", "[]", "0", "\"s\"",
                     "[[[[]]]]", "{\"a\":{\"b\":{\"c\":[1,{\"d\":2}]}}}", "-0.0E-1"] {
            XCTAssertNil(firstError(text), text)
        }
    }

    func testFirstErrorOffsets() {
        XCTAssertEqual(firstError("{\"a\": x}"), 6)
        XCTAssertEqual(firstError("{\"é\": x}"), 7, "bytes, not characters")
        XCTAssertEqual(firstError("{\"a\":1"), 6, "the end: the text's length")
        XCTAssertEqual(firstError(""), 0)
        XCTAssertEqual(firstError("{\"a\":1,}"), 7, "no trailing comma")
        XCTAssertEqual(firstError("{a:1}"), 1, "keys are strings")
        XCTAssertEqual(firstError("[1,2"), 4)
        XCTAssertEqual(firstError("{\"a\":1}}"), 7, "nothing after the value")
        XCTAssertEqual(firstError("{\"a\":\"\u{01}\"}"), 6, "no raw control characters")
        XCTAssertEqual(firstError("{\"a\":\"\\x\"}"), 7)
        XCTAssertEqual(firstError("{\"a\":01}"), 6)
        XCTAssertEqual(firstError("{\"a\":1.}"), 7)
        XCTAssertEqual(firstError("{\"a\":tru}"), 8)
        XCTAssertEqual(firstError("{\"a\" 1}"), 5)
        XCTAssertEqual(firstError("[1 2]"), 3)
        XCTAssertEqual(firstError("{\"a\": [1, 2}"), 11)
    }

    func testDeepNestingIsNotRecursion() {
        XCTAssertEqual(firstError(String(repeating: "[", count: 200_000)), 200_000)
        XCTAssertNil(firstError(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)))
    }

    func testCharacterPositionsAndMessages() {
        let text = Array("{\"é\": x}".utf8)
        text.withUnsafeBytes { bytes in
            XCTAssertEqual(JSONSyntax.byteOffset(ofCharacter: 7, in: bytes), 7)
            XCTAssertEqual(JSONSyntax.byteOffset(ofCharacter: 1, in: bytes), 0)
            XCTAssertEqual(JSONSyntax.byteOffset(ofCharacter: 9, in: bytes), bytes.count)
            XCTAssertEqual(JSONSyntax.describe(errorAt: 7, in: bytes), "syntax error at byte 8, near 'x}'")
            XCTAssertEqual(JSONSyntax.describe(errorAt: bytes.count, in: bytes), "it ends too early (at byte 10)")
        }
    }
}
