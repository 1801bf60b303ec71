import XCTest
@testable import ShardCore

/// The pure halves of the safety rules (issue 9): what the catalog may hold, archive
/// names, retention's wall-clock guard, block bounds, linear `ts IN`, blank SQL.
final class SafetyTests: XCTestCase {
    private func shard(number: Int64 = 1, seq: Int = 1, rows: Int64 = 0, lastLocal: Int64 = 0,
                       minId: Int64? = nil, maxId: Int64? = nil, state: ShardState = .hot) -> ShardInfo {
        ShardInfo(key: ShardKey(collection: "ev", category: nil, period: "2025:01", seq: seq), number: number,
                  period: Partition.month.period(label: "2025:01")!, rows: rows, lastLocal: lastLocal,
                  minId: minId, maxId: maxId, state: state)
    }

    func testCatalogValuesOutsideTheirRangeAreInconsistent() throws {
        try CatalogCheck.check(collection: "ev", shard(rows: 5, lastLocal: 5, minId: 1 << 40 | 1, maxId: 1 << 40 | 5))
        try CatalogCheck.check(collection: "ev", shard(number: DocumentId.maxShardNumber, lastLocal: DocumentId.maxLocal))
        let bad: [(ShardInfo, String)] = [
            (shard(number: .max), "has number"), (shard(number: 0), "has number"), (shard(number: -1), "has number"),
            (shard(seq: .max), "has seq"), (shard(seq: -1), "has seq"),   // seq 0 is a merged table
            (shard(rows: .max), "has rows"), (shard(rows: -1), "has rows"), (shard(rows: .min), "has rows"),
            (shard(lastLocal: .max), "has last_local"), (shard(minId: 5), "records id 5"),
            (shard(minId: 1 << 40 | 9, maxId: 1 << 40 | 2), "min_id above max_id"),
        ]
        for (s, part) in bad {
            assertShardError(try CatalogCheck.check(collection: "ev", s), "catalog of 'ev' is inconsistent", part)
        }
        try CatalogCheck.check(collection: "ev", nextNumber: 3, highest: 2)
        assertShardError(try CatalogCheck.check(collection: "ev", nextNumber: 2, highest: 2), "next_number is 2")
        assertShardError(try CatalogCheck.check(collection: "ev", nextNumber: .max, highest: 2), "inconsistent")
    }

    func testArchiveNames() throws {
        for ok in ["cold.db", "archive/2025.db", "a b.db", "x.db-old"] { try ArchiveName.validate(ok) }
        let bad: [(String, String)] = [
            ("", "empty"), ("/tmp/x.db", "absolute"), ("../x.db", "'..'"), ("a/../../x.db", "'..'"), ("./x.db", "'.'"),
            ("a//x.db", "empty folder"), ("a\\..\\x.db", "'\\'"), (":memory:", "':'"), ("file:x.db", "':'"),
            ("x\0.db", "NUL"), ("self.db-wal", "wal file"), ("self.db-journal", "journal file"),
            (String(repeating: "a", count: 600), "longer"),
        ]
        for (name, part) in bad { assertShardError(try ArchiveName.validate(name), "is not allowed", part) }
    }

    func testRetentionNeverMeasuresFromAPeriodAfterTheWallClock() {
        XCTAssertTrue(Retention.countsAsNewest(periodStart: 100, wallClockPeriodStart: 100))
        XCTAssertFalse(Retention.countsAsNewest(periodStart: 101, wallClockPeriodStart: 100))
        XCTAssertEqual(Retention(count: 100_000, unit: .days).cutoff(newestPeriodStart: .min + 5), .min)
        XCTAssertEqual(Retention(count: 2, unit: .hours).cutoff(newestPeriodStart: 10 * 3_600_000), 8 * 3_600_000)
    }

    func testBlocksAreBoundedByBytes() {
        var w = Block.Writer()
        let doc = [UInt8](repeating: 0x61, count: 300_000)
        doc.withUnsafeBytes { d in
            for i in 0..<3 { w.append(id: Int64(i), ts: 0, document: d) }
            XCTAssertFalse(w.isFull)
            w.append(id: 3, ts: 0, document: d)
            XCTAssertTrue(w.isFull, "over targetBytes")
        }
        XCTAssertTrue(w.fits(documentBytes: Block.maxBytes - w.bytes.count - Block.rowOverhead))
        XCTAssertFalse(w.fits(documentBytes: Block.maxBytes - w.bytes.count - Block.rowOverhead + 1))
        XCTAssertLessThan(Block.maxDocumentBytes + Block.headerBytes + Block.rowOverhead, Block.maxBytes + 1)
    }

    func testTsInPrunesByBinarySearch() {
        var f = ShardFilter()
        f.add(.ts, inList: (0..<100_000).map { .integer(Int64($0) * 10) })
        f.add(.ts, inList: [.integer(500), .integer(505), .integer(999_990)])
        XCTAssertEqual(f.timeList, [500, 999_990])
        XCTAssertTrue(ShardFilter.anyValue(of: [1, 5, 9], in: 5, 5))
        XCTAssertTrue(ShardFilter.anyValue(of: [1, 5, 9], in: 6, 100))
        XCTAssertFalse(ShardFilter.anyValue(of: [1, 5, 9], in: 6, 8))
        XCTAssertFalse(ShardFilter.anyValue(of: [1, 5, 9], in: 10, .max))
        XCTAssertFalse(ShardFilter.anyValue(of: [], in: .min, .max))
    }

    func testBlankSQL() {
        for blank in ["", " ;\n", "-- c\n", "/* x */ ;", "/* open"] { XCTAssertTrue(SQLText.isBlank(blank), blank) }
        for more in ["SELECT 1", " ; DELETE FROM t", "-- c\nx", "/* x */ y"] { XCTAssertFalse(SQLText.isBlank(more), more) }
    }
}

final class SQLTextMentionsTests: XCTestCase {
    private func mentions(_ sql: String, _ name: String) -> Bool {
        Array(sql.utf8).withUnsafeBytes { SQLText.mentions($0, name) }
    }

    func testAWordOfItsOwnInAnyCase() {
        XCTAssertTrue(mentions("SELECT shard_insert('ev', ?)", "shard_insert"))
        XCTAssertTrue(mentions("select SHARD_INSERT ('ev', ?)", "shard_insert"))
        XCTAssertTrue(mentions("SELECT \"shard_insert\"(1)", "shard_insert"))
        XCTAssertTrue(mentions("shard_insert", "shard_insert"))
        XCTAssertFalse(mentions("INSERT INTO chk VALUES (1)", "shard_insert"))
        XCTAssertFalse(mentions("SELECT my_shard_insert(1)", "shard_insert"))
        XCTAssertFalse(mentions("SELECT shard_insert2(1)", "shard_insert"))
        XCTAssertFalse(mentions("SELECT shard_insert$(1)", "shard_insert"))
        XCTAssertFalse(mentions("SELECT éshard_insert(1)", "shard_insert"))
        XCTAssertFalse(mentions("shard_inser", "shard_insert"))
        XCTAssertFalse(mentions("", "shard_insert"))
    }
}
