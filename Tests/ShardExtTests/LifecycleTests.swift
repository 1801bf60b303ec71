import XCTest

/// Old data leaves whole: shard_drop and retain.
final class LifecycleTests: XCTestCase {
    var db: TestDatabase!

    override func setUpWithError() throws {
        db = try TestDatabase()
    }

    /// One document a day from 2025-01-01 for `days` days.
    func load(_ table: String, days: Int) throws {
        try db.exec("INSERT INTO \(table)(doc) SELECT json_object('t', 1735689600000 + value * 86400000, 'n', value) FROM \(series(0, days - 1))")
    }

    func testDropRemovesWholePeriodsOnly() throws {
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', max_rows = 10, index = '$.n')")
        try load("e", days: 90)   // January, February, March 2025
        let before = try db.query("SELECT name FROM sqlite_schema WHERE name LIKE 'e_2025_03%' ORDER BY name")
        let march = try db.query("SELECT id, doc FROM e WHERE ts >= 1740787200000 ORDER BY id")
        // Ends at or before 2025-03-01: January and February go, March stays.
        XCTAssertEqual(try db.int("SELECT shard_drop('e', '2025-03-01T00:00:00Z')"), 59)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 31)
        XCTAssertEqual(try db.query("SELECT id, doc FROM e ORDER BY id"), march)
        XCTAssertEqual(try db.query("SELECT name FROM sqlite_schema WHERE name LIKE 'e_2025_03%' ORDER BY name"), before)
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'e_2025_01%' OR name LIKE 'e_2025_02%'"), 0)
        XCTAssertEqual(try db.query("SELECT DISTINCT substr(shard, 1, 9) FROM shard_list('e')"), [[.text("e:2025:03")]])
        // A period that has not ended by `before` stays; nothing to drop returns 0.
        XCTAssertEqual(try db.int("SELECT shard_drop('e', 1743465599999)"), 0)
        XCTAssertEqual(try db.int("SELECT shard_drop('e', 1743465600000)"), 31)
        // The collection goes on working: new rows, new shards, queries.
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":\"2025-01-05\",\"n\":1}')")
        XCTAssertEqual(try db.query("SELECT shard, n FROM e"), [[.text("e:2025:01:001"), .int(1)]])
    }

    func testDropIsOneTransactionAndRefusesBadInput() throws {
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', max_rows = 10)")
        try load("e", days: 60)
        try db.exec("BEGIN")
        XCTAssertEqual(try db.int("SELECT shard_drop('e', '2025-02-01')"), 31)
        try db.exec("ROLLBACK")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 60)
        XCTAssertEqual(try db.int("SELECT sum(rows) FROM shard_list('e')"), 60)
        db.expectError("SELECT shard_drop('e', 'last tuesday')", contains: "shards:")
        db.expectError("SELECT shard_drop('nope', 0)", contains: "no such collection: nope")
        // Inside a larger statement SQLite cannot drop tables: the rows go all the same.
        XCTAssertEqual(try db.int("SELECT sum(shard_drop('e', '2025-02-01')) FROM (SELECT 1 UNION ALL SELECT 2)"), 31)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 29)
        try db.exec("CREATE VIRTUAL TABLE n USING shards(partition = none)")
        try db.exec("INSERT INTO n(doc) VALUES ('{}')")
        XCTAssertEqual(try db.int("SELECT shard_drop('n', 9999999999999)"), 0, "partition none never ends")
    }

    func testRetainDropsOldPeriodsWhenANewOneBegins() throws {
        try db.exec("CREATE VIRTUAL TABLE r USING shards(time = '$.t', partition = month, retain = '2 months')")
        try load("r", days: 90)   // Jan..Mar: nothing is two months older than March's start
        XCTAssertEqual(try db.int("SELECT count(DISTINCT substr(shard, 1, 9)) FROM shard_list('r')"), 3)
        // April's first row: January ended 2025-02-01, two months before April 1 - kept (not more).
        try db.exec("INSERT INTO r(doc) VALUES ('{\"t\":\"2025-04-02\"}')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM r"), 91)
        // May's first row: January ended more than two months before May 1 - dropped.
        try db.exec("INSERT INTO r(doc) VALUES ('{\"t\":\"2025-05-02\"}')")
        XCTAssertEqual(try db.query("SELECT DISTINCT substr(shard, 1, 9) FROM shard_list('r') ORDER BY 1").map { $0[0].text! },
                       ["r:2025:02", "r:2025:03", "r:2025:04", "r:2025:05"])
        XCTAssertEqual(try db.int("SELECT count(*) FROM r"), 92 - 31)
        // SQLite drops no table while a statement (the INSERT) runs: January's tables
        // are retired in the catalog, and go at the next chance (any shard_drop, or close).
        XCTAssertEqual(try db.int("SELECT count(*) FROM r_shards WHERE state = 'retired'"), 1)
        XCTAssertEqual(try db.int("SELECT shard_drop('r', 0)"), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'r_2025_01%'"), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM r_shards"), 4)
        // Late data for an old period does not drop newer ones (measured from the newest period).
        try db.exec("INSERT INTO r(doc) VALUES ('{\"t\":\"2024-06-01\"}')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM r"), 62)
        // Rolled back with the insert that triggered it.
        try db.exec("BEGIN; INSERT INTO r(doc) VALUES ('{\"t\":\"2025-09-01\"}'); ROLLBACK")
        XCTAssertEqual(try db.int("SELECT count(*) FROM r"), 62)
        XCTAssertEqual(try db.int("SELECT count(*) FROM shard_list('r')"), 5)
    }
}
