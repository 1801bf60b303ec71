import XCTest
@testable import ShardCore

final class JSONValueTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    func testScalars() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("false"), .bool(false))
        XCTAssertEqual(try parse("0"), .integer(0))
        XCTAssertEqual(try parse("-0"), .integer(0))
        XCTAssertEqual(try parse("42"), .integer(42))
        XCTAssertEqual(try parse("-17"), .integer(-17))
        XCTAssertEqual(try parse("\"hi\""), .string("hi"))
        XCTAssertEqual(try parse("\"\""), .string(""))
    }

    func testNumbers() throws {
        XCTAssertEqual(try parse("9223372036854775807"), .integer(Int64.max))
        XCTAssertEqual(try parse("-9223372036854775808"), .integer(Int64.min))
        XCTAssertEqual(try parse("9223372036854775808"), .double(9223372036854775808.0))
        XCTAssertEqual(try parse("-9223372036854775809"), .double(-9223372036854775809.0))
        XCTAssertEqual(try parse("123456789012345678901234567890"), .double(1.2345678901234568e29))
        XCTAssertEqual(try parse("1.5"), .double(1.5))
        XCTAssertEqual(try parse("1.0"), .double(1.0))
        XCTAssertEqual(try parse("-0.25"), .double(-0.25))
        XCTAssertEqual(try parse("0.0"), .double(0))
        XCTAssertEqual(try parse("1e3"), .double(1000))
        XCTAssertEqual(try parse("1E+3"), .double(1000))
        XCTAssertEqual(try parse("25e-2"), .double(0.25))
        XCTAssertEqual(try parse("1.5e308"), .double(1.5e308))
        XCTAssertEqual(try parse("1e-400"), .double(0))
        XCTAssertEqual(try parse("0e0"), .double(0))
    }

    func testBadNumbers() {
        assertShardError(try parse("01"), message: "shards: bad query document: invalid number, leading zeros are not allowed at offset 0")
        assertShardError(try parse("-01"), message: "shards: bad query document: invalid number, leading zeros are not allowed at offset 0")
        assertShardError(try parse("-"), message: "shards: bad query document: invalid number, expected a digit at offset 1")
        assertShardError(try parse("-a"), message: "shards: bad query document: invalid number, expected a digit at offset 1")
        assertShardError(try parse("1."), message: "shards: bad query document: invalid number, expected a digit after '.' at offset 2")
        assertShardError(try parse("1.e5"), message: "shards: bad query document: invalid number, expected a digit after '.' at offset 2")
        assertShardError(try parse("1e"), message: "shards: bad query document: invalid number, expected a digit in the exponent at offset 2")
        assertShardError(try parse("1e+"), message: "shards: bad query document: invalid number, expected a digit in the exponent at offset 3")
        assertShardError(try parse("1e400"), message: "shards: bad query document: number 1e400 is out of range at offset 0")
        assertShardError(try parse("[-1e400]"), message: "shards: bad query document: number -1e400 is out of range at offset 1")
        assertShardError(try parse("+1"), message: "shards: bad query document: unexpected character '+', expected a value at offset 0")
        assertShardError(try parse(".5"), message: "shards: bad query document: unexpected character '.', expected a value at offset 0")
        assertShardError(try parse("0x10"), message: "shards: bad query document: unexpected character 'x' after the value at offset 1")
        assertShardError(try parse("NaN"), "unexpected character 'N'")
        assertShardError(try parse("Infinity"), "unexpected character 'I'")
    }

    func testStringsAndEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d""#), .string("a\"b\\c/d"))
        XCTAssertEqual(try parse(#""\b\f\n\r\t""#), .string("\u{8}\u{C}\n\r\t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u00E9""#), .string("Aéé"))
        XCTAssertEqual(try parse(#""\u20AC""#), .string("€"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\0"))
        XCTAssertEqual(try parse(#""\uD83D\uDE00""#), .string("😀"))
        XCTAssertEqual(try parse(#""x\ud834\udd1ey""#), .string("x𝄞y"))
        XCTAssertEqual(try parse("\"é😀 raw\""), .string("é😀 raw"))
        XCTAssertEqual(try parse("\"\u{7F}\""), .string("\u{7F}"))
    }

    func testBadStrings() {
        assertShardError(try parse("\"abc"), message: "shards: bad query document: unterminated string at offset 0")
        assertShardError(try parse("[\"a\\"), message: "shards: bad query document: unterminated string at offset 3")
        assertShardError(try parse("\"a\nb\""), message: "shards: bad query document: control character U+000A in a string, write it as an escape at offset 2")
        assertShardError(try parse("\"\t\""), "control character U+0009")
        assertShardError(try parse(#""\x""#), message: "shards: bad query document: invalid escape in a string at offset 1")
        assertShardError(try parse(#""\'""#), "invalid escape")
        assertShardError(try parse(#""\u12""#), message: "shards: bad query document: invalid \\u escape, expected 4 hex digits at offset 1")
        assertShardError(try parse(#""\u12G4""#), "invalid \\u escape")
        assertShardError(try parse(#""\uD83D""#), message: "shards: bad query document: unpaired surrogate \\uD83D in a string at offset 1")
        assertShardError(try parse(#""\uD83Dx""#), "unpaired surrogate \\uD83D")
        assertShardError(try parse(#""\uD83D\n""#), "unpaired surrogate \\uD83D")
        assertShardError(try parse(#""\uD83D\u0041""#), "unpaired surrogate \\uD83D")
        assertShardError(try parse(#""\uD83D\uD83D""#), "unpaired surrogate \\uD83D")
        assertShardError(try parse(#""ab\uDE00""#), message: "shards: bad query document: unpaired surrogate \\uDE00 in a string at offset 3")
        assertShardError(try parse(#""\uD83D\uDE0""#), message: "shards: bad query document: invalid \\u escape, expected 4 hex digits at offset 7")
        assertShardError(try parse("'a'"), "unexpected character '''")
    }

    func testArraysAndObjects() throws {
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("{}"), .object([]))
        XCTAssertEqual(try parse("[1,\"a\",null,[true]]"),
                       .array([.integer(1), .string("a"), .null, .array([.bool(true)])]))
        XCTAssertEqual(try parse(#"{"b":1,"a":{"c":[]}}"#), .object([
            JSONMember(key: "b", value: .integer(1)),
            JSONMember(key: "a", value: .object([JSONMember(key: "c", value: .array([]))])),
        ]))
        // Member order is kept as written, not sorted.
        guard case .object(let members) = try parse(#"{"z":1,"y":2,"x":3}"#) else { return XCTFail() }
        XCTAssertEqual(members.map(\.key), ["z", "y", "x"])
        // Keys are decoded like other strings.
        XCTAssertEqual(try parse(#"{"a\u0062":1}"#), .object([JSONMember(key: "ab", value: .integer(1))]))
    }

    func testWhitespace() throws {
        XCTAssertEqual(try parse(" \t\r\n{ \"a\" :\n[ 1 , 2 ] \t} \r\n"), .object([
            JSONMember(key: "a", value: .array([.integer(1), .integer(2)])),
        ]))
        assertShardError(try parse("\u{C}1"), message: "shards: bad query document: unexpected character U+000C, expected a value at offset 0")
        assertShardError(try parse("1\u{A0}"), message: "shards: bad query document: unexpected character U+00A0 after the value at offset 1")
    }

    func testStructureErrors() {
        assertShardError(try parse(""), message: "shards: bad query document: unexpected end of input, expected a value at offset 0")
        assertShardError(try parse("   "), message: "shards: bad query document: unexpected end of input, expected a value at offset 3")
        assertShardError(try parse("{"), message: "shards: bad query document: unexpected end of input, expected a string key at offset 1")
        assertShardError(try parse("{\"a\""), message: "shards: bad query document: unexpected end of input, expected ':' at offset 4")
        assertShardError(try parse("{\"a\":"), message: "shards: bad query document: unexpected end of input, expected a value at offset 5")
        assertShardError(try parse("{\"a\":1"), message: "shards: bad query document: unexpected end of input, expected ',' or '}' at offset 6")
        assertShardError(try parse("{\"a\":1,}"), message: "shards: bad query document: unexpected character '}', expected a string key at offset 7")
        assertShardError(try parse("{\"a\" 1}"), message: "shards: bad query document: unexpected character '1', expected ':' at offset 5")
        assertShardError(try parse("{\"a\":1 \"b\":2}"), message: "shards: bad query document: unexpected character '\"', expected ',' or '}' at offset 7")
        assertShardError(try parse("{a:1}"), message: "shards: bad query document: unexpected character 'a', expected a string key at offset 1")
        assertShardError(try parse("{1:1}"), "expected a string key at offset 1")
        assertShardError(try parse("["), message: "shards: bad query document: unexpected end of input, expected a value at offset 1")
        assertShardError(try parse("[1"), message: "shards: bad query document: unexpected end of input, expected ',' or ']' at offset 2")
        assertShardError(try parse("[1,]"), message: "shards: bad query document: unexpected character ']', expected a value at offset 3")
        assertShardError(try parse("[1 2]"), message: "shards: bad query document: unexpected character '2', expected ',' or ']' at offset 3")
        assertShardError(try parse("[,1]"), "unexpected character ','")
        assertShardError(try parse("tru"), message: "shards: bad query document: invalid literal, expected a value at offset 0")
        assertShardError(try parse("trueish"), message: "shards: bad query document: invalid literal, expected a value at offset 0")
        assertShardError(try parse("[nul]"), message: "shards: bad query document: invalid literal, expected a value at offset 1")
        assertShardError(try parse("True"), "unexpected character 'T'")
        assertShardError(try parse("é"), message: "shards: bad query document: unexpected character U+00E9, expected a value at offset 0")
    }

    func testTrailingGarbage() {
        assertShardError(try parse("{} x"), message: "shards: bad query document: unexpected character 'x' after the value at offset 3")
        assertShardError(try parse("{}{}"), message: "shards: bad query document: unexpected character '{' after the value at offset 2")
        assertShardError(try parse("1 2"), message: "shards: bad query document: unexpected character '2' after the value at offset 2")
        assertShardError(try parse("{}\0"), message: "shards: bad query document: unexpected character U+0000 after the value at offset 2")
        assertShardError(try parse("null,"), "unexpected character ','")
    }

    func testDuplicateKeys() throws {
        assertShardError(try parse(#"{"a":1,"b":2,"a":3}"#), message: "shards: bad query document: duplicate key 'a' at offset 13")
        assertShardError(try parse(#"{"a":1,"\u0061":2}"#), "duplicate key 'a'")
        assertShardError(try parse(#"{"x":{"a":1,"a":1}}"#), "duplicate key 'a' at offset 12")
        // Same key in different objects is fine.
        XCTAssertNoThrow(try parse(#"{"a":{"a":1},"b":{"a":2}}"#))
        // Keys compare by bytes: NFC and NFD spellings of é are two keys, as for SQLite.
        guard case .object(let members) = try parse("{\"\u{E9}\":1,\"e\u{301}\":2}") else { return XCTFail() }
        XCTAssertEqual(members.count, 2)
    }

    func testDepth() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try parse(ok))
        let okObjects = String(repeating: "{\"a\":", count: 63) + "[1]" + String(repeating: "}", count: 63)
        XCTAssertNoThrow(try parse(okObjects))
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        assertShardError(try parse(deep), message: "shards: bad query document: nesting deeper than 64 at offset 64")
        let deepObjects = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)
        assertShardError(try parse(deepObjects), message: "shards: bad query document: nesting deeper than 64 at offset 320")
        // Depth is nesting, not a count of containers: many siblings are fine.
        let wide = "[" + Array(repeating: "[[]]", count: 200).joined(separator: ",") + "]"
        XCTAssertNoThrow(try parse(wide))
        // Far too deep input fails cleanly instead of overflowing the stack.
        assertShardError(try parse(String(repeating: "[", count: 100_000)), "nesting deeper than 64")
    }
}
