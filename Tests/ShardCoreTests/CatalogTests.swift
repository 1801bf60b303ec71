import ShardCore
import XCTest

final class CatalogTests: XCTestCase {
    // 2024-12-01, 2025-01-01, 2025-02-01, 2025-03-01, 2025-04-01 (ms)
    let dec2024: Int64 = 1_733_011_200_000
    let jan2025: Int64 = 1_735_689_600_000
    let feb2025: Int64 = 1_738_368_000_000
    let mar2025: Int64 = 1_740_787_200_000
    let apr2025: Int64 = 1_743_465_600_000

    func shard(_ number: Int64, _ partition: Partition, ts: Int64, state: ShardState = .hot, file: String? = nil) -> ShardInfo {
        let period = partition.period(containing: ts)
        return ShardInfo(key: ShardKey(collection: "ev", category: nil, period: period.label, seq: 1),
                         number: number, period: period, state: state, file: file)
    }

    func testEndedShards() {
        let catalog = Catalog([
            shard(1, .month, ts: dec2024), shard(2, .month, ts: jan2025, state: .retired),
            shard(3, .month, ts: jan2025 + 1, state: .compressed), shard(4, .month, ts: jan2025 + 2, state: .archived, file: "a.db"),
            shard(5, .month, ts: feb2025),
        ])
        XCTAssertEqual(catalog.ended(by: feb2025).map(\.number), [1, 3, 4], "a period ending exactly then counts; retired ones do not")
        XCTAssertEqual(catalog.ended(by: feb2025 - 1).map(\.number), [1])
        XCTAssertEqual(catalog.liveEnded(by: feb2025).map(\.number), [1])
        XCTAssertEqual(Catalog([shard(1, .none, ts: 0)]).ended(by: .max).count, 0, "partition none never ends")
    }

    /// A merged table (seq 0) with no rows, or with id bounds edited by hand, holds no
    /// ids: checking it is an answer or an error, never a trap (found by the fuzzer).
    func testAnEmptyMergedTableHoldsNoIds() throws {
        let period = Partition.month.period(containing: jan2025)
        let key = ShardKey(collection: "ev", category: nil, period: period.label, seq: 0)
        let empty = ShardInfo(key: key, number: 3, period: period)
        XCTAssertEqual(empty.ids, 0...0)
        XCTAssertNoThrow(try CatalogCheck.check(collection: "ev", empty))
        let oneBound = ShardInfo(key: key, number: 3, period: period, maxId: DocumentId.make(shard: 3, local: 5))
        XCTAssertThrowsError(try CatalogCheck.check(collection: "ev", oneBound)) { error in
            XCTAssertTrue("\(error)".contains("catalog of 'ev' is inconsistent"), "\(error)")
        }
    }

    func testRetentionVictims() {
        let retain = Retention(count: 2, unit: .months)
        let catalog = Catalog([shard(1, .month, ts: dec2024), shard(2, .month, ts: jan2025),
                               shard(3, .month, ts: feb2025), shard(4, .month, ts: mar2025)])
        let april = Partition.month.period(containing: apr2025)
        // Cutoff 2025-02-01: December ended more than two months before April; January exactly two.
        XCTAssertEqual(retain.victims(in: catalog, newPeriod: april).map(\.number), [1])
        // A new shard of an older period does not move the cutoff.
        XCTAssertEqual(retain.victims(in: catalog, newPeriod: Partition.month.period(containing: jan2025)).count, 0)
        catalog.shards[0].state = .retired
        XCTAssertEqual(retain.victims(in: catalog, newPeriod: april).count, 0, "already retired")
        XCTAssertEqual(retain.victims(in: Catalog([shard(1, .none, ts: 0)]), newPeriod: Partition.none.period(containing: 0)).count, 0)
        // A period after the wall clock's is never the newest: neither new, nor already there.
        let march = Partition.month.period(containing: mar2025).start!
        XCTAssertEqual(retain.victims(in: catalog, newPeriod: april, wallClockPeriodStart: march).count, 0)
        let future = Catalog([shard(1, .month, ts: dec2024), shard(2, .month, ts: apr2025)])
        XCTAssertEqual(Retention(count: 1, unit: .months).victims(in: future, newPeriod: Partition.month.period(containing: mar2025),
                                                                 wallClockPeriodStart: march).map(\.number), [1], "April is ahead of the clock")
    }

    func testShardFilterTakesColumns() {
        var f = ShardFilter()
        f.add(.id, inList: [.integer(DocumentId.make(shard: 2, local: 5))])
        f.add(.ts, op: .ge, value: .integer(jan2025))
        XCTAssertFalse(f.mayContain(shard(1, .month, ts: feb2025)))
        XCTAssertTrue(f.mayContain(shard(2, .month, ts: feb2025)))
        XCTAssertFalse(f.mayContain(shard(2, .month, ts: dec2024)))
        var g = ShardFilter()
        g.add(.shard, op: .eq, value: .text("ev:2025:02:001"))
        XCTAssertTrue(g.mayContain(shard(9, .month, ts: feb2025)))
        XCTAssertFalse(g.mayContain(shard(9, .month, ts: jan2025)))
    }
}
