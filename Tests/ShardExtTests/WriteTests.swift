import XCTest

/// Writes: routing, updates, deletes, and bad input that leaves nothing behind.
final class WriteTests: XCTestCase {
    var db: TestDatabase!

    override func setUpWithError() throws {
        db = try TestDatabase()
        // (time_unit = ms: several tests use milliseconds near 1970)
        try db.exec("CREATE VIRTUAL TABLE events USING shards(time = '$.ts', time_unit = ms, index = '$.type', index = 'user: $.user.id')")
    }

    /// Everything a failed statement could have left: rows, shards, tables.
    func footprint() throws -> [[Value]] {
        try db.query("""
            SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM events_shards),
                   (SELECT count(*) FROM sqlite_schema), (SELECT group_concat(value) FROM events_config)
            """)
    }

    func testTimeFormats() throws {
        let cases: [(String, Int64)] = [
            ("1736000000123", 1736000000123),
            ("1736000000123.9", 1736000000123),
            ("\"2025-01-04T14:13:20.123Z\"", 1736000000123),
            ("\"2025-01-04 14:13:20.123\"", 1736000000123),
            ("\"2025-01-04T16:13:20.123+02:00\"", 1736000000123),
            ("\"2025-01-04T09:13:20.123-0500\"", 1736000000123),
            ("\"2025-01-04\"", 1735948800000),
        ]
        for (json, ms) in cases {
            let id = try db.int("SELECT shard_insert('events', ?)", [.text("{\"ts\":\(json)}")])
            XCTAssertEqual(try db.int("SELECT ts FROM events WHERE id = ?", [.int(id)]), ms, json)
        }
        try db.exec("CREATE VIRTUAL TABLE secs USING shards(time = '$.t', time_unit = s)")
        XCTAssertEqual(try db.int("SELECT ts FROM secs WHERE id = shard_insert('secs', '{\"t\":1736000000.5}')"), 1736000000500)
    }

    func testInsertReturnsIdsAndLastInsertRowid() throws {
        try db.exec("INSERT INTO events(doc) VALUES ('{\"ts\":0,\"type\":\"a\"}')")
        let id = try db.int("SELECT last_insert_rowid()")
        XCTAssertEqual(id, 1 << 40 | 1)
        XCTAssertEqual(try db.int("SELECT shard_insert('events', '{\"ts\":1}')"), 1 << 40 | 2)
        let bulk = try db.query("SELECT shard_insert('events', value) FROM json_each(?)",
                                [.text("[{\"ts\":2},{\"ts\":3},{\"ts\":4}]")])
        XCTAssertEqual(bulk, [[.int(1 << 40 | 3)], [.int(1 << 40 | 4)], [.int(1 << 40 | 5)]])
    }

    func testExplicitTsWithoutTimePath() throws {
        try db.exec("CREATE VIRTUAL TABLE logs USING shards(partition = day, time_unit = ms)")
        try db.exec("INSERT INTO logs(ts, doc) VALUES (1, '{}')")
        db.expectError("UPDATE logs SET ts = NULL", contains: "ts cannot be set to NULL")
        try db.exec("DELETE FROM logs")
        try db.exec("INSERT INTO logs(ts, doc) VALUES (1736000000000, '{\"m\":1}'), ('2025-01-05T00:00:01Z', '{\"m\":2}')")
        XCTAssertEqual(try db.query("SELECT ts, shard FROM logs ORDER BY id"), [
            [.int(1736000000000), .text("logs:2025:01:04:001")],
            [.int(1736035201000), .text("logs:2025:01:05:001")],
        ])
        // Without either, the insertion time is used.
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let ts = try db.int("SELECT ts FROM logs WHERE id = shard_insert('logs', '{}')")
        XCTAssertGreaterThanOrEqual(ts, before - 1)
        XCTAssertLessThan(ts, before + 60_000)
    }

