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

    /// Columns ensure_json_index added come after the hidden filter: adding one
    /// renumbers none of the others.
    func testAddedColumnsFollowFilter() {
        let added = ColumnLayout(indexes: layout.indexes,
                                 added: [IndexSpec(name: "country", path: try! JSONPath(parsing: "$.country"), type: .text)],
                                 jsonb: false)
        let expected: [Column] = [.id, .ts, .shard, .doc, .index(0), .index(1), .filter, .index(2)]
        XCTAssertEqual(added.count, expected.count)
        for (n, c) in expected.enumerated() {
            XCTAssertEqual(added.column(n), c)
            XCTAssertEqual(added.number(c), n)
            if n < layout.count { XCTAssertEqual(layout.column(n), c, "numbers stay") }
        }
        XCTAssertEqual(added.declaration, "CREATE TABLE x(id INTEGER, ts INTEGER, shard TEXT, doc TEXT, \"type\", \"user\", filter HIDDEN, \"country\" TEXT)")
        XCTAssertEqual(added.expression(.index(2)), "json_extract(doc, '$.country')")
        XCTAssertTrue(added.has(7))
        XCTAssertFalse(layout.has(7))
        XCTAssertNotEqual(added, layout)
    }

    func testIndexSpecText() throws {
        for text in ["country: $.country", "n: $.\"a b\" integer", "x: $[0].y real"] {
            XCTAssertEqual(try IndexSpec(parsing: text).text, text)
        }
        XCTAssertEqual(try IndexSpec(parsing: "$.type").text, "type: $.type")
        XCTAssertTrue(IndexSpec.hasExplicitName(" n: $.n"))
        XCTAssertFalse(IndexSpec.hasExplicitName("$.n"))
        XCTAssertFalse(IndexSpec.hasExplicitName("a"))
    }
}
