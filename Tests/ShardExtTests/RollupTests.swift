import Foundation
import XCTest

/// A rollup answers what `GROUP BY bucket, groups` over the collection's documents
/// answers (SPEC 11), after every write path `MirroredWrites` generates: exact
/// measures identical, sketches within their bounds. Dropped documents included: a
/// rollup keeps their buckets.
final class RollupTests: XCTestCase {
    static let measures = "measure = 'n: count', measure = 'dur: sum($.dur)', measure = 'a: avg($.dur)', "
        + "measure = 'lo: min($.dur)', measure = 'hi: max($.dur)', measure = 'users: distinct($.user)', "
        + "measure = 'p50: quantile($.dur, 0.5)'"

    /// Rows of the rollup and of the plain table's GROUP BY, for one filter.
    func compare(_ db: TestDatabase, rollup: String, bucketSQL: String, where rollupWhere: String = "",
                 plainWhere: String = "", _ args: [Value] = [], context: String) throws {
        let got = try db.query("SELECT bucket_ms, type, n, dur, a, lo, hi, users, p50, bucket, users_state, p50_state FROM \(rollup) "
            + (rollupWhere.isEmpty ? "" : "WHERE \(rollupWhere) ") + "ORDER BY bucket_ms, type", args)
        let x = "json_extract(doc, '$.dur')"
        let want = try db.query("""
            SELECT \(bucketSQL) AS b, json_extract(doc, '$.type') AS type, count(*), sum(\(x)), avg(\(x)), min(\(x)), max(\(x)),
                   count(DISTINCT json_extract(doc, '$.user')), json_group_array(\(x)), strftime('%Y-%m-%d %H:%M:%S', (\(bucketSQL)) / 1000, 'unixepoch'),
                   shards_distinct_state(json_extract(doc, '$.user')), shards_quantile_state(\(x))
              FROM plain \(plainWhere.isEmpty ? "" : "WHERE \(plainWhere)")
             GROUP BY 1, 2 ORDER BY 1, 2
            """, args)
        XCTAssertEqual(got.count, want.count, "bucket count, \(context)")
        for (g, w) in zip(got, want) {
            XCTAssertEqual(Array(g[0...3]) + [g[5], g[6], g[7], g[9]], Array(w[0...3]) + [w[5], w[6], w[7], w[9]], context)
            // A sketch's state depends only on the values it saw: the state a rollup hands
            // out (one shard's as stored, or several merged) is that of the bucket's values.
            XCTAssertEqual(g[10], w[10], "users_state, \(context)")
            XCTAssertEqual(g[11], w[11], "p50_state, \(context)")
            switch (g[4], w[4]) {
            case (.real(let x), .real(let y)): XCTAssertEqual(x, y, accuracy: abs(y) * 1e-12, "avg, \(context)")
            default: XCTAssertEqual(g[4], w[4], "avg, \(context)")
            }
            // The median of the numbers, within 1% of a value at its rank.
            let numbers = try JSONSerialization.jsonObject(with: Data(w[8].text!.utf8)) as! [Any]
            let values = numbers.compactMap { ($0 as? NSNumber).map(\.doubleValue) }.sorted()
            guard !values.isEmpty else {
                XCTAssertEqual(g[8], .null, "p50 of no number, \(context)")
                continue
            }
            let rank = 0.5 * Double(values.count - 1)
            let a = values[Int(rank.rounded(.down))], b = values[Int(rank.rounded(.up))]
            let lo = min(a * 0.99, a * 1.01, a - 1e-9), hi = max(b * 0.99, b * 1.01, b + 1e-9)
            guard case .real(let p) = g[8] else { XCTFail("p50 is \(g[8]), \(context)"); continue }
            XCTAssertTrue(p >= lo && p <= hi, "p50 \(p) outside [\(lo), \(hi)], \(context)")
        }
    }

