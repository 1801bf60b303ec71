import XCTest
@testable import ShardCore

final class ShardKeyTests: XCTestCase {
    func testKeysOfEveryPartition() {
        let cases: [(period: String, text: String, table: String)] = [
            ("", "events:001", "events_001"),
            ("2025", "events:2025:001", "events_2025-001"),
            ("2025:01", "events:2025:01:001", "events_2025-01-001"),
            ("2025:01:15", "events:2025:01:15:001", "events_2025-01-15-001"),
            ("2025:01:15:13", "events:2025:01:15:13:001", "events_2025-01-15-13-001"),
        ]
        for c in cases {
            let key = ShardKey(collection: "events", category: nil, period: c.period, seq: 1)
            XCTAssertEqual(key.text, c.text)
            XCTAssertEqual(key.tableName, c.table)
        }
    }

    func testCategory() {
        let key = ShardKey(collection: "events", category: "billing", period: "2025:01", seq: 2)
        XCTAssertEqual(key.text, "events:billing:2025:01:002")
        XCTAssertEqual(key.tableName, "events_billing-2025-01-002")
        XCTAssertEqual(key.line, "events:billing:2025:01")
        let none = ShardKey(collection: "logs", category: "~null", period: "", seq: 7)
        XCTAssertEqual(none.text, "logs:~null:007")
        XCTAssertEqual(none.tableName, "logs_~null-007")
    }

    func testSeqPadding() {
        func text(_ seq: Int) -> String { ShardKey(collection: "e", category: nil, period: "2025", seq: seq).text }
        XCTAssertEqual(text(9), "e:2025:009")
        XCTAssertEqual(text(99), "e:2025:099")
        XCTAssertEqual(text(999), "e:2025:999")
        XCTAssertEqual(text(1000), "e:2025:1000")
        XCTAssertEqual(text(123_456), "e:2025:123456")
    }

    func testNextAndLine() {
        let key = ShardKey(collection: "events", category: nil, period: "2025:01", seq: 999)
        XCTAssertEqual(key.next, ShardKey(collection: "events", category: nil, period: "2025:01", seq: 1000))
        XCTAssertEqual(key.next.text, "events:2025:01:1000")
        XCTAssertEqual(key.line, "events:2025:01")
        XCTAssertEqual(key.next.line, key.line)
        XCTAssertEqual(ShardKey(collection: "events", category: nil, period: "", seq: 3).line, "events")
        XCTAssertEqual(ShardKey(collection: "events", category: "a-b", period: "", seq: 3).line, "events:a-b")
    }

    func testLongKeys() {
        let collection = String(repeating: "c", count: 64)
        let category = "~" + String(repeating: "ab", count: 24) + "_0123456789abcdef"
        let key = ShardKey(collection: collection, category: category, period: "2025:01:15:13", seq: 12)
        XCTAssertEqual(key.text, collection + ":" + category + ":2025:01:15:13:012")
        XCTAssertEqual(key.tableName, collection + "_~" + String(repeating: "ab", count: 24) + "~5f0123456789abcdef-2025-01-15-13-012")
    }
}

final class ShardTableNameTests: XCTestCase {
    /// SQLite's rule: the name before the last `_` is the collection.
    func testTheNameBeforeTheLastUnderscoreIsTheCollection() {
        let keys = [
            ShardKey(collection: "my_events", category: nil, period: "2025:01", seq: 1),
            ShardKey(collection: "evc", category: "x", period: "", seq: 1),
            ShardKey(collection: "evc", category: "a_b_c", period: "2025:01:15:13", seq: 12),
            ShardKey(collection: "e", category: "~2e", period: "2025", seq: 1000),
        ]
        for key in keys {
            let table = key.tableName
            let last = table.lastIndex(of: "_")!
            XCTAssertEqual(String(table[..<last]), key.collection, table)
            XCTAssertTrue(ShardTableName.isShadowSuffix(String(table[table.index(after: last)...])), table)
            let blocks = ShardTableName.blocks(of: table, collection: key.collection)
            XCTAssertEqual(blocks, table + "-z")
            XCTAssertTrue(ShardTableName.isShadowSuffix(String(blocks[blocks.index(after: last)...])), blocks)
        }
        XCTAssertEqual(keys[2].tableName, "evc_a~5fb~5fc-2025-01-15-13-012")
    }

