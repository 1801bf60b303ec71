import XCTest

/// Ordered reads of compressed shards: `ORDER BY ts|id [DESC] LIMIT n` decompresses
/// only the blocks it needs, in that order, and answers like an uncompressed table.
final class CompressedOrderTests: XCTestCase {
    var db: TestDatabase!
    /// 2025-01-01T00:00Z.
    let t0: Int64 = 1735689600000
    let count = 30_000

    /// A January of 30,000 documents arriving in time order (three at a time, so ts
    /// ties) from its third day, with late documents: one in 150 an hour to two days late, three of them
    /// five days late, and one document of a type no other holds. A copy in a plain
    /// table, then January compressed (30 blocks).
    override func setUpWithError() throws {
        db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(partition = month, time = '$.t', index = '$.type',
                                                index = 'user: $.user.id integer');
            INSERT INTO e(doc) SELECT json_object(
                't', \(t0) + (value / 3) * 216000 + 3 * 86400000
                     - CASE WHEN value IN (18000, 27000, 29000) THEN 5 * 86400000
                            WHEN value % 150 = 7 THEN ((value * 7919) % 48 + 1) * 3600000 ELSE 0 END,
                'type', CASE WHEN value = 12345 THEN 'rare' ELSE 'type' || (value % 20) END,
                'user', json_object('id', value % 500), 'n', value)
              FROM \(series(0, count - 1));
            CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER, doc TEXT, type, user INTEGER);
            INSERT INTO plain SELECT id, ts, doc, type, user FROM e;
            CREATE INDEX plain_ts ON plain(ts);
            """)
        XCTAssertEqual(try db.int("SELECT shard_compress('e', '2025-02-01')"), Int64(count))
        XCTAssertEqual(try db.int("SELECT count(*) FROM \"e_2025-01-001-z\""), 30)
    }

    /// The lines of shards_explain for `sql`, and the blocks it decompressed.
    func blocksDecompressed(_ sql: String) throws -> Int {
        let text = try db.text("SELECT shards_explain('e', ?)", [.text(sql)]) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("blocks decompressed: ") }) else { return 0 }
        return Int(line.dropFirst("blocks decompressed: ".count))!
    }

    func testOrderedLimitDecompressesFewBlocks() throws {
        let january = "FROM e WHERE ts < 1738368000000"
        for order in ["ts", "ts DESC", "id", "id DESC"] {
            let n = try blocksDecompressed("SELECT id, ts, doc FROM e ORDER BY \(order) LIMIT 5")
            XCTAssertGreaterThan(n, 0, order)
            // The first block in ts order, and the blocks of late documents its range meets.
            XCTAssertLessThanOrEqual(n, 3, order)
            XCTAssertLessThanOrEqual(try blocksDecompressed("SELECT id \(january) ORDER BY \(order) LIMIT 5 OFFSET 990"), 4, order)
        }
        // Within a ts range, from its start: the block there, and the later blocks whose
        // late documents (up to two days, a block holds 20 hours) reach back into it.
        XCTAssertLessThanOrEqual(try blocksDecompressed("SELECT id FROM e WHERE ts >= \(t0 + 86_400_000 * 12) ORDER BY ts LIMIT 10"), 4)
        XCTAssertLessThanOrEqual(try blocksDecompressed("SELECT id FROM e WHERE ts < \(t0 + 86_400_000 * 12) ORDER BY ts DESC LIMIT 10"), 4)
        // An indexed condition met by one document in twenty: the first blocks still hold enough.
        XCTAssertLessThanOrEqual(try blocksDecompressed("SELECT id FROM e WHERE type = 'type3' ORDER BY ts DESC LIMIT 5"), 3)
        // Reading everything in order decompresses each block once.
        XCTAssertEqual(try blocksDecompressed("SELECT id FROM e ORDER BY ts"), 30)
        XCTAssertEqual(try blocksDecompressed("SELECT id FROM e ORDER BY id DESC"), 30)
    }

    /// Equality on an indexed path: the block filters skip blocks without the value
    /// unread, in any order.
    func testEqualityUsesTheBlockFilters() throws {
        XCTAssertEqual(try db.query("SELECT json_extract(doc, '$.n') FROM e WHERE type = 'rare'"), [[.int(12345)]])
        XCTAssertEqual(try blocksDecompressed("SELECT id FROM e WHERE type = 'rare'"), 1)
        XCTAssertEqual(try blocksDecompressed("SELECT id FROM e WHERE type = 'rare' ORDER BY ts DESC"), 1)
        XCTAssertEqual(try blocksDecompressed("SELECT id FROM e WHERE type = 'rare' ORDER BY id LIMIT 3"), 1)
        // The filters are read before the blocks' data: only the block that may hold it is read at all.
        let trace = try db.text("SELECT shards_explain('e', ?)", [.text("SELECT id FROM e WHERE type = 'rare'")]) ?? ""
        XCTAssertEqual(trace.split(separator: "\n").filter { $0.contains(" (block ") }.count, 1, trace)
        // A value no block holds: none.
        XCTAssertEqual(try blocksDecompressed("SELECT id FROM e WHERE user = 99999 ORDER BY ts"), 0)
    }

    /// Answers equal the plain table's, ties on ts ordered by id, with the block index
    /// and without it (shards compressed before it existed), and with rows of the
    /// compressed month written since (a live shard whose range overlaps the blocks').
    func testOrderedReadsAnswerLikeThePlainTable() throws {
        try compareOrderedQueries()
        try db.exec("""
            INSERT INTO e(doc) VALUES ('{"t": \(t0 + 3_600_000), "type": "type3", "user": {"id": 7}}'),
                                      ('{"t": \(t0 + 86_400_000 * 15), "type": "rare", "user": {"id": 8}}'),
                                      ('{"t": \(t0 + 86_400_000 * 31 - 1), "type": "type4", "user": {"id": 9}}');
            INSERT INTO plain SELECT id, ts, doc, type, user FROM e WHERE id > (SELECT max(id) FROM plain);
            """)
        XCTAssertEqual(try db.query("SELECT shard, state FROM shard_list('e') ORDER BY 1"),
                       [[.text("e:2025:01:001"), .text("compressed")], [.text("e:2025:01:002"), .text("sealed")]])
        try compareOrderedQueries()
        try db.exec("DROP INDEX \"e_2025-01-001-z-ts\"")
        db = try TestDatabase(path: db.path)
        try compareOrderedQueries()
    }

    func compareOrderedQueries() throws {
        let orders = [("ts", "ts, id"), ("ts DESC", "ts DESC, id DESC"), ("id", "id"), ("id DESC", "id DESC")]
        let day: Int64 = 86_400_000
        let conditions = ["", "WHERE ts >= \(t0 + 10 * day) AND ts < \(t0 + 10 * day + 7_200_000)",
                          "WHERE ts BETWEEN \(t0 - day) AND \(t0 + 2 * day)", "WHERE ts > \(t0 + 24 * day)",
                          "WHERE type = 'type3'", "WHERE type = 'rare'", "WHERE user < 40 AND ts < \(t0 + 20 * day)",
                          "WHERE type IN ('type1', 'type2') AND id > 1099511640000",
                          "WHERE json_extract(doc, '$.n') % 97 = 0"]
        let limits = ["", " LIMIT 1", " LIMIT 5", " LIMIT 37 OFFSET 3", " LIMIT 10 OFFSET 995", " LIMIT 2000"]
        for (order, plainOrder) in orders {
            for condition in conditions {
                for limit in limits {
                    let collection = "SELECT id, ts, doc FROM e \(condition) ORDER BY \(order)\(limit)"
                    let plain = "SELECT id, ts, doc FROM plain \(condition) ORDER BY \(plainOrder)\(limit)"
                    let a = try db.query(collection), b = try db.query(plain)
                    XCTAssertEqual(a.count, b.count, collection)
                    if a != b {
                        XCTFail("differs: \(collection)")
                        return
                    }
                }
            }
        }
    }
}