    /// The hidden state columns (handed out as read from a partial when a bucket has
    /// one, parsed and merged when it has several): each bucket's states merged alone
    /// answer what its estimate columns answer, asked with or without them, in either
    /// order; merged across buckets they answer what one state of the plain table's
    /// values does (a distinct state depends only on the values it has seen).
    func compareStates(_ db: TestDatabase, rollup: String, context: String) throws {
        let estimates = try db.query("SELECT bucket_ms, type, users, p50 FROM \(rollup) ORDER BY bucket_ms, type")
        let merged = "shards_distinct(users_state), shards_quantile(p50_state, 0.5)"
        XCTAssertEqual(try db.query("SELECT bucket_ms, type, \(merged) FROM \(rollup) GROUP BY 1, 2 ORDER BY 1, 2"),
                       estimates, "states alone, \(context)")
        // Each row's states, in the answer's own order reversed (ORDER BY consumed).
        var each: [[Value]] = []
        for r in try db.query("SELECT bucket_ms, type, users_state, p50_state FROM \(rollup) ORDER BY bucket_ms DESC, type DESC") {
            each.append(Array(r[0...1]) + (try db.query("SELECT shards_distinct(?1), shards_quantile(?2, 0.5)", [r[2], r[3]]))[0])
        }
        XCTAssertEqual(each, estimates.reversed(), "each row's states, descending, \(context)")
        let got = try db.query("SELECT type, shards_distinct(users_state) FROM \(rollup) GROUP BY 1 ORDER BY 1")
        let want = try db.query("""
            SELECT type, shards_distinct(s) FROM (SELECT json_extract(doc, '$.type') AS type,
                   shards_distinct_state(json_extract(doc, '$.user')) AS s FROM plain GROUP BY 1) GROUP BY 1 ORDER BY 1
            """)
        XCTAssertEqual(got, want, "states merged per type, \(context)")
    }

    /// A query reads only the measures it selects (xBestIndex's colUsed): every subset of
    /// the measure and state columns answers what the whole row does, in the answer's own
    /// order and in one SQLite sorts.
    func compareSubsets(_ db: TestDatabase, rollup: String, context: String) throws {
        let columns = ["n", "dur", "a", "lo", "hi", "users", "p50", "users_state", "p50_state"]
        let whole = try db.query("SELECT bucket_ms, type, \(columns.joined(separator: ", ")) FROM \(rollup) ORDER BY bucket_ms, type")
        for mask in 1..<(1 << columns.count) {
            let chosen = columns.indices.filter { mask & (1 << $0) != 0 }
            let list = chosen.map { columns[$0] }.joined(separator: ", ")
            // Ordered by one more column, SQLite sorts (bucket and type are unique: same order).
            let order = mask % 2 == 0 ? "bucket_ms, type" : "bucket_ms, type, \(columns[chosen[0]])"
            let got = try db.query("SELECT bucket_ms, type, \(list) FROM \(rollup) ORDER BY \(order)")
            XCTAssertEqual(got, whole.map { row in [row[0], row[1]] + chosen.map { row[2 + $0] } },
                           "columns \(list), ORDER BY \(order), \(context)")
        }
    }

    /// A rollup without sketches, whose parts of the shards this connection fills are
    /// kept in memory as rows come (RollupHotPartials.swift): sums over `$.u` (always
    /// an integer, so they stay in memory), min and max over `$.dur` (numbers, text,
    /// NULL and missing), against the plain table's GROUP BY.
    static let hotMeasures = "measure = 'n: count', measure = 'us: sum($.u)', measure = 'a: avg($.u)', "
        + "measure = 'lo: min($.dur)', measure = 'hi: max($.dur)'"

    func compareHot(_ db: TestDatabase, rollup: String, bucketSQL: String, where rollupWhere: String = "",
                    plainWhere: String = "", _ args: [Value] = [], context: String) throws {
        let got = try db.query("SELECT bucket_ms, type, n, us, a, lo, hi FROM \(rollup) "
            + (rollupWhere.isEmpty ? "" : "WHERE \(rollupWhere) ") + "ORDER BY bucket_ms, type", args)
        let want = try db.query("""
            SELECT \(bucketSQL) AS b, json_extract(doc, '$.type') AS type, count(*), sum(json_extract(doc, '$.u')),
                   avg(json_extract(doc, '$.u')), min(json_extract(doc, '$.dur')), max(json_extract(doc, '$.dur'))
              FROM plain \(plainWhere.isEmpty ? "" : "WHERE \(plainWhere)")
             GROUP BY 1, 2 ORDER BY 1, 2
            """, args)
        XCTAssertEqual(got, want, "hot parts, \(context)")
        // ORDER BY the bucket then the group, both descending, comes from the answer's
        // own order (xBestIndex consumes it); in mixed directions SQLite sorts.
        for (order, plainOrder) in [("bucket_ms DESC, type DESC", "1 DESC, 2 DESC"), ("bucket DESC, type", "1 DESC, 2")] {
            let got = try db.query("SELECT bucket_ms, type, n FROM \(rollup) "
                + (rollupWhere.isEmpty ? "" : "WHERE \(rollupWhere) ") + "ORDER BY \(order)", args)
            let want = try db.query("SELECT \(bucketSQL), json_extract(doc, '$.type'), count(*) FROM plain "
                + (plainWhere.isEmpty ? "" : "WHERE \(plainWhere) ") + "GROUP BY 1, 2 ORDER BY \(plainOrder)", args)
            XCTAssertEqual(got, want, "ORDER BY \(order), \(context)")
        }
    }

