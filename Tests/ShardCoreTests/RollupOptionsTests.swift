@testable import ShardCore
import XCTest

final class RollupOptionsTests: XCTestCase {
    func testOptionsAndColumns() throws {
        let o = try RollupOptions.parse(arguments: ["source = events", "bucket = '15 minutes'", "group = '$.type'",
                                                     "group = 'country: $.geo.country'", "measure = 'n: count'",
                                                     "measure = 'users: distinct($.user.id)'", "measure = 'p95: quantile($.dur, 0.95)'"])
        XCTAssertEqual(o.source, "events")
        XCTAssertEqual(o.bucket, RollupBucket(count: 15, unit: .minute))
        XCTAssertEqual(o.columnNames, ["bucket", "bucket_ms", "type", "country", "n", "users", "p95", "users_state", "p95_state"])
        XCTAssertEqual(o.measures[2].kind, .quantile(0.95))
        XCTAssertTrue(o.declaration.contains("\"p95_state\" BLOB HIDDEN"))
        XCTAssertEqual(try RollupBucket(parsing: "day"), RollupBucket(count: 1, unit: .day))
        XCTAssertEqual(try RollupBucket(parsing: "3 Months"), RollupBucket(count: 3, unit: .month))
        for bad in ["1.5 days", "0 hours", "two days", "1 fortnight", "1 day 2"] {
            XCTAssertThrowsError(try RollupBucket(parsing: bad), bad)
        }
    }

    func testBucketStarts() {
        let monday = Civil.days(year: 2025, month: 1, day: 6) * Civil.msPerDay
        let week = RollupBucket(count: 1, unit: .week)
        XCTAssertEqual(week.start(of: monday + 6 * Civil.msPerDay + 5), monday)   // Sunday
        XCTAssertEqual(week.start(of: monday - 1), monday - 7 * Civil.msPerDay)
        XCTAssertEqual(week.end(ofBucketStartingAt: monday), monday + 7 * Civil.msPerDay)
        let quarter = RollupBucket(count: 3, unit: .month)
        let may = Civil.days(year: 2025, month: 5, day: 20) * Civil.msPerDay
        XCTAssertEqual(quarter.start(of: may), Civil.days(year: 2025, month: 4, day: 1) * Civil.msPerDay)
        XCTAssertEqual(quarter.end(ofBucketStartingAt: quarter.start(of: may)), Civil.days(year: 2025, month: 7, day: 1) * Civil.msPerDay)
        // Before 1970 too.
        XCTAssertEqual(RollupBucket(count: 1, unit: .day).start(of: -1), -Civil.msPerDay)
        XCTAssertEqual(RollupBucket(count: 1, unit: .month).start(of: -1), Civil.days(year: 1969, month: 12, day: 1) * Civil.msPerDay)
        XCTAssertEqual(RollupBucket.text(monday), "2025-01-06 00:00:00")
    }

    func testBoundsFromBucketText() {
        let day = Civil.days(year: 2025, month: 3, day: 7) * Civil.msPerDay
        XCTAssertEqual(RollupBucket.startBounds(text: "2025-03-07", op: .ge)?.lo, day)
        XCTAssertEqual(RollupBucket.startBounds(text: "2025-03-07", op: .lt)?.hi, day + Civil.msPerDay - 1)
        XCTAssertEqual(RollupBucket.startBounds(text: "2025-03-07 10:30", op: .eq)?.lo, day + 10 * Civil.msPerHour + 30 * Civil.msPerMinute)
        XCTAssertEqual(RollupBucket.startBounds(text: "2025-13", op: .ge)?.lo, Civil.days(year: 2025, month: 1, day: 1) * Civil.msPerDay)
        XCTAssertNil(RollupBucket.startBounds(text: "March", op: .ge))
    }

    func testPartsCombineWithSQLitesRules() throws {
        var sum = RollupPart.sum(count: 2, total: .integer(5))
        try sum.combine(.sum(count: 1, total: .integer(4)), kind: .sum)
        XCTAssertEqual(try sum.result(kind: .sum), .integer(9))
        XCTAssertEqual(try sum.result(kind: .avg), .real(3))
        try sum.combine(.sum(count: 1, total: .real(0.5)), kind: .sum)
        XCTAssertEqual(try sum.result(kind: .sum), .real(9.5))
        var big = RollupPart.sum(count: 1, total: .integer(.max))
        XCTAssertThrowsError(try big.combine(.sum(count: 1, total: .integer(1)), kind: .sum))
        XCTAssertEqual(try RollupPart.sum(count: 0, total: .null).result(kind: .sum), .null)
        var low = RollupPart.extreme(.text(Array("a".utf8)))
        try low.combine(.extreme(.integer(7)), kind: .min)
        try low.combine(.extreme(.null), kind: .min)
        XCTAssertEqual(low, .extreme(.integer(7)), "numbers before text, NULL ignored")
        XCTAssertEqual(RollupValue.integer(1), RollupValue.real(1.0))
        XCTAssertEqual(Set([RollupValue.integer(1), .real(1.0)]).count, 1)
    }

    /// A sketch's state as a shard's row gives it is handed out unchanged, answers as
    /// its sketch does, and combines with others into the sketch of all their values.
    func testStoredStatesAnswerAndCombineAsTheirSketches() throws {
        for (a, b) in [(0, 3), (100, 200), (300, 5000), (9000, 40_000), (20_000, 0)] {
            var left = DistinctSketch(), right = DistinctSketch(), both = DistinctSketch()
            var lq = QuantileSketch(), rq = QuantileSketch(), bq = QuantileSketch()
            for i in 0..<a { left.add(hash: DistinctSketch.hash(int64: Int64(i))); lq.add(Double(i)) }
            for i in 0..<b { right.add(hash: DistinctSketch.hash(int64: Int64(i * 3))); rq.add(Double(i) / 7) }
            both.merge(left); both.merge(right)
            bq.merge(lq); bq.merge(rq)
            let p95 = RollupMeasure.Kind.quantile(0.95)

            let stored = RollupPart.stored(left.serialized())
            XCTAssertEqual(stored.state, left.serialized(), "handed out as stored")
            XCTAssertEqual(try stored.result(kind: .distinct), .integer(left.estimate))
            XCTAssertEqual(try RollupPart.stored(lq.serialized()).result(kind: p95), try RollupPart.quantile(lq).result(kind: p95))

            // Stored with stored, stored with read, read with stored: the union's sketch.
            for (x, y) in [(RollupPart.stored(left.serialized()), RollupPart.stored(right.serialized())),
                           (.stored(left.serialized()), .distinct(right)), (.distinct(left), .stored(right.serialized()))] {
                var part = x
                try part.combine(y, kind: .distinct)
                XCTAssertEqual(part, .distinct(both), "a \(a) b \(b)")
                XCTAssertEqual(part.state, both.serialized())
            }
            var part = RollupPart.stored(lq.serialized())
            try part.combine(.stored(rq.serialized()), kind: p95)
            XCTAssertEqual(part, .quantile(bq))
        }
        // A stored state that is not one fails when it is answered or combined.
        let bad = RollupPart.stored(Array("not a state".utf8))
        assertShardError(try bad.result(kind: .distinct), "not a shards distinct state")
        assertShardError(try bad.result(kind: .quantile(0.5)), "not a shards quantile state")
        var part = RollupPart.distinct(DistinctSketch())
        XCTAssertThrowsError(try part.combine(bad, kind: .distinct))
    }
}
