import XCTest
@testable import ShardCore

final class JSONPathTests: XCTestCase {
    func testValidPaths() throws {
        let cases: [(source: String, text: String, steps: [JSONPath.Step])] = [
            ("$", "$", []),
            ("$.ts", "$.ts", [.key("ts")]),
            ("$.user.id", "$.user.id", [.key("user"), .key("id")]),
            ("  $.a\t\n", "$.a", [.key("a")]),
            ("$.\"a b\"[0]", "$.\"a b\"[0]", [.key("a b"), .index(0)]),
            ("$.\"plain\"", "$.plain", [.key("plain")]),
            ("$.a[12].b", "$.a[12].b", [.key("a"), .index(12), .key("b")]),
            ("$[0][1]", "$[0][1]", [.index(0), .index(1)]),
            ("$.0abc", "$.0abc", [.key("0abc")]),
            ("$.A_b9", "$.A_b9", [.key("A_b9")]),
            ("$.\"a.b\"", "$.\"a.b\"", [.key("a.b")]),
            ("$.\"it's\"", "$.\"it's\"", [.key("it's")]),
            ("$.\"é\".x", "$.\"é\".x", [.key("é"), .key("x")]),
            ("$.\"[x]\"", "$.\"[x]\"", [.key("[x]")]),
            ("$.a[007]", "$.a[7]", [.key("a"), .index(7)]),
            ("$[999999999]", "$[999999999]", [.index(999_999_999)]),
        ]
        for c in cases {
            let path = try JSONPath(parsing: c.source)
            XCTAssertEqual(path.text, c.text, c.source)
            XCTAssertEqual(path.steps, c.steps, c.source)
        }
    }

    func testEqualityIsBySteps() throws {
        XCTAssertEqual(try JSONPath(parsing: "$.a"), try JSONPath(parsing: " $.\"a\""))
        XCTAssertNotEqual(try JSONPath(parsing: "$.a"), try JSONPath(parsing: "$.A"))
    }

    func testLengthLimit() throws {
        let ok = "$" + String(repeating: ".a", count: 499) + "b"  // 1000 characters
        XCTAssertEqual(try JSONPath(parsing: ok).steps.count, 499)
        assertShardError(try JSONPath(parsing: ok + "c"), "longer than 1000 characters")
    }

    func testInvalidPathMessages() {
        assertShardError(try JSONPath(parsing: "$.a b"),
                         message: "shards: bad JSON path '$.a b': expected .name, .\"quoted name\" or [N] after '$.a'")
        assertShardError(try JSONPath(parsing: ""), message: "shards: bad JSON path '': must start with '$'")
        assertShardError(try JSONPath(parsing: "a.b"), "'a.b'", "must start with '$'")
        assertShardError(try JSONPath(parsing: "$.\"abc"), "unterminated quoted name after '$'")
        assertShardError(try JSONPath(parsing: "$.a.\"\""), "empty quoted name after '$.a'")
        assertShardError(try JSONPath(parsing: "$.\"a\0b\""), "'$.\"a\\0b\"'", "contains a NUL character")
        // `$."a\"` is a key `a\` to SQLite 3.40 and an unterminated name to 3.54.
        assertShardError(try JSONPath(parsing: "$.\"a\\\""), "contains '\\', which SQLite versions read differently")
        assertShardError(try JSONPath(dottedField: "a\\b"), "a name containing '\"', '\\' or NUL")
        assertShardError(try JSONPath(parsing: "$[1234567890]"), "more than 9 digits")
        assertShardError(try JSONPath(parsing: "$.a[1"), "expected ']' after '$.a[1'")
        assertShardError(try JSONPath(parsing: "$[-1]"), "expected [N] with N a non-negative integer after '$'")
    }

    func testInvalidPaths() {
        let bad = [
            "$.", "$..a", "$.*", "$[*]", "$[#-1]", "$[1]x", "$.a.", "$ .a", "$. a", "$.a .b", "$['a']", "$.a[]",
            "$[ 1]", "$[1 ]", "$[+1]", "$[1.5]", "$.café", "$$", "$.a-b", "$-", "x", "$.\"a\"b", "$.a[0]]",
            "$\"a\"", "$.a\"", ".a", "[0]", "$.a\u{0301}",
        ]
        for source in bad {
            assertShardError(try JSONPath(parsing: source), "bad JSON path")
        }
    }