    func runSequence(seed: UInt64, options: String, steps: Int = 30) throws {
        let db = try TestDatabase()
        var m = try MirroredWrites(db: db, seed: seed, collectionOptions: options)
        try db.exec("CREATE VIRTUAL TABLE daily USING shards_rollup(source = e, bucket = '1 day', group = '$.type', \(Self.measures))")
        try db.exec("CREATE VIRTUAL TABLE hours6 USING shards_rollup(source = e, bucket = '6 hours', group = '$.type', \(Self.measures))")
        try db.exec("CREATE VIRTUAL TABLE weekly USING shards_rollup(source = e, bucket = 'week', group = '$.type', \(Self.measures))")
        try db.exec("CREATE VIRTUAL TABLE hot USING shards_rollup(source = e, bucket = '1 day', group = '$.type', \(Self.hotMeasures))")
        let day = "t - t % 86400000", six = "t - t % 21600000"
        // Weeks from Monday: 1970-01-05 was one.
        let week = "t - (t - 345600000) % 604800000"
        var rng = DifferentialTests.SplitMix64(state: seed &* 31)
        var refreshed: Int64 = 0
        m.check = { what in
            let context = "after \(what), seed \(seed), options \(options)"
            // Partials built now and then (inside transactions too): finished shards are
            // then read from them, the others (and those changed since) at query time.
            for rollup in ["daily", "hours6", "weekly"] where Int.random(in: 0..<3, using: &rng) == 0 {
                refreshed += try db.int("SELECT shard_rollup_refresh(?)", [.text(rollup)])
            }
            if Int.random(in: 0..<4, using: &rng) == 0 { refreshed += try db.int("SELECT shard_rollup_refresh('hot')") }
            try self.compare(db, rollup: "daily", bucketSQL: day, context: context)
            try self.compareHot(db, rollup: "hot", bucketSQL: day, context: context)
            try self.compare(db, rollup: "hours6", bucketSQL: six, context: context)
            try self.compare(db, rollup: "weekly", bucketSQL: week, context: context)
            try self.compareStates(db, rollup: "daily", context: context)
            try self.compareStates(db, rollup: "weekly", context: context)
            // Bounds on bucket and group values.
            let d1 = MirroredWrites.t0 + Int64.random(in: 0..<12, using: &rng) * MirroredWrites.day
            let d2 = d1 + Int64.random(in: 0..<5, using: &rng) * MirroredWrites.day
            let iso = { (ms: Int64) in Self.text(ms) }
            try self.compare(db, rollup: "daily", bucketSQL: day, where: "bucket >= ?1 AND bucket < ?2",
                             plainWhere: "t >= ?3 AND t < ?4", [.text(String(iso(d1).prefix(10))), .text(iso(d2)), .int(d1), .int(d2)],
                             context: context + ", bucket range")
            try self.compare(db, rollup: "hours6", bucketSQL: six, where: "bucket_ms BETWEEN ?1 AND ?2 AND type = ?3",
                             plainWhere: "t >= ?1 AND t < ?2 + 21600000 AND (t - t % 21600000) >= ?1 AND json_extract(doc, '$.type') = ?3",
                             [.int(d1 + 3_600_000), .int(d2), .text("view")], context: context + ", bucket_ms and type")
            try self.compareHot(db, rollup: "hot", bucketSQL: day, where: "bucket >= ?1 AND type > ?2",
                                plainWhere: "t >= ?3 AND json_extract(doc, '$.type') > ?2", [.text(iso(d1)), .text("buy"), .int(d1)],
                                context: context + ", hot, bucket and type >")
            try self.compareHot(db, rollup: "hot", bucketSQL: day, where: "type IN ('buy', 'err', 7)",
                                plainWhere: "json_extract(doc, '$.type') IN ('buy', 'err', 7)", context: context + ", hot, IN")
            try self.compare(db, rollup: "daily", bucketSQL: day, where: "type IN ('buy', 'err', 7) AND bucket = ?1",
                             plainWhere: "json_extract(doc, '$.type') IN ('buy', 'err', 7) AND t >= ?2 AND t < ?2 + 86400000",
                             [.text(iso(d1)), .int(d1)], context: context + ", IN and bucket =")
        }
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'daily%'"), 1, "creating a rollup writes nothing")
        try m.insert(count: 150, fromDay: 0, toDay: m.days - 1)
        try m.check("the first load")
        var done: [String] = []
        for _ in 0..<steps {
            do {
                done.append(try m.step())
            } catch {
                XCTFail("\(error) at step \(done.count) after \(done.suffix(4)), seed \(seed), options \(options)")
                throw error
            }
            try m.check(done.last!)
        }
        XCTAssertGreaterThan(refreshed, 0, "partials were built")
        try compareSubsets(db, rollup: "daily", context: "seed \(seed), before a full refresh")
        // Built partials answer alone, then with every shard changed since.
        for rollup in ["daily", "hours6", "weekly"] { _ = try db.int("SELECT shard_rollup_refresh(?)", [.text(rollup)]) }
        XCTAssertEqual(try db.int("SELECT shard_rollup_refresh('daily')"), 0)
        try m.check("a full refresh")
        try compareSubsets(db, rollup: "daily", context: "seed \(seed), after a full refresh")
        try db.exec("DROP TABLE daily")
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'daily%'"), 0, "DROP TABLE takes the partials")
    }

