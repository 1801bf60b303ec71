import XCTest
@testable import ShardCore

final class MergePlanTests: XCTestCase {
    private var nextNumber: Int64 = 1

    /// A live shard of `label` (any level), with `rows` rows.
    private func shard(_ label: String, seq: Int = 1, part: Int = 0, rows: Int64 = 10, category: String? = nil,
                       state: ShardState = .hot) -> ShardInfo {
        let level = Partition.level(ofLabel: label)
        let key = ShardKey(collection: "e", category: category, period: label, seq: seq, part: part)
        defer { nextNumber += 1 }
        return ShardInfo(key: key, number: nextNumber, period: level.period(label: label)!, rows: rows, state: state)
    }

    private func ms(_ text: String) -> Int64 { try! Time.parse(text) }

    private func describe(_ groups: [MergePlan.Group]) -> [String] {
        groups.map { g in g.target.keyText + " <- " + g.sources.map(\.keyText).joined(separator: " ") }
    }

    func testSplitsOfAFinishedPeriodMergeIntoSeqZero() {
        let shards = [shard("2025:01", seq: 1), shard("2025:01", seq: 2), shard("2025:01", seq: 3), shard("2025:02")]
        let groups = MergePlan.plan(shards: shards, collection: "e", mergeRows: 1000) { _ in self.ms("2025-02-01") }
        XCTAssertEqual(describe(groups), ["e:2025:01:000 <- e:2025:01:001 e:2025:01:002 e:2025:01:003"])
        // Not finished: nothing.
        XCTAssertEqual(MergePlan.plan(shards: shards, collection: "e", mergeRows: 1000) { _ in self.ms("2025-01-31") }.count, 0)
        // One table per finished period already: nothing.
        XCTAssertEqual(MergePlan.plan(shards: [shard("2025:01"), shard("2025:02")], collection: "e", mergeRows: 1000) { _ in
            self.ms("2025-03-01") }.count, 0)
    }

    func testHoursGoToTheirDayThenDaysToTheirMonth() {
        let hours = [shard("2025:01:30:22"), shard("2025:01:30:23"), shard("2025:01:31:00"), shard("2025:01:31:01")]
        // Day 30 finished, the month not: its hours merge into the day.
        let day = MergePlan.plan(shards: hours, collection: "e", mergeRows: 1000) { _ in self.ms("2025-01-31T01:00:00") }
        XCTAssertEqual(describe(day), ["e:2025:01:30:000 <- e:2025:01:30:22:001 e:2025:01:30:23:001"])
        // The month finished: a merged day and the hours of another day go into the month at once.
        let merged = [shard("2025:01:30", seq: 0), shard("2025:01:31:00"), shard("2025:01:31:01"), shard("2025:02:01:00")]
        let month = MergePlan.plan(shards: merged, collection: "e", mergeRows: 1000) { _ in self.ms("2025-02-01") }
        XCTAssertEqual(describe(month), ["e:2025:01:000 <- e:2025:01:30:000 e:2025:01:31:00:001 e:2025:01:31:01:001"])
    }

    func testMergedTablesStayUnderMergeRowsAndBigTablesStay() {
        let shards = [shard("2025:01:01", rows: 30), shard("2025:01:02", rows: 30), shard("2025:01:03", rows: 30),
                      shard("2025:01:04", rows: 60), shard("2025:01:05", rows: 20), shard("2025:02:01")]
        let groups = MergePlan.plan(shards: shards, collection: "e", mergeRows: 100) { _ in self.ms("2025-02-01") }
        // Day 4 holds more than half of merge_rows: it stays. The rest pack in time order;
        // day 5 would be alone in a new table, so it stays too.
        XCTAssertEqual(describe(groups), ["e:2025:01:000 <- e:2025:01:01:001 e:2025:01:02:001 e:2025:01:03:001"])
        for g in groups { XCTAssertLessThanOrEqual(g.rows, 100) }
    }

    func testLateShardsJoinExistingMergedTablesWithRoomAndNewPartsNeverReuseKeys() {
        let full = shard("2025:01", seq: 0, rows: 100)
        let roomy = shard("2025:01", seq: 0, part: 1, rows: 50)
        let late = [shard("2025:01:07", seq: 2, rows: 30), shard("2025:01:09", seq: 2, rows: 30),
                    shard("2025:01:10", seq: 2, rows: 30), shard("2025:01:11", seq: 2, rows: 5)]
        let groups = MergePlan.plan(shards: [full, roomy] + late + [shard("2025:02:01")], collection: "e",
                                    mergeRows: 100) { _ in self.ms("2025-02-01") }
        XCTAssertEqual(describe(groups), ["e:2025:01:000b <- e:2025:01:07:002",
                                          "e:2025:01:000c <- e:2025:01:09:002 e:2025:01:10:002 e:2025:01:11:002"])
    }

