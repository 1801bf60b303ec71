import ShardCore
import XCTest

final class ScanEstimateTests: XCTestCase {
    func testFullScanHasAFloor() {
        XCTAssertEqual(ScanEstimate(totalRows: 10).rows, 100_000)
        XCTAssertEqual(ScanEstimate(totalRows: 5_000_000).rows, 5_000_000)
        XCTAssertEqual(ScanEstimate(totalRows: 10).cost, 200_010)
    }

    func testIdEqualityIsOneUniqueRow() {
        var e = ScanEstimate(totalRows: 1_000_000)
        e.apply(.id, .eq)
        XCTAssertEqual(e.estimatedRows, 1)
        XCTAssertTrue(e.unique)
        XCTAssertEqual(e.cost, 12)
    }

    func testSelectivities() {
        func rows(_ terms: [(Column, ScanPlan.Op)], filter: Bool = false) -> Int64 {
            var e = ScanEstimate(totalRows: 1_000_000)
            if filter { e.applyFilter() }
            for (c, op) in terms { e.apply(c, op) }
            XCTAssertFalse(e.unique)
            return e.estimatedRows
        }
        XCTAssertEqual(rows([(.id, .in)]), 10)
        XCTAssertEqual(rows([(.shard, .like)]), 100_000)
        XCTAssertEqual(rows([(.ts, .eq)]), 10_000)
        XCTAssertEqual(rows([(.index(0), .in)]), 10_000)
        XCTAssertEqual(rows([(.index(0), .isnull)]), 10_000)
        XCTAssertEqual(rows([(.ts, .ge), (.ts, .lt)]), 62_500)
        XCTAssertEqual(rows([], filter: true), 100_000)
        // Never below one row.
        XCTAssertEqual(rows([(.ts, .eq), (.index(0), .eq), (.index(1), .eq), (.index(2), .eq)]), 1)
    }

    func testMoreTermsNeverCostMore() {
        var a = ScanEstimate(totalRows: 1_000_000)
        a.apply(.ts, .ge)
        var b = a
        b.apply(.index(0), .eq)
        XCTAssertLessThan(b.cost, a.cost)
    }

    /// A plan that reads `filter` without a document costs more than any plan that
    /// applies one, or than the branches of an OR together.
    func testReadingFilterWithoutADocumentCostsMost() {
        var full = ScanEstimate(totalRows: 1_000_000)
        full.readFilterWithoutDocument()
        var document = ScanEstimate(totalRows: 1_000_000)
        document.applyFilter()
        var range = ScanEstimate(totalRows: 1_000_000)
        range.apply(.ts, .ge)
        range.readFilterWithoutDocument()
        XCTAssertGreaterThan(full.cost, document.cost + range.cost)
        XCTAssertEqual(full.estimatedRows, 1_000_000, "rows are not changed, only the cost")
    }
}