    /// Category values that differ give tables that differ, `_` included.
    func testDistinctCategoriesDistinctTables() {
        let values = ["a_b", "a-b", "ab", "_2e", ".", "a~5fb", "~null", "x", "x-2025", "2025"]
        let tables = values.map { ShardKey(collection: "e", category: CategoryName.encode($0), period: "2025:01", seq: 1).tableName }
        XCTAssertEqual(Set(tables).count, values.count, "\(tables)")
    }

    func testShadowSuffixes() {
        for yes in ["shards", "config", "001", "2025-01-001", "billing-2025-01-002", "2025-01-001-z", "~null-007",
                    "2025_01_001", "2025_01_001_z", "billing_2025_01_1000"] {
            XCTAssertTrue(ShardTableName.isShadowSuffix(yes), yes)
        }
        for no in ["", "z", "foo", "2025-01-x", "01", "shards2", "2025-01-001-zz"] {
            XCTAssertFalse(ShardTableName.isShadowSuffix(no), no)
        }
    }

    func testLegacyTablesKeepLegacyBlocks() {
        XCTAssertEqual(ShardTableName.blocks(of: "events_2025_01_001", collection: "events"), "events_2025_01_001_z")
        XCTAssertEqual(ShardTableName.blocks(of: "my_ev_001", collection: "my_ev"), "my_ev_001-z")
    }
}

// Hex and FNV-1a 64 values computed with Python (bytes.hex(); FNV-1a checked against
// the published vector for "a": af63dc4c8601ec8c).
final class CategoryNameTests: XCTestCase {
    /// Path index names hash the path: FNV-1a 64, 16 lowercase hex digits.
    func testFnvHex() {
        XCTAssertEqual(CategoryName.fnv1a64Hex("a"), "af63dc4c8601ec8c")
        XCTAssertEqual(CategoryName.fnv1a64Hex("").count, 16)
    }

    func testSafeValuesAreKept() {
        XCTAssertEqual(CategoryName.encode("billing"), "billing")
        XCTAssertEqual(CategoryName.encode("Team_A-1"), "Team_A-1")
        XCTAssertEqual(CategoryName.encode("0"), "0")
        let max = String(repeating: "a", count: 64)
        XCTAssertEqual(CategoryName.encode(max), max)
    }

    func testUnsafeValuesAreHex() {
        XCTAssertEqual(CategoryName.encode("billing team"), "~62696c6c696e67207465616d")
        XCTAssertEqual(CategoryName.encode("a:b"), "~613a62")
        XCTAssertEqual(CategoryName.encode("~null"), "~7e6e756c6c")
        XCTAssertEqual(CategoryName.encode(""), "~")
    }

    func testNull() {
        XCTAssertEqual(CategoryName.encode(nil), "~null")
        XCTAssertNotEqual(CategoryName.encode("null"), CategoryName.encode(nil))
    }

    func testLongValuesAreHashed() {
        XCTAssertEqual(CategoryName.encode(String(repeating: "a", count: 65)),
                       "~616161616161616161616161616161616161616161616161_8087e9a889f8a14c")
        XCTAssertEqual(CategoryName.encode(String(repeating: "é", count: 20)),
                       "~c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9_9b8b0c26381232f5")
        XCTAssertEqual(CategoryName.encode("hello world, this is a long category value"),
                       "~68656c6c6f20776f726c642c20746869732069732061206c_626da36e5b05545d")
        // 32 unsafe bytes are 64 hex digits: still plain hex.
        let thirtyTwo = String(repeating: "a b ", count: 8)
        XCTAssertEqual(CategoryName.encode(thirtyTwo), "~" + String(repeating: "61206220", count: 8))
    }

    func testDistinct() {
        let values: [String?] = [
            nil, "null", "~null", "", " ", "a", "A", "a ", "a b", "a_b", "a-b", "~61", "61",
            String(repeating: "a", count: 64), String(repeating: "a", count: 65), String(repeating: "a", count: 66),
            String(repeating: "x", count: 40) + "1", String(repeating: "x", count: 40) + "2",
        ]
        let encoded = values.map(CategoryName.encode)
        XCTAssertEqual(Set(encoded).count, values.count, "\(encoded)")
        for e in encoded {
            XCTAssertTrue(e.utf8.count <= 66)
            XCTAssertTrue(e.utf8.allSatisfy { ASCII.isWordByte($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "~") }, e)
        }
    }
}