    static func text(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    func testRollupsAnswerLikeGroupByAfterEveryWritePath() throws {
        for seed in UInt64(101)...102 { try runSequence(seed: seed, options: "") }
    }

    /// Parts kept in memory by one connection never answer for rows another connection
    /// wrote (or rolled back) since: its catalog reloads, and they are let go.
    func testPartsInMemoryFollowOtherConnections() throws {
        let a = try TestDatabase()
        let b = try TestDatabase(path: a.path)
        try a.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = 'day')")
        try a.exec("CREATE VIRTUAL TABLE hot USING shards_rollup(source = e, bucket = '1 day', group = '$.type', \(Self.hotMeasures))")
        try a.exec("CREATE TABLE plain(doc TEXT)")
        let t0 = MirroredWrites.t0
        func insert(_ db: TestDatabase, _ u: Int, _ type: String, day: Int64 = 0) throws {
            let doc = "{\"t\":\(t0 + day * 86_400_000 + Int64(u) * 1000),\"u\":\(u),\"type\":\"\(type)\",\"dur\":\(u % 7)}"
            try db.exec("INSERT INTO e(doc) VALUES (?1); INSERT INTO plain VALUES (?1)", [.text(doc)])
        }
        func check(_ db: TestDatabase, _ what: String) throws {
            try compareHot(db, rollup: "hot", bucketSQL: "json_extract(doc, '$.t') - json_extract(doc, '$.t') % 86400000",
                           context: what)
        }
        for u in 1...20 { try insert(a, u, u % 3 == 0 ? "buy" : "view") }
        try check(a, "a's own rows, from memory")
        for u in 21...25 { try insert(b, u, "buy") }
        try check(a, "b wrote into a's hot shard")
        for u in 26...30 { try insert(a, u, "err") }
        try check(a, "a writes again after b")
        try b.exec("BEGIN")
        for u in 31...33 { try insert(b, u, "view") }
        try b.exec("ROLLBACK")
        try check(a, "b rolled back")
        try b.exec("UPDATE e SET doc = json_set(doc, '$.type', 'buy') WHERE json_extract(doc, '$.u') = 2")
        try b.exec("UPDATE plain SET doc = json_set(doc, '$.type', 'buy') WHERE json_extract(doc, '$.u') = 2")
        try check(a, "b updated a row of a's hot shard")
        try insert(a, 34, "view", day: 1)
        try check(a, "a new day")
        try check(b, "b reads at query time")
    }

