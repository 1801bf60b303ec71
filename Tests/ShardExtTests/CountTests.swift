import Foundation
import XCTest

/// `SELECT count(*) FROM e` with no constraint is answered from the catalog's counters
/// (SPEC 11): it must equal a plain table's count after every write path, and equal
/// what a scan that reads the rows counts.
final class CountTests: XCTestCase {
    func counts(_ db: TestDatabase) throws -> [Int64] {
        [try db.int("SELECT count(*) FROM e"),
         try db.int("SELECT count(id) FROM e"),   // reads the rows
         try db.int("SELECT count(*) FROM plain WHERE dropped = 0")]
    }

    func runSequence(seed: UInt64, options: String) throws {
        let db = try TestDatabase()
        var m = try MirroredWrites(db: db, seed: seed, collectionOptions: options)
        m.check = { what in
            let c = try self.counts(db)
            XCTAssertEqual(c[0], c[2], "count(*) after \(what), seed \(seed), options \(options)")
            XCTAssertEqual(c[1], c[2], "count(id) after \(what), seed \(seed), options \(options)")
        }
        try m.insert(count: 200, fromDay: 0, toDay: m.days - 1)
        try m.check("the first load")
        var done: [String] = []
        for _ in 0..<40 {
            do {
                done.append(try m.step())
            } catch {
                XCTFail("\(error) at step \(done.count) after \(done.suffix(4)), seed \(seed), options \(options)")
                throw error
            }
            try m.check(done.last!)
        }
        // Another connection reads the committed counters.
        let other = try TestDatabase(path: db.path)
        XCTAssertEqual(try other.int("SELECT count(*) FROM e"), try db.int("SELECT count(*) FROM plain WHERE dropped = 0"))
    }

    func testCountFromTheCatalogEqualsAPlainTableAfterEveryWritePath() throws {
        for seed in UInt64(1)...3 { try runSequence(seed: seed, options: "") }
    }

    func testCountWithBufferedWrites() throws {
        for seed in UInt64(11)...13 { try runSequence(seed: seed, options: ", buffer = 7, flush_ms = 600000") }
    }

    func testCountWithoutMergingOrWithSmallShards() throws {
        try runSequence(seed: 21, options: ", merge = none")
        try runSequence(seed: 22, options: ", max_rows = 9")
        try runSequence(seed: 23, options: ", max_rows = 9, merge = none")
    }

    /// A counting scan asked for the rowid after all reads its rows: rowids, DELETE
    /// without a WHERE, and a rowid asked for only after some rows were stepped over.
    func testACountingScanThatIsAskedForRowidsReadsTheRows() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = 'day', max_rows = 10)")
        for i in 0..<95 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(1736121600000 + Int64(i) * 3_600_000)}")]) }
        let ids = try db.query("SELECT id FROM e ORDER BY id").map { $0[0].int! }
        XCTAssertEqual(try db.query("SELECT rowid FROM e").map { $0[0].int! }.sorted(), ids)
        XCTAssertEqual(try db.int("SELECT count(rowid) FROM e"), 95)
        // rowid asked for from the 40th row on only.
        XCTAssertEqual(try db.query("SELECT CASE WHEN n > 40 THEN r END FROM (SELECT row_number() OVER () n, 0 r FROM e)").count, 95)
        let late = try db.query("SELECT x FROM (SELECT CASE WHEN (SELECT 1) AND random() IS NOT NULL THEN rowid END x FROM e)").compactMap { $0[0].int }
        XCTAssertEqual(late.sorted(), ids)
        try db.exec("INSERT INTO e(doc) SELECT '{\"t\":1736121600001}' FROM e")   // reads the collection as of its start
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 190)
        try db.exec("DELETE FROM e")
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 0)
        XCTAssertEqual(try db.int("SELECT count(id) FROM e"), 0)
    }
}
