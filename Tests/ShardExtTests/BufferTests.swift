import Foundation
import XCTest

/// `buffer = N`: every flush trigger README's "Durability and write buffering" lists, and what a rollback does to buffered rows.
final class BufferTests: XCTestCase {
    var db: TestDatabase!

    override func setUpWithError() throws {
        db = try TestDatabase()
        try db.exec("PRAGMA journal_mode = WAL")
        try db.exec("CREATE VIRTUAL TABLE e USING shards(partition = none, max_rows = 1000, buffer = 5, flush_ms = 600000)")
    }

    /// Rows really in the shard tables, bypassing the collection (which would flush).
    func written(_ db: TestDatabase? = nil) throws -> Int64 {
        let db = db ?? self.db!
        let tables = try db.query("SELECT tbl FROM e_shards").map { $0[0].text! }
        return try tables.reduce(0) { $0 + (try db.int("SELECT count(*) FROM \"\($1)\"")) }
    }

    func insert(_ n: Int, _ db: TestDatabase? = nil) throws {
        for i in 0..<n { try (db ?? self.db).exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"i\":\(i)}")]) }
    }

    func testSizeTriggerAndIdsGivenAtInsert() throws {
        try insert(4)
        XCTAssertEqual(try written(), 0, "four rows wait in memory")
        XCTAssertEqual(try db.int("SELECT last_insert_rowid()"), 1 << 40 | 4)
        try insert(1)
        XCTAssertEqual(try written(), 5, "the fifth fills the buffer")
        XCTAssertEqual(try db.query("SELECT id FROM e_001 ORDER BY id").map { $0[0].int! }, (1...5).map { 1 << 40 | $0 })
    }

    func testReadsFlushFirst() throws {
        try insert(3)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 3)
        XCTAssertEqual(try written(), 3)
        try insert(2)
        XCTAssertEqual(try db.int("SELECT rows FROM shard_list('e')"), 5)
    }

    func testExplicitFlushReturnsRowsWritten() throws {
        try insert(3)
        XCTAssertEqual(try db.int("SELECT shard_flush('e')"), 3)
        XCTAssertEqual(try db.int("SELECT shard_flush('e')"), 0)
        XCTAssertEqual(try written(), 3)
        XCTAssertEqual(try db.int("SELECT rows FROM e_shards"), 3, "counters are written with the flush")
    }

    func testAgeTriggerIsCheckedOnTheNextCall() throws {
        try db.exec("CREATE VIRTUAL TABLE f USING shards(partition = none, buffer = 100, flush_ms = 50)")
        try db.exec("INSERT INTO f(doc) VALUES ('{}')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM f_001"), 0)
        usleep(80_000)
        try db.exec("INSERT INTO f(doc) VALUES ('{}')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM f_001"), 2)
    }

    func testCommitOfAnExplicitTransactionFlushes() throws {
        try db.exec("BEGIN")
        try insert(3)
        XCTAssertEqual(try written(), 0)
        try db.exec("COMMIT")
        XCTAssertEqual(try written(), 3)
        XCTAssertEqual(try db.int("SELECT rows FROM e_shards"), 3)
    }

    func testCloseFlushes() throws {
        try insert(3)
        let path = db.path
        db = nil   // closes the connection
        let other = try TestDatabase(path: path)
        XCTAssertEqual(try written(other), 3)
        XCTAssertEqual(try other.int("SELECT count(*) FROM e"), 3)
        XCTAssertEqual(try other.int("SELECT rows FROM shard_list('e')"), 3)
    }

    func testRollbackDropsOnlyItsOwnRows() throws {
        try insert(2)                     // acknowledged, still buffered
        try db.exec("BEGIN")
        try insert(2)                     // part of the transaction
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 4)   // the read flushed all four inside it
        try db.exec("ROLLBACK")
        // The two acknowledged rows were not part of the transaction: they come back.
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 2)
        XCTAssertEqual(try written(), 2)
        XCTAssertEqual(try db.int("SELECT rows FROM e_shards"), 2)
        try db.exec("BEGIN; INSERT INTO e(doc) VALUES ('{}'); SAVEPOINT s; INSERT INTO e(doc) VALUES ('{}'); ROLLBACK TO s; RELEASE s; COMMIT")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 3)
        XCTAssertEqual(try db.int("SELECT count(DISTINCT id) FROM e"), 3)
    }

    func testFailedStatementLeavesNothingBuffered() throws {
        db.expectError("INSERT INTO e(doc) VALUES ('{}'), ('[1]')", contains: "JSON object")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 0)
    }

    func testTwoBufferedConnectionsNeverShareIds() throws {
        let other = try TestDatabase(path: db.path)
        for round in 0..<7 {
            try insert(3 + round % 2)
            try insert(4, other)
        }
        try db.exec("SELECT shard_flush('e')")
        try other.exec("SELECT shard_flush('e')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 7 * 4 + 24)
        XCTAssertEqual(try db.int("SELECT count(DISTINCT id) FROM e"), 7 * 4 + 24)
        XCTAssertEqual(try db.int("SELECT sum(rows) FROM shard_list('e')"), 7 * 4 + 24)
    }

    func testSplitsStillHappen() throws {
        try db.exec("CREATE VIRTUAL TABLE s USING shards(partition = none, max_rows = 7, buffer = 5)")
        try db.exec("INSERT INTO s(doc) SELECT '{}' FROM \(series(1, 30))")
        XCTAssertEqual(try db.query("SELECT shard, rows FROM shard_list('s')").map { $0[1].int! }, [7, 7, 7, 7, 2])
        XCTAssertEqual(try db.int("SELECT count(*) FROM s WHERE printf('s:%03d', id >> 40) != shard"), 0)
    }
}
