import CSQLite
import XCTest

/// That each pushdown really happens: the shards a query visits and the SQL run in
/// each (from shards_explain), the shard's own plan, and statements reused.
final class RoutingTests: XCTestCase {
    var db: TestDatabase!

    /// 12 months of 1970 (t = day * 86400000), categories a/b, max_rows 10: several shards
    /// a month, left unmerged (MergeTests covers merged ones).
    override func setUpWithError() throws {
        db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(time = '$.t', time_unit = ms, category = '$.c', max_rows = 10, merge = none,
                                                index = '$.k', index = 'user: $.u.id');
            INSERT INTO e(doc) SELECT json_object('t', value * 86400000, 'c', CASE value % 2 WHEN 0 THEN 'a' ELSE 'b' END,
                                                  'k', 'k' || (value % 7), 'u', json_object('id', value % 13), 'n', value)
                               FROM \(series(0, 364));
            """)
    }

    /// shards_explain's lines: "scan: V of N shards[, S skipped by summary]", then one
    /// line per shard visited.
    func explain(_ sql: String) throws -> (visited: Int, total: Int, shardSQL: [String], skipped: Int) {
        let text = try db.text("SELECT shards_explain('e', ?)", [.text(sql)]) ?? ""
        let lines = text.split(separator: "\n").map(String.init)
        let scan = lines.first { $0.hasPrefix("scan: ") }!.split(separator: " ")
        let skipped = scan.count > 6 ? Int(scan[5])! : 0
        return (Int(scan[1])!, Int(scan[3].trimmingCharacters(in: [","]))!, lines.filter { $0.hasPrefix("  ") }, skipped)
    }

    func shardCount() throws -> Int { Int(try db.int("SELECT count(*) FROM shard_list('e')")) }

    func testTimeRangesPruneToTheirPeriods() throws {
        let total = try shardCount()
        let march = try db.int("SELECT count(*) FROM shard_list('e') WHERE shard LIKE 'e:_:1970:03:%'")
        let r = try explain("SELECT count(*) FROM e WHERE ts >= 5097600000 AND ts < 7776000000")  // March 1970
        XCTAssertEqual(r.total, total)
        XCTAssertEqual(Int64(r.visited), march)
        XCTAssertLessThan(r.visited, total / 6)
        // Every row of these shards is inside the range: their SQL drops the ts terms.
        XCTAssertTrue(r.shardSQL.allSatisfy { $0.contains("-1970-03-") && !$0.contains("WHERE") }, "\(r.shardSQL)")
        // A shard the range cuts through keeps the term of the end that cuts it, and
        // only that one: its span lies inside the other end.
        let cut = try explain("SELECT count(*) FROM e WHERE ts >= 6048000000 AND ts < 7776000000")  // from March 11
        XCTAssertTrue(cut.shardSQL.contains { $0.hasSuffix("WHERE ts >= +?1") }, "\(cut.shardSQL)")
        XCTAssertFalse(cut.shardSQL.contains { $0.contains("ts < +?2") }, "\(cut.shardSQL)")
        XCTAssertTrue(cut.shardSQL.contains { !$0.contains("WHERE") }, "\(cut.shardSQL)")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE ts >= 6048000000 AND ts < 7776000000"), 20)
        // Within a period, the catalog's time bounds of each shard prune further.
        XCTAssertEqual(try explain("SELECT * FROM e WHERE ts BETWEEN 5097600000 AND 5097600001").visited, 1)
        XCTAssertEqual(try explain("SELECT * FROM e WHERE ts = 5097600000").visited, 1)
        XCTAssertEqual(try explain("SELECT * FROM e WHERE ts IN (5097600000, 0)").visited, 2)
        XCTAssertEqual(try explain("SELECT * FROM e WHERE ts > 99999999999999").visited, 0)
    }

    func testShardKeysPrune() throws {
        XCTAssertEqual(try explain("SELECT * FROM e WHERE shard = 'e:a:1970:03:001'").visited, 1)
        XCTAssertEqual(try explain("SELECT * FROM e WHERE shard IN ('e:a:1970:03:001', 'e:b:1970:04:002', 'nope')").visited, 2)
        let aMarch = try db.int("SELECT count(*) FROM shard_list('e') WHERE shard LIKE 'e:a:1970:03:%'")
        XCTAssertEqual(Int64(try explain("SELECT * FROM e WHERE shard LIKE 'e:a:1970:03:%'").visited), aMarch)
        XCTAssertEqual(Int64(try explain("SELECT * FROM e WHERE shard LIKE 'E:A:1970:03:%'").visited), aMarch)  // LIKE ignores case
        XCTAssertEqual(Int64(try explain("SELECT * FROM e WHERE shard GLOB 'e:a:1970:03:*'").visited), aMarch)
        XCTAssertEqual(try explain("SELECT * FROM e WHERE shard GLOB 'E:a:1970:03:*'").visited, 0)          // GLOB does not
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE shard LIKE 'e:a:1970:03:%'"),
                       try db.int("SELECT count(*) FROM e WHERE ts >= 5097600000 AND ts < 7776000000 AND json_extract(doc, '$.c') = 'a'"))
    }

    func testIdsGoStraightToTheirShard() throws {
        let ids = try db.query("SELECT id FROM e WHERE json_extract(doc, '$.n') IN (10, 200)").map { $0[0].int! }
        let one = try explain("SELECT doc FROM e WHERE id = \(ids[0])")
        XCTAssertEqual(one.visited, 1)
        XCTAssertTrue(one.shardSQL[0].contains("WHERE id = +?1"))
        XCTAssertEqual(try explain("SELECT doc FROM e WHERE id IN (\(ids[0]), \(ids[1]))").visited, 2)
        XCTAssertEqual(try explain("SELECT doc FROM e WHERE rowid = \(ids[1])").visited, 1)
        XCTAssertEqual(try explain("SELECT doc FROM e WHERE id >= \(ids[1]) AND id <= \(ids[1] | 0xFFFFFFFFFF)").visited, 1)
        XCTAssertEqual(try db.query("SELECT json_extract(doc, '$.n') FROM e WHERE id = ?", [.int(ids[1])]), [[.int(200)]])
    }

    func testIndexedColumnsRunInsideEachShardOnItsIndex() throws {
        let r = try explain("SELECT id FROM e WHERE k = 'k3' AND user IN (1, 2)")
        // Every shard but the newest of each line has a summary; those that hold no
        // user 1 or 2 are skipped, the rest visited.
        XCTAssertEqual(r.visited + r.skipped, r.total)
        XCTAssertGreaterThan(r.skipped, 0)
        let sql = r.shardSQL[0]
        XCTAssertTrue(sql.contains("json_extract(doc, '$.k') = +?1"), sql)
        XCTAssertTrue(sql.contains("json_extract(doc, '$.u.id') IN (+?2, +?3)"), sql)
        XCTAssertFalse(sql.contains(" doc FROM"), "doc is not read: \(sql)")
        // The shard's own planner answers from the functional index.
        let shardSQL = String(sql.split(separator: ": ", maxSplits: 1)[1])
        let plan = try db.query("EXPLAIN QUERY PLAN " + shardSQL, [.text("k3"), .int(1), .int(2)])
        XCTAssertTrue(plan.map { $0[3].text! }.joined().contains("USING INDEX"), "\(plan)")
        XCTAssertTrue(try explain("SELECT id FROM e WHERE k IS NULL").shardSQL[0].contains("json_extract(doc, '$.k') IS NULL"))
        // Not pushed with another collation: SQLite must compare.
        XCTAssertFalse(try explain("SELECT id FROM e WHERE k = 'K3' COLLATE NOCASE").shardSQL[0].contains("WHERE"))
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE k = 'K3' COLLATE NOCASE"), try db.int("SELECT count(*) FROM e WHERE k = 'k3'"))
    }

    func testQueryDocumentsUseIndexesIncludingLaterOnes() throws {
        let doc = "{\"n\": {\"$gte\": 100, \"$lt\": 110}, \"c\": \"a\"}"
        let r = try explain("SELECT count(*) FROM e('\(doc)')")
        XCTAssertTrue(r.shardSQL[0].contains("(json_extract(doc, '$.n') >= +?1)"), r.shardSQL[0])
        XCTAssertEqual(try db.int("SELECT count(*) FROM e('\(doc)')"), 5)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE filter = ?", [.text(doc)]), 5)
        XCTAssertEqual(try db.int("SELECT ensure_json_index('e', '$.n')"), Int64(try shardCount()))
        let shardSQL = String(try explain("SELECT count(*) FROM e('\(doc)')").shardSQL[0].split(separator: ": ", maxSplits: 1)[1])
        let plan = try db.query("EXPLAIN QUERY PLAN " + shardSQL, [.int(100), .int(110), .text("a")])
        XCTAssertTrue(plan.map { $0[3].text! }.joined().contains("USING INDEX"), "\(plan)")
        db.expectError("SELECT count(*) FROM e('{\"n\": {\"$near\": 1}}')", contains: "unknown operator")
        db.expectError("SELECT count(*) FROM e('{\"n\": ')", contains: "bad query document")
        // Under OR, SQLite runs one scan per side (MULTI-INDEX OR), each applying its
        // document, even where a full scan would look cheaper.
        for other in ["k = 'k2'", "ts < 0", "id = 5", "user >= 12", "k IN ('k3', 'k4')"] {
            XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE filter = '{\"k\":\"k1\"}' OR \(other)"),
                           try db.int("SELECT count(*) FROM e WHERE json_extract(doc, '$.k') = 'k1' OR \(other)"), other)
        }
        // Without a document, filter reads NULL (Datasette selects every column).
        XCTAssertEqual(try db.query("SELECT filter, k FROM e WHERE k = 'k1' LIMIT 1"), [[.null, .text("k1")]])
        XCTAssertEqual(try db.query("SELECT filter FROM e('{\"k\":\"k1\"}') LIMIT 1"), [[.text("{\"k\":\"k1\"}")]])
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE filter IS NOT NULL"), 0)
        // Where SQLite cannot hand the document over (NOT, or an OR with a branch that
        // is not a column compared with a value) it compares as that NULL, as in a
        // plain table: the README says to write such conditions inside the document.
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE NOT (filter = '{\"k\":\"k1\"}')"), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE filter = '{\"k\":\"k1\"}' OR json_extract(doc, '$.n') >= 360"), 5)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE filter = '{\"k\":\"k1\"}' OR k IS NULL"), 0)
        // Negations of a document cannot be handed over: refused, not answered as NULL.
        for negation in ["filter != '{}'", "filter IS NOT '{}'", "filter IS '{}'"] {
            db.expectError("SELECT count(*) FROM e WHERE \(negation)", contains: "put $ne or $nin inside the document")
        }
    }

    func testOrderByIsConsumedAndLimitStopsEarly() throws {
        for (order, expected) in [("ts DESC", "u"), ("ts", "t"), ("ts, id", "t"), ("id DESC", "d"), ("rowid", "a")] {
            let plan = try db.query("EXPLAIN QUERY PLAN SELECT id FROM e ORDER BY \(order) LIMIT 5").map { $0[3].text! }
            XCTAssertFalse(plan.joined().contains("TEMP B-TREE"), "\(order): \(plan)")
            XCTAssertTrue(plan.joined().contains("|\(expected)|"), "\(order): \(plan)")
        }
        XCTAssertEqual(try db.query("SELECT json_extract(doc, '$.n') FROM e ORDER BY ts DESC LIMIT 3"), [[.int(364)], [.int(363)], [.int(362)]])
        XCTAssertEqual(try db.query("SELECT json_extract(doc, '$.n') FROM e WHERE k = 'k0' ORDER BY ts LIMIT 2 OFFSET 1"), [[.int(7)], [.int(14)]])
        // Reading stops once LIMIT rows are out: only the newest group of shards is opened.
        let r = try explain("SELECT id FROM e ORDER BY ts DESC LIMIT 3")
        XCTAssertEqual(r.shardSQL.count, 2, "\(r.shardSQL)")
        XCTAssertTrue(r.shardSQL.allSatisfy { $0.contains("ORDER BY ts DESC, id DESC") })
    }

    /// A scan closed while a group still had shards open returns each statement to
    /// the cache once: the statement of a shard that had already ended went back a
    /// second time, and two cursors of one shape then shared it.
    func testAScanClosedEarlyReturnsEachStatementOnce() throws {
        // Days 0..19 are shards a (even days) and b (odd days), merged in one group:
        // a ends at day 18, before SQLite stops at 20 rows (the LIMIT is its own, not
        // pushed into the scan) and closes the scan.
        let shape = "SELECT i.id FROM e AS i WHERE i.ts >= %@ ORDER BY ts"
        XCTAssertEqual(try db.int("SELECT count(*) FROM (\(shape.replacingOccurrences(of: "%@", with: "0")) LIMIT 20)"), 20)
        // That shape twice at once: the outer scan stays open while the inner one runs
        // for each of its rows (`o.id + 0 > 0` keeps the outer LIMIT out of the scan, so
        // both run the same shard SQL; it bounds the outer scan should it start again).
        let inner = shape.replacingOccurrences(of: "%@", with: "o.ts")
        let rows = try db.query("""
            SELECT o.id, (SELECT count(*) FROM (\(inner) LIMIT 20)) FROM e AS o WHERE o.ts >= 0 AND o.id + 0 > 0 ORDER BY ts LIMIT 400
            """)
        XCTAssertEqual(rows.map { $0[0].int! }, try db.query("SELECT id FROM e ORDER BY ts").map { $0[0].int! })
        XCTAssertEqual(rows.map { $0[1].int! }, (0..<365).map { Int64(min(20, 365 - $0)) })
    }

    func testShardStatementsArePreparedOnceAndReused() throws {
        func statements() -> Int {
            var n = 0
            var s = sqlite3_next_stmt(db.handle, nil)
            while s != nil { n += 1; s = sqlite3_next_stmt(db.handle, s) }
            return n
        }
        let q = "SELECT count(*) FROM e WHERE k = ? AND ts > ?"
        // Summaries skip different shards for different values: visit them all once.
        for i in 0..<7 { try db.exec(q, [.text("k\(i)"), .int(0)]) }
        let after = statements()
        for i in 0..<50 { try db.exec(q, [.text("k\(i % 7)"), .int(Int64(i))]) }
        XCTAssertEqual(statements(), after, "a repeated query must reuse its shard statements")
        XCTAssertGreaterThanOrEqual(after, try shardCount(), "one cached statement per shard visited")
    }
}
