import XCTest

/// Merging finished shards (README, "Merging finished shards") and skipping shards by their summaries (README, "Reads and routing": summaries):
/// what the catalog, ids, keys and reads see, against the same rows in a plain table.
final class MergeTests: XCTestCase {
    let hour: Int64 = 3_600_000
    let day: Int64 = 86_400_000

    /// Hourly shards over `days` days from 2024-01-01, a few rows an hour, one late
    /// row an hour arriving in the next hour; then the plain table gets the same.
    func load(_ db: TestDatabase, options: String, days: Int) throws {
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(partition = hour, time = '$.t', index = '$.k', index = 'u: $.u', \(options));
            CREATE TABLE plain(id INTEGER PRIMARY KEY, ts, doc, k, u);
            """)
        let t0: Int64 = 1_704_067_200_000
        try db.exec("BEGIN")
        for h in 0..<(days * 24) {
            let base = t0 + Int64(h) * hour
            for i in 0..<3 {
                try db.exec("INSERT INTO e(doc) VALUES (json_object('t', ?1, 'k', ?2, 'u', ?3))",
                            [.int(base + Int64(i) * 1000), .text("k\((h + i) % 5)"), .int(Int64(h * 3 + i))])
            }
            if h > 0 {   // late: belongs to the hour before
                try db.exec("INSERT INTO e(doc) VALUES (json_object('t', ?1, 'k', 'late', 'u', ?2))",
                            [.int(base - 1), .int(Int64(-h))])
            }
        }
        try db.exec("COMMIT")
    }

    func copyToPlain(_ db: TestDatabase) throws {
        try db.exec("DELETE FROM plain; INSERT INTO plain SELECT id, ts, doc, k, u FROM e")
    }

    func sameAnswers(_ db: TestDatabase, _ queries: [(String, String)], file: StaticString = #filePath, line: UInt = #line) throws {
        for (c, p) in queries {
            XCTAssertEqual(try db.query(c), try db.query(p), "\(c)", file: file, line: line)
        }
    }

    var queries: [(String, String)] {
        [("SELECT id, ts, doc FROM e ORDER BY id", "SELECT id, ts, doc FROM plain ORDER BY id"),
         ("SELECT id FROM e ORDER BY id DESC LIMIT 7", "SELECT id FROM plain ORDER BY id DESC LIMIT 7"),
         ("SELECT id, ts FROM e ORDER BY ts, id LIMIT 50", "SELECT id, ts FROM plain ORDER BY ts, id LIMIT 50"),
         ("SELECT id, ts FROM e ORDER BY ts DESC, id DESC LIMIT 50", "SELECT id, ts FROM plain ORDER BY ts DESC, id DESC LIMIT 50"),
         ("SELECT count(*), sum(u) FROM e WHERE k = 'late'", "SELECT count(*), sum(u) FROM plain WHERE k = 'late'"),
         ("SELECT id FROM e WHERE u = 77", "SELECT id FROM plain WHERE u = 77"),
         ("SELECT id FROM e WHERE u IN (5, -9, 100000) ORDER BY id", "SELECT id FROM plain WHERE u IN (5, -9, 100000) ORDER BY id"),
         ("SELECT count(*) FROM e WHERE u > 200", "SELECT count(*) FROM plain WHERE u > 200"),
         ("SELECT count(*) FROM e WHERE u BETWEEN -3 AND 4", "SELECT count(*) FROM plain WHERE u BETWEEN -3 AND 4"),
         ("SELECT count(*) FROM e('{\"k\":\"k2\",\"u\":{\"$lt\":40}}')", "SELECT count(*) FROM plain WHERE k = 'k2' AND u < 40"),
         ("SELECT count(*) FROM e WHERE u IS NULL", "SELECT count(*) FROM plain WHERE u IS NULL"),
         ("SELECT id FROM e WHERE id IN (SELECT id FROM plain WHERE u % 17 = 0) ORDER BY id",
          "SELECT id FROM plain WHERE u % 17 = 0 ORDER BY id")]
    }

    func testAutoMergeFoldsFinishedHoursIntoDaysAndDaysIntoMonthsKeepingIds() throws {
        let db = try TestDatabase()
        try load(db, options: "", days: 40)   // January and 9 days of February
        let keys = Set(try db.query("SELECT shard FROM shard_list('e')").map { $0[0].text! })
        XCTAssertTrue(keys.contains("e:2024:01:000"), "January merged into one table: \(keys.sorted())")
        XCTAssertTrue(keys.contains("e:2024:02:08:000"), "finished days of February merged into their day")
        XCTAssertFalse(keys.contains { $0.hasPrefix("e:2024:01:") && $0 != "e:2024:01:000" })
        XCTAssertLessThan(keys.count, 40, "tens of tables, not \(40 * 24)")
        // No table of a merged shard is left without rows to hold; ids name their table.
        // Emptied tables of merged shards wait to be reused by new shards (a month's worth at most).
        let tables = try db.int("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name GLOB 'e_2*'")
        XCTAssertLessThan(tables, 100)
        try copyToPlain(db)
        XCTAssertEqual(try db.int("SELECT count(*) FROM plain"), 40 * 24 * 4 - 1)
        try sameAnswers(db, queries)
        // Without ORDER BY a full scan still comes out in id order (tables by their lowest id).
        XCTAssertEqual(try db.query("SELECT id, doc FROM e"), try db.query("SELECT id, doc FROM plain ORDER BY id"))
        // The shard column is the key of the table holding the row now.
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE shard = 'e:2024:01:000'"), 31 * 24 * 4)
        // Ids go straight to the merged table: delete and update by id.
        let id = try db.int("SELECT id FROM e WHERE u = 10")
        try db.exec("UPDATE e SET doc = json_set(doc, '$.k', 'changed') WHERE id = ?", [.int(id)])
        try db.exec("UPDATE plain SET doc = json_set(doc, '$.k', 'changed'), k = 'changed' WHERE id = ?", [.int(id)])
        XCTAssertEqual(try db.query("SELECT shard, k FROM e WHERE id = ?", [.int(id)]), [[.text("e:2024:01:000"), .text("changed")]])
        try db.exec("DELETE FROM e WHERE u = 11; DELETE FROM plain WHERE u = 11")
        // An update may not move a document to another hour, merged or not.
        db.expectError("UPDATE e SET doc = json_set(doc, '$.t', 1704240000000) WHERE id = \(id)", contains: "another period")
        try sameAnswers(db, queries)
    }

    func testShardMergeOnDemandAndLateRowsOfMergedPeriods() throws {
        let db = try TestDatabase()
        try load(db, options: "merge = none", days: 3)
        let before = try db.query("SELECT id, doc FROM e ORDER BY id")
        XCTAssertEqual(try db.int("SELECT count(*) FROM shard_list('e')"), 72)
        // Merges what finished before 2024-01-03: days 1 and 2 (their hours), not day 3.
        XCTAssertEqual(try db.int("SELECT shard_merge('e', '2024-01-03')"), 48 * 4)
        XCTAssertEqual(try db.query("SELECT shard, rows FROM shard_list('e') WHERE shard LIKE '%:000'"),
                       [[.text("e:2024:01:01:000"), .int(24 * 4)], [.text("e:2024:01:02:000"), .int(24 * 4)]])
        XCTAssertEqual(try db.int("SELECT count(*) FROM shard_list('e')"), 2 + 24)
        XCTAssertEqual(try db.query("SELECT id, doc FROM e ORDER BY id"), before, "ids never change")
        XCTAssertEqual(try db.int("SELECT shard_merge('e', '2024-01-03')"), 0, "nothing is merged twice")
        // The merged shards' tables are gone (shard_merge runs as a statement of its own).
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name GLOB 'e_2024-01-0[12]-[0-9][0-9]-*' AND type = 'table'"), 0)
        // A late row for a merged day goes into the day's merged table: no new shard, nothing to merge.
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":1704070800000,\"k\":\"x\",\"u\":-1000}')")   // 01-01 01:00
        XCTAssertEqual(try db.text("SELECT shard FROM e WHERE u = -1000"), "e:2024:01:01:000")
        XCTAssertEqual(try db.int("SELECT count(*) FROM shard_list('e')"), 2 + 24)
        XCTAssertEqual(try db.int("SELECT shard_merge('e', '2024-01-03')"), 0)
        // Everything up to the month: days go into the month.
        XCTAssertEqual(try db.int("SELECT shard_merge('e', '2024-02-01')"), Int64(before.count) + 1)
        XCTAssertEqual(try db.query("SELECT shard FROM shard_list('e')"), [[.text("e:2024:01:000")]])
        XCTAssertEqual(try db.query("SELECT id, doc FROM e WHERE u != -1000 ORDER BY id"), before)
        db.expectError("SELECT shard_merge('nope', 0)", contains: "no such collection")
        db.expectError("SELECT shard_merge('e', 'soon')", contains: "bad time")
    }

    /// A connection that opens after the merges reads only the tables' catalog rows,
    /// not the merged shards': ids, late rows and buffered rows still find their way.
    func testAConnectionOpenedAfterMergesFindsMergedShardsInTheCatalogTable() throws {
        let db = try TestDatabase()
        try load(db, options: "merge = none", days: 3)
        XCTAssertEqual(try db.int("SELECT shard_merge('e', '2024-01-03')"), 48 * 4)
        try copyToPlain(db)
        let ids = try db.query("SELECT id FROM plain WHERE u IN (10, 11, 12) ORDER BY id").map { $0[0].int! }
        let other = try TestDatabase(path: db.path)
        try other.exec("CREATE TEMP TABLE probe(x)")   // reads the catalog at first use
        // Ids of merged hours go to their day's table: reads, updates, deletes.
        XCTAssertEqual(try other.query("SELECT shard FROM e WHERE id = ?", [.int(ids[0])]), [[.text("e:2024:01:01:000")]])
        XCTAssertEqual(try other.int("SELECT count(*) FROM e WHERE id IN (\(ids.map(String.init).joined(separator: ",")))"), 3)
        try other.exec("UPDATE e SET doc = json_set(doc, '$.k', 'changed') WHERE id = ?", [.int(ids[1])])
        try other.exec("DELETE FROM e WHERE id = ?", [.int(ids[2])])
        XCTAssertEqual(try other.query("SELECT id, k FROM e WHERE u IN (10, 11, 12) ORDER BY id"),
                       [[.int(ids[0]), .text("k4")], [.int(ids[1]), .text("changed")]])
        // A late row for an hour whose shards were all merged goes into its day's merged table.
        try other.exec("INSERT INTO e(doc) VALUES ('{\"t\":1704070800000,\"k\":\"x\",\"u\":-1000}')")   // 01-01 01:00
        XCTAssertEqual(try other.text("SELECT shard FROM e WHERE u = -1000"), "e:2024:01:01:000")
        // And one for an hour never written before starts its line.
        try other.exec("INSERT INTO e(doc) VALUES ('{\"t\":1706745600000,\"k\":\"x\",\"u\":-1001}')")   // 02-01 00:00
        XCTAssertEqual(try other.text("SELECT shard FROM e WHERE u = -1001"), "e:2024:02:01:00:001")
        // The first connection sees all of it once the catalog changed under it.
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), try db.int("SELECT count(*) FROM plain") - 1 + 2)
        XCTAssertEqual(try db.int("SELECT shard_merge('e', '2024-01-03')"), 0)
        XCTAssertEqual(try other.text("SELECT shard FROM e WHERE u = -1000"), "e:2024:01:01:000")
        // With the day's table compressed (it takes no rows), a late row for an hour whose
        // shards were all merged takes the next seq of that hour.
        XCTAssertGreaterThan(try other.int("SELECT shard_compress('e', '2024-01-02')"), 0)
        try other.exec("INSERT INTO e(doc) VALUES ('{\"t\":1704070800000,\"k\":\"y\",\"u\":-1003}')")   // 01-01 01:00
        XCTAssertEqual(try other.text("SELECT shard FROM e WHERE u = -1003"), "e:2024:01:01:01:002")
        // A merged shard's row edited by hand to a seq no key can follow is refused, not overflowed.
        try other.exec("UPDATE e_shards SET seq = 9223372036854775807 WHERE key = 'e:2024:01:01:02:001'")
        let third = try TestDatabase(path: db.path)
        third.expectError("INSERT INTO e(doc) VALUES ('{\"t\":1704074400000,\"k\":\"x\",\"u\":-1002}')",
                          contains: "catalog of 'e' is inconsistent: line e:2024:01:01:02 holds seq 9223372036854775807")
    }

    /// A line whose newest shard in memory is a compressed split, with later splits
    /// merged since: a new connection's late documents go into the merged table, and
    /// once that one has no ids left, into a shard that follows the merged ones' seqs.
    func testALateShardFollowsMergedSplitsAfterACompressedOne() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE ev USING shards(time = '$.ts', max_rows = 2)")
        try db.exec("INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-03-05\"}')")
        XCTAssertEqual(try db.int("SELECT shard_compress('ev', '2025-04-01')"), 1)
        for ts in ["2025-04-12", "2025-03-07", "2025-03-16", "2025-03-11"] {
            try db.exec("INSERT INTO ev(doc) VALUES (json_object('ts', ?))", [.text(ts)])
        }
        XCTAssertEqual(try db.int("SELECT shard_merge('ev', '2025-04-01')"), 3)
        XCTAssertEqual(try db.query("SELECT shard FROM shard_list('ev') WHERE shard LIKE 'ev:2025:03:%' ORDER BY shard"),
                       [[.text("ev:2025:03:000")], [.text("ev:2025:03:001")]])
        let other = try TestDatabase(path: db.path)
        // Late rows go into the merged table while it has ids of its own left (max_rows).
        for ts in ["2025-03-20", "2025-03-21"] {
            try other.exec("INSERT INTO ev(doc) VALUES (json_object('ts', ?))", [.text(ts)])
        }
        XCTAssertEqual(try other.text("SELECT shard FROM ev WHERE ts = 1742428800000"), "ev:2025:03:000")
        XCTAssertEqual(try other.text("SELECT shard FROM ev WHERE ts = 1742515200000"), "ev:2025:03:000")
        try other.exec("INSERT INTO ev(doc) VALUES ('{\"ts\":\"2025-03-22\"}')")
        XCTAssertEqual(try other.text("SELECT shard FROM ev WHERE ts = 1742601600000"), "ev:2025:03:004")
        XCTAssertEqual(try other.int("SELECT count(*) FROM ev"), 8)
    }

    func testMergeRowsCapsMergedTables() throws {
        let db = try TestDatabase()
        try load(db, options: "merge = none, merge_rows = 40", days: 2)
        XCTAssertGreaterThan(try db.int("SELECT shard_merge('e', '2024-01-03')"), 0)
        let merged = try db.query("SELECT shard, rows FROM shard_list('e') WHERE shard GLOB '*:000*' ORDER BY shard")
        XCTAssertEqual(merged.map { $0[0].text! }.prefix(3), ["e:2024:01:01:000", "e:2024:01:01:000b", "e:2024:01:01:000c"])
        XCTAssertTrue(merged.allSatisfy { $0[1].int! <= 40 }, "\(merged)")
        try copyToPlain(db)
        try sameAnswers(db, queries)
    }

    func testRetentionCompressionAndArchiveActOnMergedTables() throws {
        let db = try TestDatabase()
        try load(db, options: "", days: 35)
        try copyToPlain(db)
        XCTAssertEqual(try db.int("SELECT shard_compress('e', '2024-02-01')"), 31 * 24 * 4)
        XCTAssertEqual(try db.text("SELECT state FROM shard_list('e') WHERE shard = 'e:2024:01:000'"), "compressed")
        try sameAnswers(db, queries)
        XCTAssertEqual(try db.int("SELECT shard_drop('e', '2024-02-01')"), 31 * 24 * 4)
        try db.exec("DELETE FROM plain WHERE ts < 1706745600000")
        try sameAnswers(db, queries)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e_shards WHERE period LIKE '2024:01%'"), 0,
                       "a dropped merged table takes its merged shards' catalog rows along")
    }

    // MARK: - summaries

    func explain(_ db: TestDatabase, _ sql: String) throws -> String {
        try db.text("SELECT shards_explain('e', ?)", [.text(sql)]) ?? ""
    }

    func testSummariesSkipShardsAndStayCorrectUnderWrites() throws {
        let db = try TestDatabase()
        try db.exec("PRAGMA journal_mode = WAL")
        try load(db, options: "merge = none", days: 2)
        // u = 77 is in one shard only: every other sealed shard is skipped (the newest,
        // still written, has no summary and is always visited).
        let one = try explain(db, "SELECT id FROM e WHERE u = 77")
        XCTAssertTrue(one.hasPrefix("scan: 2 of 48 shards, 46 skipped by summary"), one)
        XCTAssertTrue(try explain(db, "SELECT id FROM e('{\"u\":{\"$in\":[77,78]}}')").contains("skipped by summary"))
        XCTAssertTrue(try explain(db, "SELECT id FROM e WHERE u > 1000").hasPrefix("scan: 1 of 48 shards, 47 skipped"),
                      "the newest shard has no summary: always visited")
        // A deleted value may still be listed: visited, and no row.
        try db.exec("DELETE FROM e WHERE u = 77")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 77"), 0)
        // An update brings a new value into a summarized shard: it must be found.
        let id = try db.int("SELECT id FROM e WHERE u = 5")
        try db.exec("UPDATE e SET doc = json_set(doc, '$.u', 123456) WHERE id = ?", [.int(id)])
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 123456"), 1)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u > 100000"), 1)
        // A rolled-back update leaves the old summary and the old value.
        let other = try db.int("SELECT id FROM e WHERE u = 20")
        try db.exec("BEGIN")
        try db.exec("UPDATE e SET doc = json_set(doc, '$.u', 654321) WHERE id = ?", [.int(other)])
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 654321"), 1, "a transaction reads its own writes")
        try db.exec("ROLLBACK")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 654321"), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 20"), 1)
        // A rolled-back insert of a late row into a sealed hour.
        try db.exec("BEGIN")
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":1704070800500,\"k\":\"x\",\"u\":777777}')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 777777"), 1)
        try db.exec("ROLLBACK")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 777777"), 0)
        // Another connection's write into a summarized shard is seen here.
        let b = try TestDatabase(path: db.path)
        try b.exec("INSERT INTO e(doc) VALUES ('{\"t\":1704070800600,\"k\":\"x\",\"u\":888888}')")   // hour 01 of day 1
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE u = 888888"), 1)
        let uid = try db.int("SELECT id FROM e WHERE u = 30")
        try b.exec("UPDATE e SET doc = json_set(doc, '$.k', 'zzz') WHERE id = ?", [.int(uid)])
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE k = 'zzz'"), 1)
        b.close()
        // ensure_json_index: the new path is summarized too, and skips.
        XCTAssertEqual(try db.int("SELECT ensure_json_index('e', '$.t')"), 48)
        XCTAssertTrue(try explain(db, "SELECT count(*) FROM e('{\"t\":1704067200000}')").contains("skipped by summary"))
        try copyToPlain(db)
        try sameAnswers(db, queries)
    }
}

extension MergeTests {
    /// A typed column compares with its affinity: summaries judge the converted value.
    func testSummariesOfTypedColumnsJudgeTheConvertedValue() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE t USING shards(partition = day, time = '$.t', index = 'n: $.n integer', merge = none)")
        try db.exec("INSERT INTO t(doc) SELECT json_object('t', 1704067200000 + value * 86400000, 'n', value) FROM \(series(0, 9))")
        let text = try db.text("SELECT shards_explain('t', 'SELECT id FROM t WHERE n = ''7''')") ?? ""
        XCTAssertTrue(text.hasPrefix("scan: 2 of 10 shards, 8 skipped by summary"), text)
        XCTAssertEqual(try db.int("SELECT count(*) FROM t WHERE n = '7'"), 1)
        XCTAssertEqual(try db.int("SELECT count(*) FROM t WHERE n IN ('7', 8)"), 2)
        XCTAssertEqual(try db.int("SELECT count(*) FROM t WHERE n > '8'"), 1)
    }
}
