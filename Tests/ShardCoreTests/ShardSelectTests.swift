import ShardCore
import XCTest

final class ShardSelectTests: XCTestCase {
    let layout = ColumnLayout(indexes: [IndexSpec(name: "type", path: try! JSONPath(parsing: "$.type"))], jsonb: true)

    func testTimeOrderedScanWithIndexedEquality() {
        // Columns used: ts, doc, type.
        let plan = ScanPlan(columnsUsed: 0b11010, order: .tsAscending, terms: [])
        let s = ShardSelect(plan: plan, columns: layout,
                            conditions: [.init("ts >= +?1", timeBound: .lower), .init("json_extract(doc, '$.type') = +?2")],
                            numbering: ScanNumbering(conditionCount: 2, limited: false), blockProbe: .init(pathHash: 7, parameter: 2))
        XCTAssertEqual(s.columnMap, [0, 1, -1, 2, 3, -1])
        XCTAssertEqual(s.head, "SELECT id, ts, json(doc), json_extract(doc, '$.type') FROM ")
        XCTAssertEqual(s.tail, " WHERE ts >= +?1 AND json_extract(doc, '$.type') = +?2 ORDER BY ts, id")
        XCTAssertEqual(s.tail(covering: [.lower, .upper]), " WHERE json_extract(doc, '$.type') = +?2 ORDER BY ts, id")
        XCTAssertEqual(s.tail(covering: .lower), s.tail(covering: [.lower, .upper]))
        XCTAssertEqual(s.tail(covering: .upper), s.tail)
        XCTAssertEqual(s.compressedTail,
                       " AS z, shards_block(z.data, z.keys, 7, +?2) WHERE z.last_id >= +?3 AND z.first_id <= +?4"
                       + " AND z.max_ts >= +?5 AND z.min_ts <= +?6 AND ts >= +?1 AND json_extract(doc, '$.type') = +?2 ORDER BY ts, id")
        XCTAssertEqual(s.blockTail,
                       " AS z, shards_block(z.data, z.keys, 7, +?2) WHERE z.block = +?7 AND ts >= +?1 AND json_extract(doc, '$.type') = +?2 ORDER BY ts, id")
    }

    func testBlockRangesInTheScansOrder() {
        let byTime = ShardSelect(plan: ScanPlan(columnsUsed: 0b1, order: .tsDescending, terms: []), columns: layout,
                                 conditions: [.init("json_extract(doc, '$.type') = +?1")], numbering: ScanNumbering(conditionCount: 1, limited: true), blockProbe: nil)
        XCTAssertEqual(byTime.blockRangesHead, "SELECT min_ts, max_ts, block FROM ")
        XCTAssertEqual(byTime.blockRangesTail,
                       " AS z WHERE z.last_id >= +?2 AND z.first_id <= +?3 AND z.max_ts >= +?4 AND z.min_ts <= +?5 ORDER BY 1")
        let byId = ShardSelect(plan: ScanPlan(columnsUsed: 0b1, order: .idAscending, terms: []), columns: layout,
                               conditions: [], numbering: ScanNumbering(conditionCount: 0, limited: false), blockProbe: nil)
        XCTAssertEqual(byId.blockRangesHead, "SELECT first_id, last_id, block FROM ")
        // With a probe, the blocks' keys and the probe's value, to skip blocks before their data is read.
        let probed = ShardSelect(plan: ScanPlan(columnsUsed: 0b1, order: .none, terms: []), columns: layout,
                                 conditions: [.init("json_extract(doc, '$.type') = +?1")], numbering: ScanNumbering(conditionCount: 1, limited: false),
                                 blockProbe: .init(pathHash: 7, parameter: 1))
        XCTAssertEqual(probed.blockRangesHead, "SELECT first_id, last_id, block, keys, +?1 FROM ")
    }

    func testOverlappingRangesGroupTogether() {
        let ranges: [(lo: Int64, hi: Int64)] = [(20, 30), (0, 5), (5, 9), (31, 40), (12, 19), (35, 60), (10, 11)]
        let groups = overlapGroups(ranges) { $0 }
        // Touching ranges (5) share a group: rows with ts 5 in both are ordered by id.
        XCTAssertEqual(groups.map { $0.map(\.lo) }, [[0, 5], [10], [12], [20], [31, 35]])
        XCTAssertEqual(overlapGroups([(Int64, Int64)]()) { (lo: $0.0, hi: $0.1) }.count, 0)
    }

    func testIdOrderWithLimitSelectsOnlyTheId() {
        let plan = ScanPlan(columnsUsed: 0b1, order: .idDescending, terms: [])
        let s = ShardSelect(plan: plan, columns: layout, conditions: [], numbering: ScanNumbering(conditionCount: 0, limited: true), blockProbe: nil)
        XCTAssertEqual(s.columnMap, [0, -1, -1, -1, -1, -1])
        XCTAssertEqual(s.head, "SELECT id FROM ")
        XCTAssertEqual(s.tail, " ORDER BY id DESC LIMIT +?6")
        XCTAssertEqual(s.tail(covering: [.lower, .upper]), s.tail)
        XCTAssertEqual(s.compressedTail,
                       " AS z, shards_block(z.data) WHERE z.last_id >= +?1 AND z.first_id <= +?2 AND z.max_ts >= +?3 AND z.min_ts <= +?4 ORDER BY id DESC LIMIT +?6")
        XCTAssertEqual(s.blockTail, " AS z, shards_block(z.data) WHERE z.block = +?5 ORDER BY id DESC LIMIT +?6")
    }

    func testTimeOrderReadsTsEvenWhenUnused() {
        let plan = ScanPlan(columnsUsed: 0b1, order: .tsDescending, terms: [])
        let s = ShardSelect(plan: plan, columns: layout, conditions: [], numbering: ScanNumbering(conditionCount: 0, limited: false), blockProbe: nil)
        XCTAssertEqual(s.columnMap, [0, 1, -1, -1, -1, -1])
        XCTAssertEqual(s.tail, " ORDER BY ts DESC, id DESC")
    }

    func testShardAndFilterAreNeverShardColumns() {
        let s = ShardSelect(plan: ScanPlan(), columns: layout, conditions: [], numbering: ScanNumbering(conditionCount: 0, limited: false), blockProbe: nil)
        XCTAssertEqual(s.columnMap, [0, 1, -1, 2, 3, -1])
        XCTAssertEqual(s.tail, "")
    }
}