    /// Several rollups fed by one insert read their paths in placement's pass (shared
    /// paths read once): each answers its own GROUP BY as rollups come and go, and for
    /// documents that pass gives up on (then each reads its own) or that drop the parts.
    func testRollupsShareTheInsertsPass() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = 'day', category = '$.app')")
        try db.exec("CREATE TABLE plain(doc TEXT)")
        let rollups: [(name: String, spec: String, group: String, measures: [String])] = [
            ("by_type", "group = '$.type', measure = 'n: count', measure = 's: sum($.u)', measure = 'hi: max($.dur)'",
             "json_extract(doc, '$.type')", ["count(*)", "sum(json_extract(doc, '$.u'))", "max(json_extract(doc, '$.dur'))"]),
            ("by_app", "group = '$.app', measure = 'n: count', measure = 'lo: min($.t)', measure = 'a: avg($.u)'",
             "json_extract(doc, '$.app')", ["count(*)", "min(json_extract(doc, '$.t'))", "avg(json_extract(doc, '$.u'))"]),
            ("flat", "measure = 'n: count', measure = 'd: sum($.dur)', measure = 'u: sum($.u)'",
             "NULL", ["count(*)", "sum(json_extract(doc, '$.dur'))", "sum(json_extract(doc, '$.u'))"]),
        ]
        func create(_ r: (name: String, spec: String, group: String, measures: [String])) throws {
            try db.exec("CREATE VIRTUAL TABLE \(r.name) USING shards_rollup(source = e, bucket = '1 day', \(r.spec))")
        }
        var live = [rollups[0], rollups[1]]
        for r in live { try create(r) }
        let t0 = MirroredWrites.t0
        var rng = DifferentialTests.SplitMix64(state: 7)
        func insert(_ count: Int, day: Int64) throws {
            for _ in 0..<count {
                let u = Int(rng.next() % 1000)
                // (1 and true are one group; exact sums: reals of quarters.)
                let type = ["\"view\"", "\"buy\"", "1", "2.5", "true", "null", "{\"x\":1}"][u % 7]
                let dur = u % 11 == 0 ? "\"12\"" : u % 13 == 0 ? "2.5e2" : String(Double(u) / 4)
                let key = u % 17 == 0 ? "t\\u0079pe" : "type"   // the shared pass gives up on this one
                let doc = "{\"t\":\(t0 + day * 86_400_000 + Int64(u) * 1000),\"app\":\"\(["web", "ios"][u % 2])\","
                    + "\"\(key)\":\(type),\"u\":\(u),\"dur\":\(dur)}"
                try db.exec("INSERT INTO e(doc) VALUES (?1); INSERT INTO plain VALUES (?1)", [.text(doc)])
            }
        }
        func check(_ what: String) throws {
            for r in live {
                let got = try db.query("SELECT * FROM (SELECT bucket_ms, "
                    + (r.group == "NULL" ? "NULL" : r.name == "by_type" ? "type" : "app") + ", "
                    + r.spec.split(separator: "'").enumerated().filter { $0.offset % 2 == 1 && $0.element.contains(":") }
                        .map { String($0.element.split(separator: ":")[0]) }.joined(separator: ", ")
                    + " FROM \(r.name)) ORDER BY 1, 2")
                let want = try db.query("SELECT json_extract(doc, '$.t') - json_extract(doc, '$.t') % 86400000, \(r.group), "
                    + r.measures.joined(separator: ", ") + " FROM plain GROUP BY 1, 2 ORDER BY 1, 2")
                XCTAssertEqual(got, want, "\(r.name), \(what)")
            }
        }
        try insert(200, day: 0)
        try check("two rollups")
        try create(rollups[2])
        live.append(rollups[2])
        try insert(100, day: 0)
        try insert(100, day: 1)
        try check("a third rollup created between inserts")
        try db.exec("DROP TABLE by_app")
        live.remove(at: 1)
        try insert(150, day: 1)
        try insert(50, day: 2)
        try check("one dropped")
    }

    func testRollupsWithBufferedWrites() throws {
        try runSequence(seed: 111, options: ", buffer = 5, flush_ms = 600000")
    }

    func testMonthBucketsAndNoGroups() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = 'day')")
        // 2024-12-20 .. 2025-03-10, every 7 hours.
        for i in 0..<270 {
            try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(1734652800000 + Int64(i) * 25_200_000),\"v\":\(i % 11)}")])
        }
        try db.exec("CREATE VIRTUAL TABLE m USING shards_rollup(source = e, bucket = '1 month', measure = 'n: count', measure = 's: sum($.v)')")
        try db.exec("CREATE VIRTUAL TABLE q USING shards_rollup(source = e, bucket = '2 months', measure = 'n: count')")
        XCTAssertEqual(try db.query("SELECT bucket, n, s FROM m"),
                       try db.query("SELECT strftime('%Y-%m-01 00:00:00', ts / 1000, 'unixepoch') b, count(*), sum(json_extract(doc, '$.v')) FROM e GROUP BY 1 ORDER BY 1"))
        let months = "strftime('%m', ts / 1000, 'unixepoch')"
        XCTAssertEqual(try db.query("SELECT bucket, n FROM q"), [
            [.text("2024-11-01 00:00:00"), .int(try db.int("SELECT count(*) FROM e WHERE ts < 1735689600000"))],
            [.text("2025-01-01 00:00:00"), .int(try db.int("SELECT count(*) FROM e WHERE \(months) IN ('01', '02') AND ts >= 1735689600000"))],
            [.text("2025-03-01 00:00:00"), .int(try db.int("SELECT count(*) FROM e WHERE \(months) = '03'"))]])
        XCTAssertEqual(try db.query("SELECT bucket, n FROM m WHERE bucket >= '2025-02' ORDER BY bucket DESC").map { $0[0] },
                       [.text("2025-03-01 00:00:00"), .text("2025-02-01 00:00:00")])
    }

    /// `retain` on the rollup: buckets that old before the newest bucket are not answered.
    func testRetainDropsOldBuckets() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = day)")
        for d in 0..<6 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(1736121600000 + Int64(d) * 86_400_000 + 5)}")]) }
        try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = 'day', measure = 'n: count', retain = '2 days')")
        XCTAssertEqual(try db.query("SELECT bucket FROM r").map { $0[0] },
                       [.text("2025-01-09 00:00:00"), .text("2025-01-10 00:00:00"), .text("2025-01-11 00:00:00")])
        XCTAssertEqual(try db.int("SELECT count(*) FROM r WHERE bucket < '2025-01-09'"), 0)
    }

    /// `retain` deletes the partials of buckets it no longer answers: at refresh, and in
    /// upkeep steps as writes go on; kept buckets of dropped shards go too.
    func testRetainDeletesOldPartials() throws {
        let db = try TestDatabase()
        let t0: Int64 = 1736121600000, day: Int64 = 86_400_000
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = day, merge = none)")
        for i in 0..<60 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(t0 + Int64(i) * 7_200_000)}")]) }
        try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = 'day', measure = 'n: count', retain = '2 days')")
        XCTAssertGreaterThan(try db.int("SELECT shard_drop('e', '2025-01-08')"), 0)
        XCTAssertGreaterThan(try db.int("SELECT count(*) FROM r_partials WHERE b < ?", [.int(t0 + 2 * day)]), 0, "kept partials")
        let answer = try db.query("SELECT bucket_ms, n FROM r")
        XCTAssertEqual(answer.map { $0[0] }, [.int(t0 + 2 * day), .int(t0 + 3 * day), .int(t0 + 4 * day)])
        _ = try db.int("SELECT shard_rollup_refresh('r')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM r_partials WHERE b < ?", [.int(t0 + 2 * day)]), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM r_built WHERE kept = 1"), 0, "kept shards left without a bucket")
        XCTAssertGreaterThan(try db.int("SELECT count(*) FROM r_partials"), 0)
        XCTAssertEqual(try db.query("SELECT bucket_ms, n FROM r"), answer)
        // Upkeep: days go by; the partials of days out of retain go a step at a time.
        for i in 0..<3000 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(t0 + 5 * day + Int64(i) * 600_000)}")]) }
        let newest = try db.int("SELECT max(ts) FROM e")
        let first = (newest - newest % day) - 2 * day
        XCTAssertGreaterThan(try db.int("SELECT count(*) FROM r_partials"), 0, "upkeep built partials")
        XCTAssertEqual(try db.int("SELECT count(*) FROM r_partials WHERE b < ?", [.int(first)]), 0, "upkeep deleted old buckets")
        XCTAssertEqual(try db.query("SELECT bucket_ms, n FROM r"),
                       try db.query("SELECT ts - ts % 86400000, count(*) FROM e WHERE ts >= ? GROUP BY 1 ORDER BY 1", [.int(first)]))
    }

    /// A merge carries the partials of its tables to the merged table when both held;
    /// upkeep forgets those of shards merged away otherwise, as refresh does.
    func testMergesCarryPartialsAndUpkeepForgetsTheRest() throws {
        let db = try TestDatabase()
        let t0: Int64 = 1736121600000
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = hour, merge = none)")
        for i in 0..<60 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(t0 + Int64(i) * 7_200_000)}")]) }
        try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = 'day', measure = 'n: count')")
        try db.exec("CREATE VIRTUAL TABLE r2 USING shards_rollup(source = e, bucket = 'week', measure = 'n: count')")
        let built = try db.int("SELECT shard_rollup_refresh('r')")
        XCTAssertGreaterThan(built, 50)
        XCTAssertEqual(try db.int("SELECT shard_rollup_refresh('r2')"), built)
        // A document of 2025-01-07 changes: that day's hours are not carried.
        try db.exec("DELETE FROM e WHERE ts = ?", [.int(t0 + 86_400_000 + 7_200_000)])
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 59)
        XCTAssertGreaterThan(try db.int("SELECT shard_merge('e', '2025-01-10')"), 0)
        var shards = try db.int("SELECT count(*) FROM shard_list('e')")
        XCTAssertEqual(try db.int("SELECT shard_rollup_refresh('r2')"), 1, "only the changed day is built again")
        XCTAssertGreaterThanOrEqual(try db.int("SELECT count(*) FROM r_built"), shards, "stale partials are left until upkeep")
        XCTAssertEqual(try db.query("SELECT bucket_ms, n FROM r"),
                       try db.query("SELECT ts - ts % 86400000, count(*) FROM e GROUP BY 1 ORDER BY 1"))
        // The first write of a new day makes upkeep due; writes pay for its steps.
        for i in 0..<200 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(t0 + 6 * 86_400_000 + Int64(i))}")]) }
        shards = try db.int("SELECT count(*) FROM shard_list('e')")
        XCTAssertLessThan(try db.int("SELECT count(*) FROM r_built"), shards, "only shards in the collection are built")
        XCTAssertEqual(try db.int("SELECT count(*) FROM r_partials WHERE shard NOT IN (SELECT shard FROM r_built)"), 0)
        XCTAssertEqual(try db.query("SELECT bucket_ms, n FROM r"),
                       try db.query("SELECT ts - ts % 86400000, count(*) FROM e GROUP BY 1 ORDER BY 1"))
    }

    /// shard_drop and the collection's retain take documents; the rollup keeps their
    /// buckets (built then, if they were not), archived shards' too; a ROLLBACK of the
    /// drop takes the kept partials back with it.
    func testDroppedShardsKeepTheirBuckets() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = day)")
        for i in 0..<40 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(1736121600000 + Int64(i) * 10_800_000),\"v\":\(i)}")]) }
        try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = 'day', measure = 'n: count', measure = 's: sum($.v)')")
        let before = try db.query("SELECT bucket, n, s FROM r")
        XCTAssertEqual(before.count, 5)
        XCTAssertGreaterThan(try db.int("SELECT shard_archive('e', '2025-01-08', ?)", [.text("keep-\(UUID().uuidString).db")]), 0)
        try db.exec("BEGIN")
        XCTAssertEqual(try db.int("SELECT shard_drop('e', '2025-01-10')"), 32)
        XCTAssertEqual(try db.query("SELECT bucket, n, s FROM r"), before)
        try db.exec("ROLLBACK")
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'r!_%' ESCAPE '!'"), 0)
        XCTAssertEqual(try db.int("SELECT shard_drop('e', '2025-01-10')"), 32)
        XCTAssertEqual(try db.int("SELECT count(*) FROM e"), 8)
        XCTAssertEqual(try db.query("SELECT bucket, n, s FROM r"), before)
        // A late document for a dropped day adds to its kept bucket.
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":1736121600001,\"v\":1000}')")
        XCTAssertEqual(try db.query("SELECT n, s FROM r WHERE bucket_ms = 1736121600000"), [[.int(9), .int(1028)]])
        XCTAssertEqual(try TestDatabase(path: db.path).query("SELECT n, s FROM r WHERE bucket_ms = 1736121600000"), [[.int(9), .int(1028)]])
    }

    /// Upkeep builds partials of finished shards as writes go on, a shard a step.
    func testUpkeepBuildsPartials() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = day)")
        try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = 'day', measure = 'n: count')")
        XCTAssertEqual(try db.int("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'r!_%' ESCAPE '!'"), 0)
        for i in 0..<3000 { try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(1736121600000 + Int64(i) * 600_000)}")]) }
        XCTAssertGreaterThan(try db.int("SELECT count(*) FROM r_built"), 0, "upkeep built partials")
        XCTAssertEqual(try db.query("SELECT bucket_ms, n FROM r"),
                       try db.query("SELECT ts - ts % 86400000, count(*) FROM e GROUP BY 1 ORDER BY 1"))
    }

    /// The earliest time's week starts before it: it is still counted (found by the fuzz harness).
    func testTheEarliestTimeIsInItsBucket() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = month)")
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":-62167219200000}'), ('{\"t\":1736121600000}')")
        for bucket in ["1 week", "2 months", "7 minutes", "1 day"] {
            try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = '\(bucket)', measure = 'n: count')")
            XCTAssertEqual(try db.int("SELECT sum(n) FROM r"), 2, bucket)
            try db.exec("DROP TABLE r")
        }
    }

    /// A sketch's state is read when its measure is asked for: a damaged one fails the
    /// queries that read it (its measure, or its state merged), never misread; the other
    /// measures of its bucket still answer.
    func testADamagedStateFailsOnlyWhatReadsIt() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = day)")
        for i in 0..<600 {
            try db.exec("INSERT INTO e(doc) VALUES (?)", [.text("{\"t\":\(1736121600000 + Int64(i % 3) * 86_400_000 + Int64(i)),\"u\":\(i),\"d\":\(i % 50)}")])
        }
        try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = 'day', measure = 'n: count', "
            + "measure = 'users: distinct($.u)', measure = 'p: quantile($.d, 0.5)')")
        XCTAssertGreaterThan(try db.int("SELECT shard_rollup_refresh('r')"), 0)
        let before = try db.query("SELECT bucket, n, users, p FROM r")
        XCTAssertEqual(try db.int("SELECT shards_distinct(users_state) FROM r"), 600)
        // The first day's distinct state damaged: one byte changed, so its checksum fails.
        try db.exec("UPDATE r_partials SET c0 = CAST(substr(c0, 1, 40) || CASE WHEN substr(c0, 41, 1) = x'00' THEN x'01' ELSE x'00' END "
            + "|| substr(c0, 42) AS BLOB) WHERE b = 1736121600000")
        XCTAssertEqual(try db.int("SELECT count(*) FROM r_partials WHERE b = 1736121600000 AND typeof(c0) = 'blob'"), 1)
        XCTAssertEqual(try db.query("SELECT bucket, n, p FROM r"), before.map { [$0[0], $0[1], $0[3]] })
        db.expectError("SELECT users FROM r", contains: "not a shards distinct state")
        db.expectError("SELECT shards_distinct(users_state) FROM r", contains: "not a shards distinct state")
        XCTAssertEqual(try db.query("SELECT bucket, users FROM r WHERE bucket >= '2025-01-07'"), Array(before.dropFirst()).map { [$0[0], $0[2]] })
    }

    func testDroppingTheSourceFirstNamesIt() throws {
        let db = try TestDatabase()
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t')")
        try db.exec("INSERT INTO e(doc) VALUES ('{\"t\":1736121600000}')")
        try db.exec("CREATE VIRTUAL TABLE r USING shards_rollup(source = e, bucket = 'hour', measure = 'n: count')")
        XCTAssertEqual(try db.int("SELECT n FROM r"), 1)
        try db.exec("DROP TABLE e")
        db.expectError("SELECT * FROM r", contains: "rollup 'r' cannot read its source collection 'e'")
        let other = try TestDatabase(path: db.path)
        other.expectError("SELECT * FROM r", contains: "source collection 'e'")
        try other.exec("DROP TABLE r")
        XCTAssertEqual(try other.int("SELECT count(*) FROM sqlite_schema"), 0)
    }
}
