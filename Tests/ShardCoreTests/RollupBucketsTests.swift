import XCTest
@testable import ShardCore

/// An answer's entries are found by their bucket and group values as GROUP BY groups
/// them (1 and 1.0 are one group, text and a blob of the same bytes are not), answer
/// with the value first seen, and come out in SQLite's order of values. The end-to-end
/// answers are compared with GROUP BY in Tests/ShardExtTests/RollupTests.swift.
final class RollupBucketsTests: XCTestCase {
    let measures = try! ["n: count", "s: sum($.x)"].map(RollupMeasure.init(parsing:))

    func add(_ b: inout RollupBuckets, _ bucket: Int64, _ g: RollupValue, _ n: Int64) throws {
        try b.add(RollupKey(bucket: bucket, groups: [g]), count: n,
                  parts: [.sum(count: 0, total: .null), .sum(count: 1, total: .integer(n))])
    }

    func rows(_ b: RollupBuckets, descending: Bool = false) -> [[RollupValue]] {
        b.order(descending: descending).map { e in
            let e = Int(e)
            return [.integer(b.buckets[e]), b.group(e, 0), .integer(b.counts[e])]
        }
    }

    func testGroupsAsGroupByAndSQLitesOrder() throws {
        var b = RollupBuckets(measures: measures, groups: 1)
        let text = RollupValue.text(Array("a".utf8)), blob = RollupValue.blob(Array("a".utf8))
        try add(&b, 10, blob, 1)
        try add(&b, 10, text, 2)
        try add(&b, 10, .integer(1), 3)
        try add(&b, 10, .real(1.0), 4)     // the group of 1: answers with 1
        try add(&b, 10, .null, 5)
        try add(&b, 10, .real(0.5), 6)
        try add(&b, 0, .real(1.0), 7)      // another bucket: its own first value
        try add(&b, 0, .integer(1), 8)
        try add(&b, 10, text, 9)
        let want: [[RollupValue]] = [
            [.integer(0), .real(1.0), .integer(15)],
            [.integer(10), .null, .integer(5)],
            [.integer(10), .real(0.5), .integer(6)],
            [.integer(10), .integer(1), .integer(7)],
            [.integer(10), text, .integer(11)],
            [.integer(10), blob, .integer(1)],
        ]
        XCTAssertEqual(rows(b), want)
        XCTAssertEqual(rows(b, descending: true), want.reversed())
        XCTAssertEqual(b.count, 6)
        // Sums combined with SQL's rules on the entry of 1.
        let e = (0..<b.count).first { b.buckets[$0] == 10 && b.group($0, 0) == .integer(1) }!
        XCTAssertEqual(b.parts[e * 2 + 1], .sum(count: 2, total: .integer(7)))
    }

    func testManyEntriesFoundAgainAndOrdered() throws {
        var b = RollupBuckets(measures: measures, groups: 1)
        // Out of order, more than the tables' first room: they grow.
        for i in stride(from: 2_999, through: 0, by: -1) {
            try add(&b, Int64(i / 10), .text(Array("g\(i % 10)".utf8)), 1)
        }
        for i in 0..<3_000 where i % 3 == 0 {
            try add(&b, Int64(i / 10), .text(Array("g\(i % 10)".utf8)), 1)
        }
        XCTAssertEqual(b.count, 3_000)
        let got = rows(b)
        XCTAssertEqual(got.map { $0[0] }, (0..<3_000).map { .integer(Int64($0 / 10)) })
        XCTAssertEqual(got.map { $0[1] }, (0..<3_000).map { .text(Array("g\($0 % 10)".utf8)) })
        XCTAssertEqual(got.map { $0[2] }, (0..<3_000).map { .integer($0 % 3 == 0 ? 2 : 1) })
    }

    func testSketchStatesParsedOnlyToCombine() throws {
        let kinds = try! ["u: distinct($.u)"].map(RollupMeasure.init(parsing:))
        var one = DistinctSketch(), two = DistinctSketch()
        one.add(hash: 1)
        two.add(hash: 2)
        var part = RollupPart.stored(one.serialized())
        XCTAssertEqual(part.state, one.serialized(), "handed out as read")
        XCTAssertEqual(try part.result(kind: kinds[0].kind), .integer(1))
        try part.combine(.stored(two.serialized()), kind: kinds[0].kind)
        XCTAssertEqual(try part.result(kind: kinds[0].kind), .integer(2))
        one.merge(two)
        XCTAssertEqual(part.state, one.serialized())
        XCTAssertThrowsError(try RollupPart.stored([1, 2, 3]).result(kind: kinds[0].kind))
    }
}
