import XCTest
@testable import ShardCore

/// The accumulator gives what SQLite's count, sum, avg, min and max give over the same
/// rows, or refuses (and the rollup falls back on SQL). The end-to-end answers are
/// compared with GROUP BY in Tests/ShardExtTests/RollupTests.swift; these pin the rules.
final class RollupAccumulatorTests: XCTestCase {
    let measures = try! ["n: count", "s: sum($.x)", "a: avg($.x)", "lo: min($.x)", "hi: max($.x)"].map(RollupMeasure.init(parsing:))

    func key(_ b: Int64, _ g: String) -> RollupKey { RollupKey(bucket: b, groups: [.text(Array(g.utf8))]) }

    func add(_ acc: inout RollupAccumulator, _ k: RollupKey, _ v: RollupValue) -> Bool {
        acc.add(k, values: [.null, v, v, v, v])
    }

    func testIntegersStayIntegersAndNullsAreNotCounted() {
        var acc = RollupAccumulator(measures: measures)
        XCTAssertTrue(add(&acc, key(0, "a"), .integer(3)))
        XCTAssertTrue(add(&acc, key(0, "a"), .null))
        XCTAssertTrue(add(&acc, key(0, "a"), .integer(-1)))
        XCTAssertTrue(add(&acc, key(0, "b"), .null))
        var rows: [[RollupValue]] = []
        acc.rows { k, row in rows.append(k.groups + row) }
        XCTAssertEqual(rows, [
            [.text(Array("a".utf8)), .integer(3), .integer(2), .integer(2), .integer(2), .integer(2), .integer(-1), .integer(3)],
            [.text(Array("b".utf8)), .integer(1), .integer(0), .null, .integer(0), .null, .null, .null],
        ])
        XCTAssertEqual(acc.rows, 4)
        XCTAssertEqual(acc.count, 2)
    }

    func testRealsAddAsSQLiteSumDoes() {
        // Kahan-Babuska-Neumaier: 1e16 + 1 - 1e16 is 1 (plain addition gives 0).
        var acc = RollupAccumulator(measures: measures)
        for v in [1e16, 1.0, -1e16] { XCTAssertTrue(add(&acc, key(0, "a"), .real(v))) }
        XCTAssertEqual(acc.parts()[0].parts[1], .sum(count: 3, total: .real(1.0)))
        // An integer then a real: the sum turns real from the integer sum on.
        var mixed = RollupAccumulator(measures: measures)
        XCTAssertTrue(add(&mixed, key(0, "a"), .integer(2)))
        XCTAssertTrue(add(&mixed, key(0, "a"), .real(0.5)))
        XCTAssertTrue(add(&mixed, key(0, "a"), .integer(1)))
        XCTAssertEqual(mixed.parts()[0].parts[1], .sum(count: 3, total: .real(3.5)))
    }

    func testMinAndMaxInSQLiteOrder() {
        var acc = RollupAccumulator(measures: ["lo: min($.x)", "hi: max($.x)"].map { try! RollupMeasure(parsing: $0) })
        for v: RollupValue in [.text(Array("b".utf8)), .integer(7), .null, .real(2.5), .text(Array("a".utf8))] {
            XCTAssertTrue(acc.add(key(0, "g"), values: [v, v]))
        }
        XCTAssertEqual(acc.parts()[0].parts, [.extreme(.real(2.5)), .extreme(.text(Array("b".utf8)))])
    }

    func testRefusesWhatSQLiteWouldCountOtherwise() {
        var text = RollupAccumulator(measures: measures)
        XCTAssertFalse(add(&text, key(0, "a"), .text(Array("12".utf8))), "text in a sum")
        var overflow = RollupAccumulator(measures: measures)
        XCTAssertTrue(add(&overflow, key(0, "a"), .integer(.max)))
        XCTAssertFalse(add(&overflow, key(0, "a"), .integer(1)), "an integer sum that overflows")
        var big = RollupAccumulator(measures: measures)
        XCTAssertTrue(add(&big, key(0, "a"), .real(0.5)))
        XCTAssertFalse(add(&big, key(0, "a"), .integer(1 << 53)), "SQLite splits integers of 2^52 and more")
        XCTAssertFalse(RollupAccumulator.supports([try! RollupMeasure(parsing: "u: distinct($.x)")]))
        XCTAssertTrue(RollupAccumulator.supports(measures))
    }
}
