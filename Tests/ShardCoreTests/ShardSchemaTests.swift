import XCTest
@testable import ShardCore

final class ShardSchemaTests: XCTestCase {
    func testShardTableWithItsIndexes() {
        let sql = ShardSchema.createShard(schema: "main", table: "ev_2025-01-001", jsonb: false,
                                          indexes: [.init(name: "ev_2025-01-001_type", path: "$.type")])
        XCTAssertEqual(sql, """
            CREATE TABLE "main"."ev_2025-01-001"(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc TEXT NOT NULL);\
            CREATE INDEX "main"."ev_2025-01-001_ts" ON "ev_2025-01-001"(ts);\
            CREATE INDEX IF NOT EXISTS "main"."ev_2025-01-001_type" ON "ev_2025-01-001"(json_extract(doc, '$.type'));
            """)
        XCTAssertTrue(ShardSchema.createShard(schema: "aux", table: "t_001", jsonb: true, indexes: [])
            .hasPrefix(#"CREATE TABLE "aux"."t_001"(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc BLOB NOT NULL);"#))
    }

    func testQuotingOfNamesAndPaths() {
        let index = ShardSchema.PathIndex(name: #"a"b_001_x"#, path: "$.it's")
        XCTAssertEqual(ShardSchema.createPathIndex(schema: "s", table: #"a"b_001"#, index: index),
                       #"CREATE INDEX IF NOT EXISTS "s"."a""b_001_x" ON "a""b_001"(json_extract(doc, '$.it''s'))"#)
        XCTAssertEqual(ShardSchema.pathIndexExpression("$.it's"), "(json_extract(doc, '$.it''s'))")
    }

    func testPathIndexNames() {
        XCTAssertEqual(ShardSchema.pathIndexName(table: "ev_001", column: "type", path: "$.type"), "ev_001_type")
        XCTAssertEqual(ShardSchema.pathIndexName(table: "ev_001", column: nil, path: "$.type"),
                       "ev_001_p" + CategoryName.fnv1a64Hex("$.type"))
        XCTAssertNotEqual(ShardSchema.pathIndexName(table: "ev_001", column: nil, path: "$.a"),
                          ShardSchema.pathIndexName(table: "ev_001", column: nil, path: "$.b"))
    }

    func testDrops() {
        XCTAssertEqual(ShardSchema.dropIfExists(schema: "main", table: "ev_001-z"), #"DROP TABLE IF EXISTS "main"."ev_001-z";"#)
        XCTAssertEqual(ShardSchema.drop(schema: "main", table: "ev_001"), #"DROP TABLE "main"."ev_001";"#)
    }

    func testBlockTable() {
        let create = ShardSchema.createBlocks(schema: "main", blocks: "ev_001-z")
        XCTAssertTrue(create.hasPrefix(#"CREATE TABLE "main"."ev_001-z"(block INTEGER PRIMARY KEY, "#))
        // Every column the insert names is declared, in that order.
        var rest = Substring(create)
        for column in ShardSchema.blockColumns {
            guard let r = rest.range(of: column + " ") else { return XCTFail("\(column) not declared in order") }
            rest = rest[r.upperBound...]
        }
        XCTAssertEqual(ShardSchema.insertBlock(schema: "main", blocks: "ev_001-z"),
                       #"INSERT INTO "main"."ev_001-z"(first_id, last_id, min_ts, max_ts, rows, keys, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"#)
        XCTAssertEqual(ShardSchema.createBlockRanges(schema: "main", blocks: "ev_001-z"),
                       #"CREATE INDEX "main"."ev_001-z-ts" ON "ev_001-z"(min_ts, max_ts, first_id, last_id)"#)
        XCTAssertEqual(ShardSchema.blockTotals(schema: "main", blocks: "ev_001-z"),
                       #"SELECT coalesce(sum(rows), 0), min(first_id), max(last_id), min(min_ts), max(max_ts) FROM "main"."ev_001-z""#)
    }

    func testArchiveOwner() {
        XCTAssertEqual(ShardSchema.createArchiveOwner,
                       #"CREATE TABLE "main".shards_owner(key TEXT PRIMARY KEY, value TEXT)"#)
    }
}