    func testCategoriesMergeApartAndOnlyLiveTablesMove() {
        let shards = [shard("2025:01", seq: 1, category: "a"), shard("2025:01", seq: 2, category: "a"),
                      shard("2025:01", seq: 1, category: "b"), shard("2025:01", seq: 2, category: "b", state: .compressed),
                      shard("2025:02", category: "a")]
        // Category b has not finished January (no later period of b).
        let cuts: [String?: Int64] = MergePlan.cutForData(shards: shards, nowPeriodStart: ms("2030-01-01"))
        let groups = MergePlan.plan(shards: shards, collection: "e", mergeRows: 1000) { cuts[$0] ?? nil }
        XCTAssertEqual(describe(groups), ["e:a:2025:01:000 <- e:a:2025:01:001 e:a:2025:01:002"])
        // With January finished for b too, its compressed shard stays, and one table alone is not copied.
        let all = MergePlan.plan(shards: shards, collection: "e", mergeRows: 1000) { _ in self.ms("2025-02-01") }
        XCTAssertEqual(describe(all), ["e:a:2025:01:000 <- e:a:2025:01:001 e:a:2025:01:002"])
    }

    func testTheDataClockIgnoresFarFuturePeriods() {
        let shards = [shard("2025:01:01"), shard("2025:01:02"), shard("2099:01:01")]
        let cuts = MergePlan.cutForData(shards: shards, nowPeriodStart: ms("2025-06-01"))
        XCTAssertEqual(cuts[nil], ms("2025-01-02"))
    }

    func testMergedKeysAndCatalogAliases() {
        XCTAssertEqual(ShardKey.merged(collection: "e", category: nil, period: "2025:01", part: 0).text, "e:2025:01:000")
        XCTAssertEqual(ShardKey.merged(collection: "e", category: "x", period: "2025:01:15", part: 1).text, "e:x:2025:01:15:000b")
        XCTAssertEqual(ShardKey.merged(collection: "e", category: nil, period: "2025", part: 26).text, "e:2025:000ba")
        XCTAssertEqual(ShardKey.merged(collection: "e", category: nil, period: "2025:01", part: 2).tableName, "e_2025-01-000c")
        XCTAssertEqual(ShardKey.merged(collection: "e", category: nil, period: "2025:01", part: 0).tableName, "e_2025-01-000")
        for shadow in ["2025-01-000", "2025-01-000c", "2025-01-000ba-z", "x-2025-01-15-000"] {
            XCTAssertTrue(ShardTableName.isShadowSuffix(shadow), shadow)
        }
        for other in ["2025-01-001b", "2025-01-00b", "2025-01-000B"] {
            XCTAssertFalse(ShardTableName.isShadowSuffix(other), other)
        }

        let a = shard("2025:01", seq: 1), b = shard("2025:01", seq: 2)
        var catalog = Catalog([a, b])
        let target = ShardInfo(key: .merged(collection: "e", category: nil, period: "2025:01", part: 0), number: 99,
                               period: Partition.month.period(label: "2025:01")!, rows: 20, minId: 5, maxId: 7)
        catalog.merge([a, b], into: target)
        XCTAssertEqual(catalog.shards.map(\.number), [99])
        XCTAssertTrue(catalog.shard(number: a.number) === target)
        XCTAssertTrue(catalog.shard(number: b.number) === target)
        XCTAssertEqual(target.sources, [a.number, b.number])
        XCTAssertTrue(target.holdsIds(ofShard: b.number))
        // The line's next shard continues after the merged ones.
        XCTAssertEqual(catalog.newest(line: .init(category: nil, period: "2025:01"))?.key.seq, 2)
        XCTAssertFalse(catalog.newest(line: .init(category: nil, period: "2025:01"))!.isLive)
        catalog.remove(numbers: [99])
        XCTAssertNil(catalog.shard(number: a.number))
    }
}

extension MergePlanTests {
    func testAShardStillTakingLateRowsWaitsOnePeriodMore() {
        let full = shard("2025:01", seq: 1), open = shard("2025:01", seq: 2), feb = shard("2025:02")
        let plan = { (cut: String) in
            MergePlan.plan(shards: [full, open, feb], collection: "e", mergeRows: 1000,
                           isOpen: { $0 === open || $0 === feb }) { _ in self.ms(cut) }
        }
        XCTAssertEqual(plan("2025-02-01").count, 0, "January's open shard waits; the full one alone is not copied")
        XCTAssertEqual(plan("2025-02-28").count, 0)
        XCTAssertEqual(describe(plan("2025-03-01")), ["e:2025:01:000 <- e:2025:01:001 e:2025:01:002"])
        // A late shard alone in its line (the rest merged) waits a period more.
        let merged = shard("2025:01", seq: 0, rows: 100), late = shard("2025:01", seq: 3)
        let later = { (cut: String) in
            MergePlan.plan(shards: [merged, late, feb], collection: "e", mergeRows: 1000,   // 000 shares the line
                           isOpen: { $0 === late || $0 === feb }) { _ in self.ms(cut) }
        }
        XCTAssertEqual(later("2025-03-01").count, 0)
        XCTAssertEqual(describe(later("2025-04-01")), ["e:2025:01:000 <- e:2025:01:003"])
    }
}
