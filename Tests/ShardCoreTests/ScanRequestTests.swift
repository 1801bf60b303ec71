import ShardCore
import XCTest

final class ScanRequestTests: XCTestCase {
    // Columns: 0 id, 1 ts, 2 shard, 3 doc, 4 type, 5 n (integer), 6 tag (text), 7 filter.
    let layout = ColumnLayout(indexes: [
        IndexSpec(name: "type", path: try! JSONPath(parsing: "$.type")),
        IndexSpec(name: "n", path: try! JSONPath(parsing: "$.n"), type: .integer),
        IndexSpec(name: "tag", path: try! JSONPath(parsing: "$.tag"), type: .text),
    ], jsonb: false)

    func request(_ terms: [(Int, ScanPlan.Op)], _ arguments: [ScanRequest.Argument], variableLimit: Int = 32766,
                 order: ScanPlan.Order = .none) throws -> ScanRequest {
        let plan = ScanPlan(order: order, terms: terms.map { ScanPlan.Term(column: $0.0, op: $0.1) })
        return try ScanRequest(plan: plan, columns: layout, arguments: arguments, variableLimit: variableLimit) {
            "spelled \($0)"
        }
    }

    func text(_ s: String) -> ScanRequest.Value { .text(Array(s.utf8)) }

    func arg(_ n: Int) -> ScanRequest.Parameter { .argument(n) }

    func testConditionsThenFiveBoundsThenTheCap() throws {
        let r = try request([(1, .ge), (4, .eq), (-1, .limit), (-1, .offset)],
                            [.value(.integer(100)), .value(text("click")), .value(.integer(3)), .value(.integer(2))])
        XCTAssertEqual(r.conditions.map(\.sql), ["ts >= +?1", "json_extract(doc, '$.type') = +?2"])
        XCTAssertEqual(r.conditions.map(\.timeBound), [.lower, []])
        XCTAssertEqual(r.numbering, ScanNumbering(conditionCount: 2, limited: true))
        XCTAssertEqual(r.cap, 5)
        XCTAssertEqual(r.parameters, [arg(0), arg(1),
                                      .value(.integer(.min)), .value(.integer(.max)), .value(.integer(100)), .value(.integer(.max)),
                                      .value(.integer(0)), .value(.integer(5))])
        let n = r.numbering
        XCTAssertEqual([n.lowestId, n.highestId, n.lowestTs, n.highestTs, n.block, n.cap], [3, 4, 5, 6, 7, 8])
        XCTAssertEqual(n.count, r.parameters.count)
        XCTAssertEqual(r.blockProbe?.parameter, 2)
    }

    func testNoLimitNoCapParameter() throws {
        let r = try request([(0, .lt)], [.value(.integer(10))])
        XCTAssertEqual(r.cap, .max)
        XCTAssertNil(r.numbering.cap)
        XCTAssertEqual(r.parameters.count, 6)
        XCTAssertEqual(r.parameters[1], .value(.integer(.min)))
        XCTAssertEqual(r.parameters[2], .value(.integer(9)))   // id < 10: highest id 9
        // A LIMIT whose sum with its OFFSET overflows reads everything.
        let huge = try request([(-1, .limit), (-1, .offset)], [.value(.integer(.max)), .value(.integer(1))])
        XCTAssertEqual(huge.cap, .max)
        XCTAssertNil(huge.numbering.cap)
    }

    func testTermsWithoutParameters() throws {
        // IS NULL takes no argument; shard terms only prune.
        let r = try request([(4, .isnull), (2, .eq), (2, .like), (1, .eq)],
                            [.value(text("ev:2024")), .value(text("ev%")), .value(.integer(7))])
        XCTAssertEqual(r.conditions.map(\.sql), ["json_extract(doc, '$.type') IS NULL", "ts = +?1"])
        XCTAssertEqual(r.parameters.first, arg(2))
        XCTAssertEqual(r.numbering.conditionCount, 1)
        XCTAssertEqual(r.pruning.keys, ["ev:2024"])
        XCTAssertEqual(r.pruning.times.lo, 7)
    }