    func testUpdateAndDelete() throws {
        try db.exec("""
            INSERT INTO events(doc) VALUES ('{"ts":"2025-01-01","type":"a","user":{"id":1}}');
            INSERT INTO events(doc) VALUES ('{"ts":"2025-01-02","type":"b","user":{"id":2}}');
            INSERT INTO events(doc) VALUES ('{"ts":"2025-02-02","type":"c","user":{"id":3}}');
            UPDATE events SET doc = '{"ts":"2025-01-03","type":"bb","user":{"id":2}}' WHERE type = 'b';
            """)
        XCTAssertEqual(try db.query("SELECT type, ts FROM events WHERE user = 2"), [[.text("bb"), .int(1735862400000)]])
        // Each refused update is a case of Tests/sql/errors/writes.sql.
        try db.exec("DELETE FROM events WHERE type = 'a'")
        try db.exec("DELETE FROM events WHERE id = ?", [.int(2 << 40 | 1)])
        XCTAssertEqual(try db.query("SELECT type FROM events"), [[.text("bb")]])
        XCTAssertEqual(try db.query("SELECT shard, rows FROM shard_list('events') ORDER BY shard"),
                       [[.text("events:2025:01:001"), .int(1)], [.text("events:2025:02:001"), .int(0)]])
        // Ids are never reused after a delete.
        XCTAssertEqual(try db.int("SELECT shard_insert('events', '{\"ts\":\"2025-01-09\"}')"), 1 << 40 | 3)
    }

    /// Each bad document through the three ways in (INSERT, shard_insert, a multi-row
    /// INSERT) leaves no trace. (The messages of single statements are Tests/sql/errors cases.)
    func testBadDocumentsWriteNothing() throws {
        try db.exec("INSERT INTO events(doc) VALUES ('{\"ts\":0}')")
        let before = try footprint()
        let bad: [(String, String)] = [
            ("{\"ts\":0", "malformed JSON"),
            ("[1,2]", "must be a JSON object, not an array"),
            ("\"text\"", "must be a JSON object, not a string"),
            ("42", "must be a JSON object"),
            ("{\"type\":\"a\"}", "no time at $.ts"),
            ("{\"ts\":\"yesterday\"}", "unreadable time at $.ts"),
            ("{\"ts\":\"2025-02-30\"}", "unreadable time at $.ts"),
            ("{\"ts\":true}", "must be a number or a time string, not true"),
            ("{\"ts\":null}", "must be a number or a time string, not null"),
        ]
        for (doc, message) in bad {
            db.expectError("INSERT INTO events(doc) VALUES (?)", [.text(doc)], contains: message)
            db.expectError("SELECT shard_insert('events', ?)", [.text(doc)], contains: message)
            // A bad row in the middle of a multi-row insert takes the whole statement with it.
            db.expectError("INSERT INTO events(doc) VALUES ('{\"ts\":\"2030-01-01\"}'), (?)", [.text(doc)], contains: message)
        }
        XCTAssertEqual(try footprint(), before)
    }

    /// A number that reads as Unix seconds, without time_unit, takes its statement
    /// with it: nothing written, no shard made.
    func testSecondsLikeTimesWriteNothing() throws {
        try db.exec("CREATE VIRTUAL TABLE secs USING shards(time = '$.ts'); CREATE VIRTUAL TABLE bare USING shards()")
        try db.exec("INSERT INTO secs(doc) VALUES ('{\"ts\":\"2025-01-15T10:00:00Z\"}')")
        let footprint = { try self.db.query("""
            SELECT (SELECT count(*) FROM secs), (SELECT count(*) FROM secs_shards), (SELECT count(*) FROM bare),
                   (SELECT count(*) FROM sqlite_schema)
            """) }
        let before = try footprint()
        for statement in ["INSERT INTO secs(doc) VALUES ('{\"ts\":\"2030-01-01\"}'), ('{\"ts\":1736935200}')",
                          "SELECT shard_insert('secs', '{\"ts\":1736935200}')",
                          "INSERT INTO bare(doc, ts) VALUES ('{}', 1893456000000), ('{}', 1736935200)",
                          "UPDATE secs SET doc = '{\"ts\":1736935200}'"] {
            db.expectError(statement, contains: "reads as Unix seconds")
        }
        XCTAssertEqual(try footprint(), before)
    }

