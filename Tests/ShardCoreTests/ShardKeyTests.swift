import XCTest
@testable import ShardCore

final class ShardKeyTests: XCTestCase {
    func testKeysOfEveryPartition() {
        let cases: [(period: String, text: String, table: String)] = [
            ("", "events:001", "events_001"),
            ("2025", "events:2025:001", "events_2025_001"),
            ("2025:01", "events:2025:01:001", "events_2025_01_001"),
            ("2025:01:15", "events:2025:01:15:001", "events_2025_01_15_001"),
            ("2025:01:15:13", "events:2025:01:15:13:001", "events_2025_01_15_13_001"),
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
        XCTAssertEqual(key.tableName, "events_billing_2025_01_002")
        XCTAssertEqual(key.line, "events:billing:2025:01")
        let none = ShardKey(collection: "logs", category: "~null", period: "", seq: 7)
        XCTAssertEqual(none.text, "logs:~null:007")
        XCTAssertEqual(none.tableName, "logs_~null_007")
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
        XCTAssertEqual(key.tableName, collection + "_" + category + "_2025_01_15_13_012")
    }
}

// Hex and FNV-1a 64 values computed with Python (bytes.hex(); FNV-1a checked against
// the published vector for "a": af63dc4c8601ec8c).
final class CategoryNameTests: XCTestCase {
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
