import ShardCore
import XCTest

final class RouterTests: XCTestCase {
    let jan2025: Int64 = 1_735_689_600_000
    let feb2025: Int64 = 1_738_368_000_000

    func options(maxRows: Int64 = 10) -> CollectionOptions {
        var o = CollectionOptions()
        o.partition = .month
        o.maxRows = maxRows
        return o
    }

    func shard(_ number: Int64, ts: Int64, category: String? = nil, seq: Int = 1, lastLocal: Int64 = 0,
               state: ShardState = .hot) -> ShardInfo {
        let period = Partition.month.period(containing: ts)
        return ShardInfo(key: ShardKey(collection: "ev", category: category, period: period.label, seq: seq),
                         number: number, period: period, lastLocal: lastLocal, state: state)
    }

    func testNoShardYetRoutesToTheFirstKeyOfItsLine() {
        var router = Router(collection: "ev", options: options())
        let (key, found) = router.route(Placement(ts: jan2025 + 5, category: nil), in: Catalog(), generation: 0)
        XCTAssertEqual(key.text, "ev:2025:01:001")
        XCTAssertNil(found)
    }

    func testNewestShardOfTheLineWhileItHasRoom() {
        var router = Router(collection: "ev", options: options())
        let first = shard(1, ts: jan2025, lastLocal: 10)
        let second = shard(2, ts: jan2025, seq: 2, lastLocal: 3)
        let catalog = Catalog([first, second, shard(3, ts: feb2025)])
        let (key, found) = router.route(Placement(ts: jan2025 + 1, category: nil), in: catalog, generation: 1)
        XCTAssertEqual(key.text, "ev:2025:01:002")
        XCTAssertTrue(found === second)
    }

    func testFullShardRoutesToTheNextKey() {
        var router = Router(collection: "ev", options: options())
        let catalog = Catalog([shard(1, ts: jan2025, lastLocal: 10)])
        let (key, found) = router.route(Placement(ts: jan2025, category: nil), in: catalog, generation: 1)
        XCTAssertEqual(key.text, "ev:2025:01:002")
        XCTAssertNil(found)
    }

    /// A late document whose period was merged goes into the merged table that holds
    /// it (of its category, while it has room), never into a new shard.
    func testLateDocumentOfAMergedPeriodGoesToItsMergedTable() {
        var o = options()
        o.partition = .day
        o.mergeRows = 100
        var router = Router(collection: "ev", options: o)
        let month = Partition.month.period(containing: jan2025)
        let merged = ShardInfo(key: .merged(collection: "ev", category: nil, period: month.label, part: 0),
                               number: 5, period: month, rows: 40)
        let webMonth = ShardInfo(key: .merged(collection: "ev", category: "web", period: month.label, part: 0),
                                 number: 6, period: month, rows: 99)
        let febDay = Partition.day.period(containing: feb2025)
        let current = ShardInfo(key: ShardKey(collection: "ev", category: nil, period: febDay.label, seq: 1),
                                number: 7, period: febDay)
        let catalog = Catalog([merged, webMonth, current])
        let (key, found) = router.route(Placement(ts: jan2025 + 3 * 86_400_000, category: nil), in: catalog, generation: 1)
        XCTAssertTrue(found === merged)
        XCTAssertEqual(key.text, "ev:2025:01:000")
        XCTAssertTrue(router.route(Placement(ts: feb2025 + 5, category: nil), in: catalog, generation: 1).shard === current)
        // Another category's merged table never takes it; a full one (merge_rows) neither.
        XCTAssertTrue(router.route(Placement(ts: jan2025, category: "web"), in: catalog, generation: 1).shard === webMonth)
        webMonth.rows = 100
        let (webKey, none) = router.route(Placement(ts: jan2025, category: "web"), in: catalog, generation: 1)
        XCTAssertNil(none)
        XCTAssertEqual(webKey.text, "ev:web:2025:01:01:001")
        XCTAssertNil(router.route(Placement(ts: jan2025, category: "ios"), in: catalog, generation: 1).shard)
        // A period no merged table holds makes its own shard.
        XCTAssertNil(router.route(Placement(ts: feb2025 + 2 * 86_400_000, category: nil), in: catalog, generation: 1).shard)
        // Compressed merged tables take no rows.
        merged.state = .compressed
        XCTAssertNil(router.route(Placement(ts: jan2025, category: nil), in: catalog, generation: 2).shard)
    }

    func testOnlyHotShardsHaveRoom() {
        let router = Router(collection: "ev", options: options())
        XCTAssertTrue(router.hasRoom(shard(1, ts: jan2025, lastLocal: 9)))
        XCTAssertFalse(router.hasRoom(shard(1, ts: jan2025, lastLocal: 10)))
        for state in [ShardState.retired, .archived, .compressed] {
            XCTAssertFalse(router.hasRoom(shard(1, ts: jan2025, state: state)), state.rawValue)
        }
        let huge = Router(collection: "ev", options: options(maxRows: .max))
        XCTAssertFalse(huge.hasRoom(shard(1, ts: jan2025, lastLocal: DocumentId.maxLocal)))
    }

    func testRemembersTheLastShardOnlyWhileItFits() {
        var router = Router(collection: "ev", options: options())
        let s = shard(1, ts: jan2025, category: "a")
        let catalog = Catalog([s])
        XCTAssertTrue(router.route(Placement(ts: jan2025, category: "a"), in: catalog, generation: 1).shard === s)
        // Same generation, another category or period: looked up again.
        XCTAssertEqual(router.route(Placement(ts: jan2025, category: "b"), in: catalog, generation: 1).key.text, "ev:b:2025:01:001")
        XCTAssertNil(router.route(Placement(ts: feb2025, category: "a"), in: catalog, generation: 1).shard)
        // Once full, the remembered shard is not used even in the same generation.
        s.lastLocal = 10
        let (key, found) = router.route(Placement(ts: jan2025, category: "a"), in: catalog, generation: 1)
        XCTAssertEqual(key.text, "ev:a:2025:01:002")
        XCTAssertNil(found)
        // A new catalog (another generation) is always looked up.
        let other = shard(7, ts: jan2025, category: "a")
        XCTAssertTrue(router.route(Placement(ts: jan2025, category: "a"), in: Catalog([other]), generation: 2).shard === other)
    }
}
