import ShardCore
import XCTest

final class ScanPlannerTests: XCTestCase {
    // Columns: 0 id, 1 ts, 2 shard, 3 doc, 4 type, 5 filter.
    let layout = ColumnLayout(indexes: [IndexSpec(name: "type", path: try! JSONPath(parsing: "$.type"))], jsonb: false)

    func plan(_ constraints: [ScanPlanner.Constraint], orderBy: [ScanPlanner.OrderTerm] = [],
              used: UInt64 = 0b11) throws -> ScanPlanner {
        try ScanPlanner(columns: layout, columnsUsed: used, totalRows: 1_000_000, constraints: constraints, orderBy: orderBy)
    }

    func testPushedTermsTakeArgumentsInOrderAndAreOmitted() throws {
        let p = try plan([.init(column: 1, op: .ge), .init(column: 4, op: .isnull), .init(column: 4, op: .eq),
                          .init(column: 3, op: .eq), .init(column: -1, op: .lt)])
        XCTAssertEqual(p.plan.encoded, "3|-|1:ge,4:isnull,4:eq,0:lt")
        XCTAssertEqual(p.usage.map(\.argvIndex), [1, 0, 2, 0, 3])
        // doc is never pushed: SQLite tests it.
        XCTAssertEqual(p.usage.map(\.omit), [true, true, true, false, true])
        XCTAssertFalse(p.orderConsumed)
    }

    func testLimitOnlyWhenEveryTermIsPushedAndTheOrderConsumed() throws {
        let limit = ScanPlanner.Constraint(column: 0, op: .limit), offset = ScanPlanner.Constraint(column: 0, op: .offset)
        let byTs = [ScanPlanner.OrderTerm(column: 1, descending: true)]
        let pushed = try plan([.init(column: 4, op: .eq), limit, offset], orderBy: byTs)
        XCTAssertEqual(pushed.plan.encoded, "3|u|4:eq,-1:limit,-1:offset")
        XCTAssertEqual(pushed.usage.map(\.argvIndex), [1, 2, 3])
        XCTAssertTrue(pushed.orderConsumed)
        // A term SQLite tests (doc), an order the shards cannot give, a shard term: no LIMIT.
        XCTAssertEqual(try plan([.init(column: 3, op: .eq), limit], orderBy: byTs).plan.encoded, "3|u|")
        XCTAssertEqual(try plan([limit], orderBy: [.init(column: 4, descending: false)]).plan.encoded, "3|-|")
        XCTAssertEqual(try plan([.init(column: 2, op: .like), limit]).plan.encoded, "3|-|2:like")
        // An unusable LIMIT is left alone; an unusable term keeps the LIMIT up.
        XCTAssertEqual(try plan([.init(column: 0, op: .limit, usable: false)]).plan.encoded, "3|-|")
        XCTAssertEqual(try plan([.init(column: 4, op: .eq, usable: false), limit]).plan.encoded, "3|-|")
    }

    func testOrders() throws {
        func order(_ terms: [(Int, Bool)]) throws -> ScanPlan.Order {
            try plan([], orderBy: terms.map { .init(column: $0.0, descending: $0.1) }).plan.order
        }
        XCTAssertEqual(try order([(-1, false)]), .idAscending)
        XCTAssertEqual(try order([(0, true)]), .idDescending)
        XCTAssertEqual(try order([(1, false), (-1, false)]), .tsAscending)
        XCTAssertEqual(try order([(1, true), (0, true)]), .tsDescending)
        XCTAssertEqual(try order([(1, true), (0, false)]), .none)
        XCTAssertEqual(try order([(0, false), (1, false)]), .none)
    }

    func testInListsShardTermsCollationsAndDocuments() throws {
        let p = try plan([.init(column: 4, op: .eq, wholeIn: true), .init(column: 2, op: .eq), .init(column: 2, op: .gt),
                          .init(column: 4, op: .gt, binary: false), .init(column: 1, op: .lt, binary: false),
                          .init(column: 5, op: .eq)])
        XCTAssertEqual(p.plan.encoded, "3|-|4:in,2:eq,1:lt,5:match")
        XCTAssertEqual(p.usage.map(\.wholeIn), [true, false, false, false, false, false])
        XCTAssertEqual(p.usage.map(\.argvIndex), [1, 2, 0, 0, 3, 4])
        // A shard term prunes only: SQLite tests it again.
        XCTAssertEqual(p.usage.map(\.omit), [true, false, false, false, true, true])
        XCTAssertThrowsError(try plan([.init(column: 5, op: .ne)]))
        XCTAssertThrowsError(try plan([.init(column: 5, op: .isnot)]))
    }

    func testEstimates() throws {
        XCTAssertTrue(try plan([.init(column: 0, op: .eq)]).estimate.unique)
        let eq = try plan([.init(column: 4, op: .eq)]).estimate, range = try plan([.init(column: 4, op: .gt)]).estimate
        XCTAssertLessThan(eq.cost, range.cost)
        // Reading `filter` without a document costs most, so SQLite splits an OR.
        let filterRead = try plan([.init(column: 4, op: .eq)], used: 1 << 5).estimate
        XCTAssertTrue(filterRead.readsFilterWithoutDocument)
        XCTAssertFalse(try plan([.init(column: 5, op: .eq)], used: 1 << 5).estimate.readsFilterWithoutDocument)
    }
}
