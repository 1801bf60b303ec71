import ShardCore
import XCTest

final class ColumnTests: XCTestCase {
    let layout = ColumnLayout(indexes: [IndexSpec(name: "type", path: try! JSONPath(parsing: "$.type")),
                                        IndexSpec(name: "user", path: try! JSONPath(parsing: "$.user.id"))],
                              jsonb: true)

    func testNumbersInDeclarationOrder() {
        let expected: [Column] = [.id, .ts, .shard, .doc, .index(0), .index(1), .filter]
        XCTAssertEqual(layout.count, expected.count)
        for (n, c) in expected.enumerated() {
            XCTAssertEqual(layout.column(n), c)
            XCTAssertEqual(layout.number(c), n)
        }
        XCTAssertEqual(layout.column(-1), .id, "SQLite's rowid is the id")
        XCTAssertEqual(ColumnLayout(indexes: [], jsonb: false).number(.filter), 4)
    }

    func testNamesAndDeclaration() {
        XCTAssertEqual((0..<layout.count).map { layout.name(layout.column($0)) },
                       ["id", "ts", "shard", "doc", "type", "user", "filter"])
        XCTAssertEqual(layout.declaration,
                       "CREATE TABLE x(id INTEGER, ts INTEGER, shard TEXT, doc TEXT, \"type\", \"user\", filter HIDDEN)")
        let typed = ColumnLayout(indexes: [IndexSpec(name: "user", path: try! JSONPath(parsing: "$.user.id"), type: .integer),
                                           IndexSpec(name: "price", path: try! JSONPath(parsing: "$.p"), type: .real),
                                           IndexSpec(name: "code", path: try! JSONPath(parsing: "$.c"), type: .text)], jsonb: false)
        XCTAssertEqual(typed.declaration,
                       "CREATE TABLE x(id INTEGER, ts INTEGER, shard TEXT, doc TEXT, \"user\" INTEGER, \"price\" REAL, \"code\" TEXT, filter HIDDEN)")
    }

    func testExpressionsInsideAShard() {
        XCTAssertEqual(layout.expression(.id), "id")
        XCTAssertEqual(layout.expression(.ts), "ts")
        XCTAssertEqual(layout.expression(.doc), "doc")
        XCTAssertEqual(layout.expression(.doc, reading: true), "json(doc)")
        XCTAssertEqual(ColumnLayout(indexes: [], jsonb: false).expression(.doc, reading: true), "doc")
        XCTAssertEqual(layout.expression(.index(1)), "json_extract(doc, '$.user.id')")
    }
}