    /// A refused CREATE leaves no table behind. (Its messages are Tests/sql/errors/options.sql cases.)
    func testBadOptionsLeaveNothing() throws {
        for opts in ["partiton = month", "max_rows = 0", "time = '$.a'') ; DROP TABLE x; --'", "index = 'a: $.x', index = 'a: $.y'"] {
            XCTAssertThrowsError(try db.exec("CREATE VIRTUAL TABLE bad USING shards(\(opts))"), opts)
            XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'bad%'"), 0, opts)
        }
    }

    func testBlobDocumentsAreStoredAsText() throws {
        try db.exec("CREATE VIRTUAL TABLE b USING shards(partition = none)")
        try db.exec("INSERT INTO b(doc) VALUES (CAST('{\"a\":1}' AS BLOB))")
        XCTAssertEqual(try db.query("SELECT typeof(doc), doc FROM b"), [[.text("text"), .text("{\"a\":1}")]])
    }

    /// A collection `ev` with category `web` and a collection `ev_web` never name the same table.
    func testCollectionsAndCategoriesNeverShareATable() throws {
        try db.exec("""
            CREATE VIRTUAL TABLE ev USING shards(partition = none, category = '$.app');
            INSERT INTO ev(doc) VALUES ('{"app":"web"}');
            CREATE VIRTUAL TABLE ev_web USING shards(partition = none);
            INSERT INTO ev_web(doc) VALUES ('{}');
            """)
        XCTAssertEqual(try db.text("SELECT tbl FROM shard_list('ev')"), "ev_web-001")
        XCTAssertEqual(try db.text("SELECT tbl FROM shard_list('ev_web')"), "ev_web_001")
        XCTAssertEqual(try db.int("SELECT (SELECT count(*) FROM ev) + (SELECT count(*) FROM ev_web)"), 2)
    }

    /// A table already holding a shard's name (a user's own, or one a shard took over
    /// from a merged one): the line goes on to the next seq, and that table is left alone.
    func testShardTableNameClashMovesToTheNextSeq() throws {
        try db.exec("""
            CREATE VIRTUAL TABLE ev USING shards(partition = none);
            CREATE TABLE "ev_001"(x);
            INSERT INTO "ev_001" VALUES (42);
            INSERT INTO ev(doc) VALUES ('{}');
            """)
        XCTAssertEqual(try db.text("SELECT shard || ' ' || tbl FROM shard_list('ev')"), "ev:002 ev_002")
        XCTAssertEqual(try db.int("SELECT count(*) FROM ev"), 1)
        XCTAssertEqual(try db.int("SELECT x FROM ev_001"), 42)
    }

    func testQuotesInPathsAndNamesAreSafe() throws {
        try db.exec("CREATE VIRTUAL TABLE q USING shards(partition = none, index = 'it: $.\"a''b\"')")
        try db.exec("INSERT INTO q(doc) VALUES ('{\"a''b\": 5}')")
        XCTAssertEqual(try db.int("SELECT it FROM q"), 5)
        XCTAssertEqual(try db.int("SELECT count(*) FROM q WHERE it = 5"), 1)
        XCTAssertEqual(try db.int("SELECT ensure_json_index('q', '$.\"x''); DROP TABLE q_shards; --\"')"), 1)
        XCTAssertEqual(try db.int("SELECT count(*) FROM q"), 1)
        db.expectError("SELECT ensure_json_index('q', '$.a''); DROP TABLE q_shards; --')", contains: "bad JSON path")
        db.expectError("SELECT shard_key('q\"; DROP TABLE q_shards; --', '{}')", contains: "no such collection")
        XCTAssertEqual(try db.int("SELECT count(*) FROM q_shards"), 1)
    }
}
