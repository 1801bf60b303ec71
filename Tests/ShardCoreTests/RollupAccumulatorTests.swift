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

/// Rows added as the scanner read them (`add(bucket:read:at:)`) give what the same
/// rows give as values (`add(_:values:)`), entries found without making values.
final class RollupAccumulatorReadTests: XCTestCase {
    let measures = try! ["n: count", "s: sum($.x)", "a: avg($.x)", "lo: min($.y)", "hi: max($.x)"].map(RollupMeasure.init(parsing:))

    func rows(_ acc: RollupAccumulator) -> [[RollupValue]] {
        var out: [[RollupValue]] = []
        acc.rows { k, row in out.append([.integer(k.bucket)] + k.groups + row) }
        return out
    }

    func testReadRowsEqualValueRows() {
        let groupValues: [ScannedValue] = [.missing, .null, .bool(true), .bool(false), .integer(1), .integer(0),
                                           .real(1.0), .real(2.5), .text("a"), .text("b"), .text("é"), .text("")]
        let measureValues: [ScannedValue] = [.missing, .null, .integer(3), .integer(-7), .real(0.25), .bool(true)]
        let minValues: [ScannedValue] = measureValues + [.text("z"), .text("m")]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var read = RollupAccumulator(measures: measures)
            var made = RollupAccumulator(measures: measures)
            for _ in 0..<Int.random(in: 1...300, using: &rng) {
                let bucket = Int64.random(in: 0...3, using: &rng) * 86_400_000
                let g0 = groupValues.randomElement(using: &rng)!, g1 = groupValues.randomElement(using: &rng)!
                let x = measureValues.randomElement(using: &rng)!, y = minValues.randomElement(using: &rng)!
                // The scanned row as a pass lays it out: x read once for three measures.
                let values: [ScannedValue] = [.integer(0), y, g1, x, g0]
                XCTAssertTrue(read.add(bucket: bucket, read: values, at: [4, 2, 3, 3, 1, 3]))
                let key = RollupKey(bucket: bucket, groups: [RollupValue(read: g0)!, RollupValue(read: g1)!])
                XCTAssertTrue(made.add(key, values: [.null, RollupValue(read: x)!, RollupValue(read: x)!,
                                                     RollupValue(read: y)!, RollupValue(read: x)!]))
            }
            XCTAssertEqual(rows(read), rows(made))
            XCTAssertEqual(read.count, made.count)
            XCTAssertEqual(read.rows, made.rows)
        }
    }

    func testEqualValuesShareAnEntry() {
        var acc = RollupAccumulator(measures: [try! RollupMeasure(parsing: "n: count")])
        // As GROUP BY groups them: 1, 1.0 and true; NULL and a missing value.
        for g: ScannedValue in [.integer(1), .real(1.0), .bool(true), .null, .missing, .text("1")] {
            XCTAssertTrue(acc.add(bucket: 0, read: [g], at: [0]))
        }
        XCTAssertEqual(rows(acc), [[.integer(0), .integer(1), .integer(3)], [.integer(0), .null, .integer(2)],
                                   [.integer(0), .text(Array("1".utf8)), .integer(1)]])
        // Seeded parts and read rows meet in one entry.
        var seeded = RollupAccumulator(measures: [try! RollupMeasure(parsing: "n: count")])
        XCTAssertTrue(seeded.seed(RollupKey(bucket: 5, groups: [.text(Array("a".utf8))]), row: [.integer(4)]))
        XCTAssertTrue(seeded.add(bucket: 5, read: [.text("a")], at: [0]))
        XCTAssertEqual(rows(seeded), [[.integer(5), .text(Array("a".utf8)), .integer(5)]])
    }

    func testManyEntriesAreFound() {
        var acc = RollupAccumulator(measures: [try! RollupMeasure(parsing: "n: count")])
        for round in 0..<3 {
            for i in 0..<1_000 { XCTAssertTrue(acc.add(bucket: Int64(i % 7), read: [.integer(Int64(i))], at: [0])) }
            XCTAssertEqual(acc.count, 1_000)
            XCTAssertEqual(acc.rows, Int64(1_000 * (round + 1)))
        }
        XCTAssertTrue(rows(acc).allSatisfy { $0.last == .integer(3) })
    }

    func testRefusesObjectsArraysAndTextInSums() {
        var group = RollupAccumulator(measures: measures)
        XCTAssertFalse(group.add(bucket: 0, read: [.complex, .integer(1), .integer(1)], at: [0, 1, 1, 2, 1]))
        var sum = RollupAccumulator(measures: measures)
        XCTAssertFalse(sum.add(bucket: 0, read: [.text("g"), .text("12"), .integer(1)], at: [0, 1, 1, 2, 1]))
        var extreme = RollupAccumulator(measures: measures)
        XCTAssertFalse(extreme.add(bucket: 0, read: [.text("g"), .integer(1), .complex], at: [0, 1, 1, 2, 1]))
        var fine = RollupAccumulator(measures: measures)
        XCTAssertTrue(fine.add(bucket: 0, read: [.text("g"), .integer(1), .text("t")], at: [0, 1, 1, 2, 1]))
    }
}
