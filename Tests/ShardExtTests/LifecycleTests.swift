import Foundation
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
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', max_rows = 10, index = '$.n', merge = none)")
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

    /// A cutoff in seconds would cut at 1970 and match nothing: it is refused, both
    /// readings shown, and nothing changes; 0 (the same instant either way) stays.
    func testCutoffsThatReadAsSecondsAreRefused() throws {
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', max_rows = 10, merge = none)")
        try load("e", days: 60)
        let shards = try db.query("SELECT * FROM shard_list('e')")
        for call in ["shard_drop('e', 1740787200)", "shard_compress('e', 1740787200)",
                     "shard_merge('e', 1740787200.5)", "shard_archive('e', 1740787200, 'cold.db')"] {
            db.expectError("SELECT \(call)", contains: "before 17407872")
            db.expectError("SELECT \(call)", contains: "reads as Unix seconds: as milliseconds it is 1970-01-21")
            db.expectError("SELECT \(call)", contains: "as seconds 2025-03-01T00:00:00")
        }
        db.expectError("SELECT shard_drop('e', 1740787200)", contains: "give 1740787200000 or a time string")
        XCTAssertEqual(try db.query("SELECT * FROM shard_list('e')"), shards)
        XCTAssertEqual(try db.int("SELECT shard_drop('e', 0)"), 0)
        XCTAssertEqual(try db.int("SELECT shard_drop('e', 1740787200000)"), 59)
        // time_unit = ms says small numbers are milliseconds: a cutoff near 1970 is taken.
        try db.exec("CREATE VIRTUAL TABLE m USING shards(time = '$.t', time_unit = ms)")
        try db.exec("INSERT INTO m(doc) VALUES ('{\"t\": 5000}')")
        XCTAssertEqual(try db.int("SELECT shard_drop('m', 2678400000)"), 1)   // January 1970 ends
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
        // are retired in the catalog, and go at the next chance (the next shard_drop).
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

/// shard_archive: whole shards move to another file and stay queryable.
final class ArchiveTests: XCTestCase {
    var db: TestDatabase!
    var folder: String { (db.path as NSString).deletingLastPathComponent }

    override func setUpWithError() throws {
        // A folder of its own: archive files are named relative to the database.
        let folder = NSTemporaryDirectory() + "shards-archive-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        db = try TestDatabase(path: folder + "/main.db")
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(time = '$.t', category = '$.c', max_rows = 7, index = '$.n', merge = none);
            INSERT INTO e(doc) SELECT json_object('t', 1735689600000 + value * 43200000, 'c', CASE value % 3 WHEN 0 THEN 'x' ELSE 'y' END,
                                                  'n', value % 11) FROM \(series(0, 179));
            """)
    }

    let queries = [
        "SELECT id, ts, shard, doc, n FROM e ORDER BY id",
        "SELECT id FROM e WHERE n = 4 ORDER BY ts DESC LIMIT 5",
        "SELECT n, count(*), min(ts), max(id) FROM e GROUP BY n ORDER BY n",
        "SELECT count(*) FROM e WHERE ts BETWEEN 1736000000000 AND 1739000000000",
        "SELECT count(*) FROM e('{\"c\":\"x\",\"n\":{\"$in\":[1,2,3]}}')",
        "SELECT id FROM e WHERE shard LIKE 'e:y:2025:01:%' ORDER BY id",
    ]

    func answers(_ db: TestDatabase) throws -> [[[Value]]] { try queries.map { try db.query($0) } }

    func testArchivedShardsAnswerAsBefore() throws {
        let before = try answers(db)
        let total = try db.int("SELECT count(*) FROM e")
        let moved = try db.int("SELECT sum(rows) FROM shard_list('e') WHERE period_end <= 1738368000000")
        XCTAssertEqual(try db.int("SELECT shard_archive('e', '2025-02-01', 'cold.db')"), moved)
        XCTAssertEqual(try answers(db), before)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), total)
        XCTAssertEqual(try db.query("SELECT DISTINCT state, file FROM shard_list('e') WHERE period_end <= 1738368000000"),
                       [[.text("archived"), .text("cold.db")]])
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'e_%_2025_01_%'"), 0, "gone from the main file")
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/cold.db"), "next to the main database")
        XCTAssertTrue(try db.text("SELECT shards_explain('e', 'SELECT count(*) FROM e WHERE n = 1')")!.contains("(archive cold.db)"))
        // Another connection reads them too, and a second archive appends to the file.
        let other = try TestDatabase(path: db.path)
        XCTAssertEqual(try answers(other), before)
        XCTAssertGreaterThan(try other.int("SELECT shard_archive('e', '2025-03-01', 'cold.db')"), 0)
        XCTAssertEqual(try answers(other), before)
        XCTAssertEqual(try answers(db), before)
        // Archived shards are read-only; new rows of an archived period go to a new hot shard.
        db.expectError("DELETE FROM e WHERE n = 3", contains: "archived shards are read-only")
        db.expectError("UPDATE e SET doc = '{\"t\":1735689600000,\"c\":\"x\",\"n\":1}' WHERE id = (SELECT min(id) FROM e)", contains: "read-only")
        XCTAssertEqual(try answers(db), before)
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":\"2025-01-09\",\"c\":\"x\",\"n\":99}')")
        XCTAssertEqual(try db.query("SELECT state FROM shard_list('e') WHERE shard = (SELECT shard FROM e WHERE n = 99)"), [[.text("sealed")]])
    }

    func testMissingAndUnwritableArchiveFiles() throws {
        db.expectError("SELECT shard_archive('e', '2025-02-01', 'nonexistent-dir/cold.db')", contains: "cannot open archive file '\(folder)/nonexistent-dir/cold.db'")
        db.expectError("SELECT shard_archive('e', '2025-02-01', '/tmp/cold.db')", contains: "is not allowed: it is an absolute path")
        XCTAssertEqual(try db.int("SELECT count(*) FROM shard_list('e') WHERE state = 'archived'"), 0, "nothing moved")
        XCTAssertEqual(try db.int("SELECT shard_archive('e', '2025-02-01', 'gone.db')"), try db.int("SELECT count(*) FROM e WHERE ts < 1738368000000"))
        try FileManager.default.removeItem(atPath: folder + "/gone.db")
        let fresh = try TestDatabase(path: db.path)
        fresh.expectError("SELECT count(id) FROM e", contains: "archive file '\(folder)/gone.db'")
        // count(*) takes its number from the catalog, but opens the archive files it counts.
        fresh.expectError("SELECT count(*) FROM e", contains: "archive file '\(folder)/gone.db'")
        // Reads that need no archived shard still work.
        XCTAssertGreaterThan(try fresh.int("SELECT count(*) FROM e WHERE ts >= 1738368000000"), 0)
    }
}

/// shard_compress: sealed shards rewritten into zstd blocks, answers unchanged.
final class CompressTests: XCTestCase {
    var db: TestDatabase!

    override func setUpWithError() throws {
        db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE e USING shards(time = '$.t', max_rows = 5000, index = '$.type', index = 'user: $.user.id');
            INSERT INTO e(doc) SELECT json_object('t', 1735689600000 + value * 600000, 'type', 'type' || (value % 20),
                                                  'user', json_object('id', value % 5000, 'plan', 'pro'), 'app', 'android',
                                                  'url', 'https://example.com/x/' || (value % 1000), 'dur', value % 3000)
                               FROM \(series(0, 11999));
            """)
    }

    func testAnswersStayAndBytesShrink() throws {
        let queries = ["SELECT id, ts, shard, doc, type, user FROM e ORDER BY id",
                       "SELECT id FROM e WHERE type = 'type3' AND ts < 1736500000000 ORDER BY ts DESC LIMIT 7",
                       "SELECT user, count(*) FROM e WHERE user < 50 GROUP BY user ORDER BY user",
                       "SELECT count(*) FROM e('{\"type\":{\"$in\":[\"type1\",\"type2\"]},\"dur\":{\"$gt\":2000}}')",
                       "SELECT id FROM e WHERE id IN (1099511627777, 1099511628000, 2199023255553) ORDER BY id"]
        let before = try queries.map { try db.query($0) }
        let january = "period_end <= 1738368000000"
        let bytesBefore = try db.int("SELECT sum(bytes) FROM shard_list('e') WHERE \(january)")
        let rows = try db.int("SELECT sum(rows) FROM shard_list('e') WHERE \(january)")
        XCTAssertEqual(try db.int("SELECT shard_compress('e', '2025-02-01')"), rows)
        XCTAssertEqual(try queries.map { try db.query($0) }, before)
        XCTAssertEqual(try db.query("SELECT DISTINCT state FROM shard_list('e') WHERE \(january)"), [[.text("compressed")]])
        let bytesAfter = try db.int("SELECT sum(bytes) FROM shard_list('e') WHERE \(january)")
        XCTAssertLessThan(bytesAfter * 4, bytesBefore, "compressed shards must be several times smaller")
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name = 'e_2025-01-001'"), 0)
        XCTAssertEqual(try db.int("SELECT shard_compress('e', '2025-02-01')"), 0, "already compressed")
        // Another connection reads them the same.
        XCTAssertEqual(try queries.map { try TestDatabase(path: db.path).query($0) }, before)
        // Compressed shards are read-only; new rows of their period go to a new hot shard.
        db.expectError("DELETE FROM e WHERE type = 'type3'", contains: "compressed shards are read-only")
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":\"2025-01-20\",\"type\":\"late\"}')")
        XCTAssertEqual(try db.query("SELECT shard FROM e WHERE type = 'late'"), [[.text("e:2025:01:002")]])
        // And they leave whole like any shard.
        XCTAssertEqual(try db.int("SELECT shard_drop('e', '2025-02-01')"), rows + 1)
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'e_2025_01%'"), 0)
    }

    func testAllOrNothing() throws {
        let before = try db.query("SELECT shard, state, rows FROM shard_list('e')")
        try db.exec("BEGIN")
        XCTAssertGreaterThan(try db.int("SELECT shard_compress('e', '2025-02-01')"), 0)
        try db.exec("ROLLBACK")
        XCTAssertEqual(try db.query("SELECT shard, state, rows FROM shard_list('e')"), before)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 12000)
        db.expectError("SELECT shard_compress('e', '2025-02-01') FROM e LIMIT 1", contains: "statement of its own")
        XCTAssertEqual(try db.query("SELECT shard, state, rows FROM shard_list('e')"), before)
        db.expectError("SELECT * FROM shards_block(x'00112233')", contains: "not a compressed shards block")
        db.expectError("SELECT * FROM shards_block", contains: "no query solution")
    }
}
