import Foundation
import XCTest

/// Collections: options, keys, layout, splitting, persistence, teardown.
final class CollectionTests: XCTestCase {
    func schemaNames(_ db: TestDatabase) throws -> [String] {
        try db.query("SELECT name FROM sqlite_schema ORDER BY name").compactMap { $0[0].text }
    }

    func testLayoutKeysAndIds() throws {
        let db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE events USING shards(time = '$.ts', index = '$.type', index = 'user: $.user.id', max_rows = 2);
            INSERT INTO events(doc) VALUES ('{"ts":"2025-01-31T23:59:59.999Z","type":"a","user":{"id":7}}');
            INSERT INTO events(doc) VALUES ('{"ts":"2025-02-01T00:00:00Z","type":"b"}');
            INSERT INTO events(doc) VALUES ('{"ts":"2025-02-03T00:00:00+01:00","type":"c"}');
            INSERT INTO events(doc) VALUES ('{"ts":1738540800000,"type":"d"}');
            """)
        let rows = try db.query("SELECT id >> 40, id & 1099511627775, ts, shard, type, user FROM events ORDER BY id")
        XCTAssertEqual(rows, [
            [.int(1), .int(1), .int(1738367999999), .text("events:2025:01:001"), .text("a"), .int(7)],
            [.int(2), .int(1), .int(1738368000000), .text("events:2025:02:001"), .text("b"), .null],
            [.int(2), .int(2), .int(1738537200000), .text("events:2025:02:001"), .text("c"), .null],
            [.int(3), .int(1), .int(1738540800000), .text("events:2025:02:002"), .text("d"), .null],
        ])
        let names = try schemaNames(db)
        for n in ["events_config", "events_shards", "events_2025-01-001", "events_2025-02-001", "events_2025-02-002",
                  "events_2025-01-001_ts", "events_2025-01-001_type", "events_2025-01-001_user"] {
            XCTAssertTrue(names.contains(n), "missing \(n) in \(names)")
        }
        // The functional index uses exactly the expression queries use.
        let sql = try db.text("SELECT sql FROM sqlite_schema WHERE name = 'events_2025-02-002_user'")
        XCTAssertEqual(sql, "CREATE INDEX \"events_2025-02-002_user\" ON \"events_2025-02-002\"(json_extract(doc, '$.user.id'))")
        let plan = try db.query("EXPLAIN QUERY PLAN SELECT id FROM \"events_2025-02-001\" WHERE json_extract(doc, '$.type') = 'b'")
        XCTAssertTrue(plan.map { $0[3].text ?? "" }.joined().contains("events_2025-02-001_type"), "\(plan)")
    }

    func testKeysForEveryPartitionAndCategory() throws {
        let db = try TestDatabase()
        let t = "'{\"ts\":\"2025-01-15T13:45:00Z\",\"app\":\"billing\"}'"
        for (partition, key) in [("none", "c:001"), ("year", "c:2025:001"), ("month", "c:2025:01:001"),
                                 ("day", "c:2025:01:15:001"), ("hour", "c:2025:01:15:13:001")] {
            try db.exec("DROP TABLE IF EXISTS c; CREATE VIRTUAL TABLE c USING shards(partition = \(partition), time = '$.ts', time_unit = ms)")
            XCTAssertEqual(try db.text("SELECT shard_key('c', \(t))"), key)
            try db.exec("INSERT INTO c(doc) VALUES (\(t))")
            XCTAssertEqual(try db.text("SELECT shard FROM c"), key)
        }
        try db.exec("CREATE VIRTUAL TABLE cat USING shards(time = '$.ts', time_unit = ms, category = '$.app')")
        XCTAssertEqual(try db.text("SELECT shard_key('cat', \(t))"), "cat:billing:2025:01:001")
        // Unsafe and missing categories are encoded into safe, distinct keys.
        let odd = try db.text("SELECT shard_key('cat', '{\"ts\":0,\"app\":\"a b:c\"}')")!
        XCTAssertEqual(odd, "cat:~6120623a63:1970:01:001")
        XCTAssertEqual(try db.text("SELECT shard_key('cat', '{\"ts\":0}')"), "cat:~null:1970:01:001")
        try db.exec("INSERT INTO cat(doc) VALUES ('{\"ts\":0,\"app\":\"a b:c\"}')")
        XCTAssertEqual(try db.text("SELECT tbl FROM shard_list('cat')"), "cat_~6120623a63-1970-01-001")
    }

    func testSplitsAtMaxRowsAndIdsNameTheirShard() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(partition = none, max_rows = 10)")
        try db.exec("INSERT INTO e(doc) SELECT json_object('n', value) FROM \(series(1, 35))")
        let shards = try db.query("SELECT shard, rows, min_id, max_id FROM shard_list('e') ORDER BY shard")
        XCTAssertEqual(shards.map { $0[0].text! }, ["e:001", "e:002", "e:003", "e:004"])
        XCTAssertEqual(shards.map { $0[1].int! }, [10, 10, 10, 5])
        // Every row's id names its shard.
        XCTAssertEqual(try db.int("SELECT count(*) FROM e WHERE printf('e:%03d', id >> 40) != shard"), 0)
        XCTAssertEqual(try db.int("SELECT count(DISTINCT id) FROM e"), 35)
    }

    func testStatePersistsAcrossConnections() throws {
        let a = try TestDatabase()
        try a.exec("PRAGMA journal_mode = WAL")
        try a.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', time_unit = ms, max_rows = 2, index = '$.k', merge = none)")
        try a.exec("INSERT INTO e(doc) SELECT json_object('t', value * 86400000 * 20, 'k', value % 2) FROM \(series(0, 9))")
        let b = try TestDatabase(path: a.path)
        XCTAssertEqual(try b.int("SELECT count(*) FROM e"), 10)
        XCTAssertEqual(try b.query("SELECT shard, rows FROM shard_list('e')"), try a.query("SELECT shard, rows FROM shard_list('e')"))
        // b continues where a stopped: the split shard is not reused, ids stay unique.
        try b.exec("INSERT INTO e(doc) VALUES ('{\"t\":0,\"k\":1}')")
        XCTAssertEqual(try b.text("SELECT shard FROM e WHERE id = last_insert_rowid()"), "e:1970:01:002")
        // a sees b's new shard (another connection changed the catalog).
        XCTAssertEqual(try a.int("SELECT count(*) FROM e WHERE shard = 'e:1970:01:002'"), 1)
        try a.exec("INSERT INTO e(doc) VALUES ('{\"t\":1,\"k\":1}')")
        XCTAssertEqual(try a.int("SELECT count(DISTINCT id) FROM e"), 12)
        XCTAssertEqual(try b.int("SELECT rows FROM shard_list('e') WHERE shard = 'e:1970:01:002'"), 2)
        b.close()
        a.close()
        // And from a fresh process: the sqlite3 shell.
        let shell = try runCommand("/usr/bin/env", ["sqlite3", a.path, ".load \(String(extensionPath.dropLast(3)))",
                                                    "SELECT count(*), count(DISTINCT shard) FROM e;"])
        XCTAssertEqual(shell.out, "12|7\n", shell.err)
    }

    /// ensure_json_index with a name adds a column every connection sees from its next
    /// statement: one that had the collection connected, when every shard had the index
    /// already, and a fresh process. A ROLLBACK takes it back everywhere.
    func testAddedColumnIsSeenByEveryConnection() throws {
        let a = try TestDatabase()
        try a.exec("PRAGMA journal_mode = WAL")
        try a.exec("CREATE VIRTUAL TABLE e USING shards(partition = day, time = '$.t')")
        try a.exec("INSERT INTO e(doc) SELECT json_object('t', 1736935200000 + value * 86400000, 'country', "
                   + "CASE value % 2 WHEN 0 THEN 'fr' ELSE 'de' END, 'k', value) FROM \(series(0, 5))")
        XCTAssertEqual(try a.int("SELECT ensure_json_index('e', '$.country')"), 6)
        let b = try TestDatabase(path: a.path)
        XCTAssertEqual(try b.int("SELECT count(*) FROM e"), 6)
        b.expectError("SELECT country FROM e", contains: "no such column: country")
        // Every shard has the index: nothing is created, and the column still comes.
        XCTAssertEqual(try a.int("SELECT ensure_json_index('e', 'country: $.country')"), 0)
        XCTAssertEqual(try b.query("SELECT country, count(*) FROM e GROUP BY country ORDER BY 1"),
                       [[.text("de"), .int(3)], [.text("fr"), .int(3)]])
        XCTAssertEqual(try b.int("SELECT count(*) FROM e WHERE country = ?", [.text("fr")]), 3)
        XCTAssertEqual(try a.query("SELECT name FROM pragma_table_info('e')").compactMap { $0[0].text },
                       ["id", "ts", "shard", "doc", "country"])
        // In a transaction: the writer sees the column at once, others after COMMIT;
        // a ROLLBACK takes it back from both.
        try a.exec("BEGIN")
        XCTAssertEqual(try a.int("SELECT ensure_json_index('e', 'k: $.k integer')"), 6)
        XCTAssertEqual(try a.int("SELECT sum(k) FROM e"), 15)
        b.expectError("SELECT k FROM e", contains: "no such column: k")
        try a.exec("ROLLBACK")
        a.expectError("SELECT k FROM e", contains: "no such column: k")
        b.expectError("SELECT k FROM e", contains: "no such column: k")
        XCTAssertEqual(try a.int("SELECT ensure_json_index('e', 'k: $.k integer')"), 6)
        XCTAssertEqual(try b.int("SELECT count(*) FROM e WHERE k = '4'"), 1)
        // Inside a scan of the collection itself: the scan finishes, the next statement has the column.
        XCTAssertEqual(try a.query("SELECT ensure_json_index('e', 'm: $.m') FROM e LIMIT 2"), [[.int(6)], [.int(0)]])
        XCTAssertEqual(try a.int("SELECT count(*) FROM e WHERE m IS NULL"), 6)
        XCTAssertEqual(try b.int("SELECT count(*) FROM e WHERE m IS NULL"), 6)
        // New shards carry the index; b writes through its new layout.
        try b.exec("INSERT INTO e(doc) VALUES ('{\"t\":\"2025-03-01T00:00:00Z\",\"country\":\"it\",\"k\":9}')")
        XCTAssertEqual(try a.query("SELECT country, k FROM e WHERE ts >= 1740787200000"), [[.text("it"), .int(9)]])
        b.close()
        a.close()
        let shell = try runCommand("/usr/bin/env", ["sqlite3", a.path, ".load \(String(extensionPath.dropLast(3)))",
                                                    "SELECT group_concat(country, ',') FROM (SELECT country FROM e ORDER BY id);"])
        XCTAssertEqual(shell.out, "fr,de,fr,de,fr,de,it\n", shell.err)
    }

    func testDropTableRemovesEverything() throws {
        let db = try TestDatabase()
        let before = try schemaNames(db)
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(time = '$.t', time_unit = ms, index = '$.k', max_rows = 2);
            INSERT INTO e(doc) SELECT json_object('t', value * 40 * 86400000, 'k', value) FROM \(series(0, 9));
            SELECT ensure_json_index('e', '$.z');
            """)
        XCTAssertGreaterThan(try schemaNames(db).count, 20)
        try db.exec("DROP TABLE e")
        XCTAssertEqual(try schemaNames(db), before)
    }

    func testRollbackLeavesNoShardBehind() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', time_unit = ms, max_rows = 2)")
        let before = try schemaNames(db)
        try db.exec("BEGIN; INSERT INTO e(doc) SELECT json_object('t', value * 86400000 * 40) FROM \(series(0, 9));")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 10)
        try db.exec("ROLLBACK")
        XCTAssertEqual(try schemaNames(db), before)
        XCTAssertEqual(try db.int("SELECT count(*) FROM shard_list('e')"), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 0)
        // The collection keeps working after the rollback, from a clean catalog.
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":0}')")
        XCTAssertEqual(try db.query("SELECT shard, rows FROM shard_list('e')"), [[.text("e:1970:01:001"), .int(1)]])
    }

    func testSavepointRollbackKeepsCountersRight() throws {
        let db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(partition = none, max_rows = 4);
            BEGIN;
            INSERT INTO e(doc) SELECT '{}' FROM \(series(1, 3));
            SAVEPOINT s;
            INSERT INTO e(doc) SELECT '{}' FROM \(series(1, 3));
            ROLLBACK TO s;
            RELEASE s;
            INSERT INTO e(doc) VALUES ('{}');
            COMMIT;
            """)
        XCTAssertEqual(try db.query("SELECT shard, rows FROM shard_list('e')"), [[.text("e:001"), .int(4)]])
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 4)
        // A failing statement inside a transaction undoes only itself.
        try db.exec("BEGIN")
        db.expectError("INSERT INTO e(doc) VALUES ('{}'), ('[1]')", contains: "JSON object")
        try db.exec("INSERT INTO e(doc) VALUES ('{}'); COMMIT")
        XCTAssertEqual(try db.query("SELECT shard, rows FROM shard_list('e')"),
                       [[.text("e:001"), .int(4)], [.text("e:002"), .int(1)]])
    }

    func testEnsureJSONIndex() throws {
        let db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(partition = none, max_rows = 2, index = '$.k');
            INSERT INTO e(doc) SELECT json_object('k', value, 'z', value * 2) FROM \(series(1, 5));
            """)
        XCTAssertEqual(try db.int("SELECT ensure_json_index('e', '$.z')"), 3)
        XCTAssertEqual(try db.int("SELECT ensure_json_index('e', '$.z')"), 0)
        XCTAssertEqual(try db.int("SELECT ensure_json_index('e', '$.k')"), 0)
        // Future shards get it too.
        try db.exec("INSERT INTO e(doc) SELECT json_object('k', value) FROM \(series(1, 3))")
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND sql LIKE '%json_extract(doc, ''$.z'')%'"), 4)
        // And it persists for other connections.
        let b = try TestDatabase(path: db.path)
        try b.exec("INSERT INTO e(doc) SELECT json_object('k', value) FROM \(series(1, 2))")
        XCTAssertEqual(try b.int("SELECT ensure_json_index('e', '$.z')"), 0)
        db.expectError("SELECT ensure_json_index('e', '$.a b')", contains: "bad JSON path")
        db.expectError("SELECT ensure_json_index('nope', '$.a')", contains: "no such collection: nope")
    }

    func testJSONBCollectionRefusedByOlderSQLite() throws {
        let db = try TestDatabase()
        // Pretend a newer SQLite made this collection: the catalog records it.
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(partition = none);
            UPDATE e_config SET value = 'jsonb' WHERE key = 'storage';
            UPDATE e_config SET value = '3.54.1' WHERE key = 'created_with';
            """)
        let fresh = try TestDatabase(path: db.path)
        fresh.expectError("SELECT count(*) FROM e", contains: "JSONB")
        fresh.expectError("SELECT count(*) FROM e", contains: "3.54.1")
        fresh.expectError("SELECT count(*) FROM e", contains: "3.40")
    }

    func testShardListWithoutArgumentListsEveryCollection() throws {
        let db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE a USING shards(partition = none);
            CREATE VIRTUAL TABLE b USING shards(partition = year, time = '$.t');
            INSERT INTO a(doc) VALUES ('{}');
            INSERT INTO b(doc) VALUES ('{"t":"2024-06-01"}');
            """)
        XCTAssertEqual(try db.query("SELECT collection, shard, tbl, period_start, period_end, rows, state, file FROM shard_list ORDER BY collection"), [
            [.text("a"), .text("a:001"), .text("a_001"), .null, .null, .int(1), .text("hot"), .null],
            [.text("b"), .text("b:2024:001"), .text("b_2024-001"), .int(1704067200000), .int(1735689600000), .int(1), .text("sealed"), .null],
        ])
        XCTAssertGreaterThan(try db.int("SELECT bytes FROM shard_list('a')"), 0)
        db.expectError("SELECT * FROM shard_list('zz')", contains: "no such collection: zz")
    }
}