    func testInListsOnePerValueOrOneJSONValue() throws {
        let short = try request([(4, .in), (1, .gt)], [.list([text("a"), text("b")]), .value(.integer(5))])
        XCTAssertEqual(short.conditions.map(\.sql), ["json_extract(doc, '$.type') IN (+?1, +?2)", "ts > +?3"])
        // Values are counted in order, an IN list's items each.
        XCTAssertEqual(Array(short.parameters.prefix(3)), [arg(0), arg(1), arg(2)])
        // Above a quarter of the variable limit, one JSON array.
        let long = try request([(0, .in), (4, .eq)], [.list([.integer(1), .real(2.5), text("x")]), .value(text("a"))],
                               variableLimit: 8)
        XCTAssertEqual(long.conditions.map(\.sql),
                       ["id IN (SELECT value FROM json_each(+?1))", "json_extract(doc, '$.type') = +?2"])
        XCTAssertEqual(Array(long.parameters.prefix(2)), [.value(.text("[1,2.5,\"x\"]")), arg(3)])
        // An empty list matches nothing; on `shard` it only prunes.
        let empty = try request([(4, .in)], [.list([])])
        XCTAssertEqual(empty.conditions.map(\.sql), ["0"])
        XCTAssertEqual(empty.numbering.conditionCount, 0)
        let keys = try request([(2, .in)], [.list([text("k")])])
        XCTAssertEqual(keys.conditions, [])
        XCTAssertEqual(keys.pruning.keys, ["k"])
    }

    func testQueryDocumentNumbersItsParametersInLine() throws {
        let r = try request([(1, .ge), (7, .match), (4, .eq)],
                            [.value(.integer(1)), .value(text("{\"a\": 1, \"b\": {\"$gt\": 2}}")), .value(text("t"))])
        XCTAssertEqual(r.documentArgument, 1)
        XCTAssertEqual(r.conditions.count, 3)
        XCTAssertTrue(r.conditions[1].sql.contains("+?2") && r.conditions[1].sql.contains("+?3"), r.conditions[1].sql)
        XCTAssertEqual(r.conditions[2].sql, "json_extract(doc, '$.type') = +?4")
        XCTAssertEqual(Array(r.parameters.prefix(4)), [arg(0), .value(.integer(1)), .value(.integer(2)), arg(2)])
        XCTAssertEqual(r.numbering.block, 9)
        // A NULL document tests nothing, but is still the applied one.
        let none = try request([(7, .match)], [.value(.null)])
        XCTAssertEqual(none.documentArgument, 0)
        XCTAssertEqual(none.conditions, [])
    }

    func testTypedPathsConvertAsSQLiteWould() throws {
        // Text that reads as a number, against an integer path, is that number; a number
        // against a text path is SQLite's spelling of it; anything else goes as given.
        let r = try request([(5, .eq), (6, .lt), (5, .gt)], [.value(text(" 42 ")), .value(.real(1.5)), .value(text("x"))])
        XCTAssertEqual(Array(r.parameters.prefix(3)), [.value(.integer(42)), .value(.text("spelled 1")), arg(2)])
        XCTAssertEqual(r.summaryConditions.map(\.values), [[.integer(42)], [SummaryValue("spelled 1")], [SummaryValue("x")]])
    }

    func testPruningAndCoveredShards() throws {
        let period = Period(start: 0, end: 1000, label: "p")
        func shard(_ number: Int64, _ lo: Int64, _ hi: Int64) -> ShardInfo {
            ShardInfo(key: ShardKey(collection: "ev", category: nil, period: "p", seq: Int(number)), number: number,
                      period: period, rows: 1, minTs: lo, maxTs: hi)
        }
        let shards = [shard(1, 0, 99), shard(2, 100, 199), shard(3, 150, 400), shard(4, 500, 600)]
        let r = try request([(1, .ge), (1, .le)], [.value(.integer(100)), .value(.integer(300))])
        let visited = r.visits(shards)
        XCTAssertEqual(visited.shards.map(\.number), [2, 3])
        XCTAssertEqual(visited.skippedBySummary, 0)
        // Shard 2 lies wholly inside the range: its ts terms are left out of its SQL;
        // shard 3 only inside its lower end: that end's term is left out.
        XCTAssertEqual(visited.shards.map(r.coveredTimeBounds(of:)), [[.lower, .upper], .lower])
        XCTAssertEqual(r.conditions.map(\.timeBound), [.lower, .upper])
        let eq = try request([(1, .eq)], [.value(.real(150))])
        XCTAssertEqual(eq.conditions.map(\.timeBound), [[.lower, .upper]])
        // Text never prunes ts.
        let text = try request([(1, .ge)], [.value(text("2024"))])
        XCTAssertEqual(text.visits(shards).shards.count, 4)
        XCTAssertEqual(text.conditions.map(\.timeBound), [[]])
    }

    func testIdsNameShardsByNumberMappedToTheirHolders() throws {
        var r = try request([(0, .in)], [.list([.integer(DocumentId.make(shard: 3, local: 1))])])
        XCTAssertEqual(r.pruning.numbers, [3])
        r.mapShardNumbers { $0 == 3 ? 9 : nil }
        XCTAssertEqual(r.pruning.numbers, [9])
    }
}
