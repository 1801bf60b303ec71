import XCTest
@testable import ShardCore

final class ShardSummaryTests: XCTestCase {
    private func summary(_ values: [String: [BlockFilter.Value?]]) -> ShardSummary {
        let paths = values.keys.sorted()
        var b = ShardSummary.Builder(paths: paths)
        for (i, p) in paths.enumerated() { for v in values[p]! { b.add(pathIndex: i, v) } }
        return b.build()
    }

    private func text(_ s: String) -> BlockFilter.Value {
        // The builder copies what it keeps, so a pointer valid for the call is enough;
        // keep the bytes alive for the test's life instead.
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: s.utf8.count, alignment: 1)
        bytes.copyBytes(from: Array(s.utf8))
        return .text(UnsafeRawBufferPointer(bytes))
    }

    private func cond(_ path: String, _ op: SummaryCondition.Op, _ values: SummaryValue...) -> SummaryCondition {
        SummaryCondition(path: path, op: op, values: values)
    }

    func testEqualityAndInUseExactValuesWhenFew() {
        let s = summary(["$.type": [text("click"), text("view"), nil], "$.n": [.integer(3), .real(7.5), .integer(10)]])
        XCTAssertTrue(s.mayMatch([cond("$.type", .eq, SummaryValue("click"))]))
        XCTAssertFalse(s.mayMatch([cond("$.type", .eq, SummaryValue("buy"))]))
        XCTAssertTrue(s.mayMatch([cond("$.type", .eq, SummaryValue("buy"), SummaryValue("view"))]), "IN: any of them")
        XCTAssertFalse(s.mayMatch([cond("$.type", .eq, SummaryValue("buy"), SummaryValue("sell"))]))
        XCTAssertTrue(s.mayMatch([cond("$.type", .isNull)]))
        XCTAssertFalse(s.mayMatch([cond("$.n", .isNull)]))
        XCTAssertTrue(s.mayMatch([cond("$.n", .eq, .real(3.0))]), "3.0 = 3 in SQLite")
        XCTAssertTrue(s.mayMatch([cond("$.n", .eq, .real(7.5))]))
        XCTAssertFalse(s.mayMatch([cond("$.n", .eq, .integer(4))]))
        XCTAssertFalse(s.mayMatch([cond("$.n", .eq, SummaryValue("3"))]), "a number never equals a text")
        // Every condition must be possible.
        XCTAssertFalse(s.mayMatch([cond("$.type", .eq, SummaryValue("click")), cond("$.n", .eq, .integer(4))]))
        // A path the summary does not cover never skips.
        XCTAssertTrue(s.mayMatch([cond("$.other", .eq, .integer(1))]))
    }

    /// A late row widens the summary: what it holds is then "maybe", what the table
    /// held stays "maybe", and a row it already covers changes nothing.
    func testWideningCoversTheNewRowAndKeepsTheOld() {
        let s = summary(["$.type": [text("click"), text("view")], "$.n": [.integer(3), .integer(10)]])
        let hashes = ["$.n", "$.type"].map(BlockFilter.pathHash)
        XCTAssertNil(s.widened(pathHashes: hashes, values: [.integer(3), text("view")]), "already covered")
        let w = s.widened(pathHashes: hashes, values: [.integer(42), nil])!
        XCTAssertFalse(s.mayMatch([cond("$.n", .eq, .integer(42))]))
        XCTAssertTrue(w.mayMatch([cond("$.n", .eq, .integer(42))]))
        XCTAssertTrue(w.mayMatch([cond("$.n", .gt, .integer(40))]), "the maximum moved")
        XCTAssertTrue(w.mayMatch([cond("$.type", .isNull)]))
        XCTAssertTrue(w.mayMatch([cond("$.type", .eq, SummaryValue("click"))]))
        XCTAssertFalse(w.mayMatch([cond("$.type", .eq, SummaryValue("buy"))]), "still exact")
        XCTAssertFalse(w.mayMatch([cond("$.n", .eq, .integer(11))]))
        XCTAssertEqual(ShardSummary(encoded: w.encoded(shard: 3), shard: 3), w)
        // A path only seen as NULL gains its first value.
        let nulls = summary(["$.x": [nil]])
        let x = nulls.widened(pathHashes: [BlockFilter.pathHash("$.x")], values: [text("a")])!
        XCTAssertTrue(x.mayMatch([cond("$.x", .eq, SummaryValue("a"))]))
        XCTAssertTrue(x.mayMatch([cond("$.x", .isNull)]))
        XCTAssertFalse(x.mayMatch([cond("$.x", .eq, SummaryValue("b"))]))
    }

    /// Past `maxExact` values the exact keys become Bloom bits (room to grow), then
    /// the bits are set: every value ever added stays "maybe".
    func testWideningPastExactValuesKeepsEveryValue() {
        var s = summary(["$.n": [.integer(0)]])
        let hash = [BlockFilter.pathHash("$.n")]
        for i in 1..<500 { s = s.widened(pathHashes: hash, values: [.integer(Int64(i))]) ?? s }
        for i in 0..<500 { XCTAssertTrue(s.mayMatch([cond("$.n", .eq, .integer(Int64(i)))]), "value \(i)") }
        let misses = (1000..<2000).filter { s.mayMatch([cond("$.n", .eq, .integer(Int64($0 * 7919)))]) }.count
        XCTAssertLessThan(misses, 1000, "values outside the range are still told apart by min and max")
        XCTAssertEqual(ShardSummary(encoded: s.encoded(shard: 3), shard: 3), s)
        // Wide Bloom bits built by the Builder take new keys too.
        var b = ShardSummary.Builder(paths: ["$.n"])
        for i in 0..<100 { b.add(pathIndex: 0, .integer(Int64(i))) }
        let built = b.build()
        let w = built.widened(pathHashes: hash, values: [.integer(50_000)])!
        XCTAssertTrue(w.mayMatch([cond("$.n", .eq, .integer(50_000))]))
        for i in 0..<100 { XCTAssertTrue(w.mayMatch([cond("$.n", .eq, .integer(Int64(i)))])) }
    }

    func testRangesFollowSQLiteOrder() {
        let s = summary(["$.n": [.integer(3), .real(7.5), .integer(10)], "$.t": [text("b"), text("d")]])
        XCTAssertTrue(s.mayMatch([cond("$.n", .gt, .integer(9))]))
        XCTAssertFalse(s.mayMatch([cond("$.n", .gt, .integer(10))]))
        XCTAssertTrue(s.mayMatch([cond("$.n", .ge, .real(10.0))]))
        XCTAssertFalse(s.mayMatch([cond("$.n", .ge, .real(10.5))]))
        XCTAssertFalse(s.mayMatch([cond("$.n", .lt, .integer(3))]))
        XCTAssertTrue(s.mayMatch([cond("$.n", .le, .integer(3))]))
        XCTAssertTrue(s.mayMatch([cond("$.n", .lt, SummaryValue("a"))]), "every number sorts before every text")
        XCTAssertFalse(s.mayMatch([cond("$.n", .gt, SummaryValue("a"))]))
        XCTAssertTrue(s.mayMatch([cond("$.t", .gt, .integer(1_000_000))]), "texts sort after numbers")
        XCTAssertFalse(s.mayMatch([cond("$.t", .gt, SummaryValue("d"))]))
        XCTAssertTrue(s.mayMatch([cond("$.t", .gt, SummaryValue("c"))]))
        XCTAssertFalse(s.mayMatch([cond("$.t", .lt, SummaryValue("b"))]))
        XCTAssertFalse(s.mayMatch([cond("$.t", .eq, SummaryValue("c"))]), "inside the range but not a value")
    }

    func testOnlyNullsMatchOnlyIsNull() {
        let s = summary(["$.x": [nil, nil]])
        XCTAssertTrue(s.mayMatch([cond("$.x", .isNull)]))
        for op in [SummaryCondition.Op.eq, .gt, .ge, .lt, .le] {
            XCTAssertFalse(s.mayMatch([cond("$.x", op, .integer(0))]), "\(op)")
        }
    }

    func testManyValuesUseABloomFilterWithoutFalseNegatives() {
        let values: [BlockFilter.Value?] = (0..<5000).map { .integer(Int64($0 * 2)) }
        let s = summary(["$.u": values])
        XCTAssertNil(s.paths[BlockFilter.pathHash("$.u")]!.exact)
        for i in 0..<5000 { XCTAssertTrue(s.mayMatch([cond("$.u", .eq, .integer(Int64(i * 2)))])) }
        let skipped = (0..<5000).filter { !s.mayMatch([cond("$.u", .eq, .integer(Int64($0 * 2 + 1)))]) }
        XCTAssertGreaterThan(skipped.count, 4800, "few false positives")
        XCTAssertFalse(s.mayMatch([cond("$.u", .eq, .integer(-1))]), "below the minimum")
    }

    func testLongTextsKeepALowerBoundAndNoUpperBound() {
        let long = String(repeating: "z", count: 500)
        let s = summary(["$.t": [text("m" + long), text(long)]])
        XCTAssertTrue(s.mayMatch([cond("$.t", .gt, SummaryValue(long + "zz"))]), "no upper bound kept")
        XCTAssertFalse(s.mayMatch([cond("$.t", .lt, SummaryValue("m"))]))
        XCTAssertTrue(s.mayMatch([cond("$.t", .eq, SummaryValue(long))]))
    }

    func testBytesRoundTripAndBadBytesAreUnknown() {
        let s = summary(["$.type": [text("click"), nil], "$.n": (0..<100).map { .integer(Int64($0)) },
                         "$.r": [.real(1.5), text("x")]])
        XCTAssertEqual(ShardSummary(encoded: s.encoded(shard: 7), shard: 7), s)
        XCTAssertEqual(ShardSummary(encoded: ShardSummary().encoded(shard: 1), shard: 1), ShardSummary())
        let bytes = s.encoded(shard: 7)
        for cut in 0..<bytes.count { XCTAssertNil(ShardSummary(encoded: Array(bytes[..<cut]), shard: 7)) }
        XCTAssertNil(ShardSummary(encoded: [9, 0], shard: 7))
        // Every byte, each bit flipped: never read as a summary.
        for i in bytes.indices {
            for bit in 0..<8 {
                var bad = bytes
                bad[i] ^= 1 << bit
                XCTAssertNil(ShardSummary(encoded: bad, shard: 7), "byte \(i) bit \(bit)")
            }
        }
        // Another shard's summary, and version 1 (no check), are not used.
        XCTAssertNil(ShardSummary(encoded: bytes, shard: 8))
        var v1 = Array(bytes.dropLast(8))
        v1[0] = 1
        XCTAssertNil(ShardSummary(encoded: v1, shard: 7))
    }

    func testIntegerAndRealCompareExactly() {
        XCTAssertTrue(SummaryValue.integer(9_007_199_254_740_993) > .real(9_007_199_254_740_992))
        XCTAssertFalse(SummaryValue.integer(3) < .real(3.0))
        XCTAssertFalse(SummaryValue.real(3.0) < .integer(3))
        XCTAssertTrue(SummaryValue.integer(.max) < .real(1e19))
        XCTAssertTrue(SummaryValue.real(-1e19) < .integer(.min))
    }

    func testQueryDocumentsGiveTheirRequiredConditions() throws {
        let q = try QueryDocument.compile(#"{"type":"click","n":{"$gte":5,"$lt":9},"k":{"$in":[1,"a"]},"z":null,"$or":[{"w":1},{"w":2}],"$and":[{"v":true}]}"#, firstParameter: 1)
        let want: [SummaryCondition] = [
            cond("$.type", .eq, SummaryValue("click")), cond("$.n", .ge, .integer(5)), cond("$.n", .lt, .integer(9)),
            cond("$.k", .eq, .integer(1), SummaryValue("a")), cond("$.z", .isNull), cond("$.v", .eq, .integer(1)),
        ]
        XCTAssertEqual(q.conditions, want)
        // $ne, $nin, $exists and $in with null are not requirements a summary can test.
        let other = try QueryDocument.compile(#"{"a":{"$ne":1},"b":{"$nin":[1]},"c":{"$exists":true},"d":{"$in":[1,null]}}"#, firstParameter: 1)
        XCTAssertEqual(other.conditions, [])
    }
}