    func testDefaultColumnName() throws {
        XCTAssertEqual(try JSONPath(parsing: "$.type").defaultColumnName, "type")
        XCTAssertEqual(try JSONPath(parsing: "$.user.id").defaultColumnName, "id")
        XCTAssertEqual(try JSONPath(parsing: "$.a[0].User_1").defaultColumnName, "User_1")
        XCTAssertEqual(try JSONPath(parsing: "$.\"_x\"").defaultColumnName, "_x")
        XCTAssertNil(try JSONPath(parsing: "$").defaultColumnName)
        XCTAssertNil(try JSONPath(parsing: "$.a[0]").defaultColumnName)
        XCTAssertNil(try JSONPath(parsing: "$.0abc").defaultColumnName)
        XCTAssertNil(try JSONPath(parsing: "$.\"a b\"").defaultColumnName)
    }

    func testDottedFields() throws {
        let cases: [(field: String, text: String)] = [
            ("type", "$.type"),
            ("user.id", "$.user.id"),
            ("a b.c", "$.\"a b\".c"),
            ("a.0", "$.a.0"),
            ("a[0]", "$.\"a[0]\""),
            ("it's", "$.\"it's\""),
            (" x", "$.\" x\""),
            ("$.a[0]", "$.a[0]"),
            ("$", "$"),
        ]
        for c in cases {
            XCTAssertEqual(try JSONPath(dottedField: c.field).text, c.text, c.field)
        }
        XCTAssertEqual(try JSONPath(dottedField: "a.0").steps, [.key("a"), .key("0")])
    }

    func testBadDottedFields() {
        assertShardError(try JSONPath(dottedField: ""), "bad field name ''", "empty name")
        assertShardError(try JSONPath(dottedField: "a..b"), "bad field name 'a..b'", "empty name")
        assertShardError(try JSONPath(dottedField: ".a"), "empty name")
        assertShardError(try JSONPath(dottedField: "a."), "empty name")
        assertShardError(try JSONPath(dottedField: "a\"b"), "'a\"b'", "containing '\"'")
        assertShardError(try JSONPath(dottedField: "$.a b"), "bad JSON path '$.a b'")
        assertShardError(try JSONPath(dottedField: String(repeating: "a.", count: 500) + "a"), "longer than 1000")
    }

    func testPathsAreSafeInSQLLiterals() throws {
        let path = try JSONPath(parsing: "$.\"it's\"")
        XCTAssertEqual(SQLText.literal(path.text), "'$.\"it''s\"'")
        XCTAssertEqual("json_extract(doc, \(SQLText.literal(path.text)))", "json_extract(doc, '$.\"it''s\"')")
    }
}

final class SQLTextTests: XCTestCase {
    func testIdentifier() {
        XCTAssertEqual(SQLText.identifier("events_2025_01_001"), "\"events_2025_01_001\"")
        XCTAssertEqual(SQLText.identifier("a\"b"), "\"a\"\"b\"")
        XCTAssertEqual(SQLText.identifier(""), "\"\"")
        XCTAssertEqual(SQLText.identifier("it's"), "\"it's\"")
    }

    func testLiteral() {
        XCTAssertEqual(SQLText.literal("it's"), "'it''s'")
        XCTAssertEqual(SQLText.literal("''"), "''''''")
        XCTAssertEqual(SQLText.literal(""), "''")
        XCTAssertEqual(SQLText.literal("a\"b"), "'a\"b'")
        XCTAssertEqual(SQLText.literal("é"), "'é'")
    }

    func testQuoteFollowedByCombiningMarkIsStillDoubled() {
        // One Swift Character, but SQLite sees a quote byte.
        XCTAssertEqual(SQLText.literal("'\u{301}"), "'''\u{301}'")
        XCTAssertEqual(SQLText.identifier("\"\u{301}"), "\"\"\"\u{301}\"")
    }
}
