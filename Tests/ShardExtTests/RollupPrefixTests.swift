import Foundation
import XCTest

/// A rollup's prefix of a hot shard (docs/rollups.md, RollupPrefix.swift): one
/// connection writes, another reads the rollup, and every answer of either equals the
/// plain table's GROUP BY, after inserts, updates, deletes, rollbacks, savepoints, the
/// other connection's own writes, new days, merges, compression and refreshes.
final class RollupPrefixTests: XCTestCase {
    static let t0 = MirroredWrites.t0
    static let day = MirroredWrites.day
    static let types = ["click", "view", "buy", "err"]

    /// Two connections on one file: `e` (daily shards), the rollup `hot` (no sketches,
    /// so the writer keeps its parts in memory and writes prefixes), `plain`.
    func open() throws -> (TestDatabase, TestDatabase) {
        let w = try TestDatabase()
        try w.exec("PRAGMA journal_mode = WAL")
        try w.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = 'day')")
        try w.exec("CREATE VIRTUAL TABLE hot USING shards_rollup(source = e, bucket = '1 day', group = '$.type', \(RollupTests.hotMeasures))")
        try w.exec("CREATE TABLE plain(u INTEGER PRIMARY KEY, t INTEGER, doc TEXT)")
        return (w, try TestDatabase(path: w.path))
    }

    struct Writes {
        var rng: DifferentialTests.SplitMix64
        var nextU: Int64 = 1
        var today: Int64 = 0

        /// Inserts `n` documents of day `today` (in time order or not) on `db`, into both tables.
        mutating func insert(_ db: TestDatabase, _ n: Int) throws {
            for _ in 0..<n {
                let t = RollupPrefixTests.t0 + today * RollupPrefixTests.day + Int64.random(in: 0..<RollupPrefixTests.day, using: &rng)
                var fields = ["\"t\":\(t)", "\"u\":\(nextU)"]
                if Int.random(in: 0..<10, using: &rng) > 0 {
                    fields.append("\"type\":\"\(RollupPrefixTests.types.randomElement(using: &rng)!)\"")
                }
                if Int.random(in: 0..<5, using: &rng) > 0 { fields.append("\"dur\":\(Int.random(in: -5..<500, using: &rng))") }
                let doc = "{" + fields.joined(separator: ",") + "}"
                try db.exec("INSERT INTO e(doc) VALUES (?1); INSERT INTO plain(u, t, doc) VALUES (?2, ?3, ?1)",
                            [.text(doc), .int(nextU), .int(t)])
                nextU += 1
            }
        }

        /// Between `begin` and `end`: a number of documents in `n` inserted on `db`.
        mutating func batch(_ db: TestDatabase, _ n: ClosedRange<Int>, begin: String = "BEGIN", end: String = "COMMIT") throws {
            try db.exec(begin)
            try insert(db, Int.random(in: n, using: &rng))
            try db.exec(end)
        }

        /// Some u of day `today`'s documents, or nil.
        mutating func someU(_ db: TestDatabase) throws -> Int64? {
            let lo = RollupPrefixTests.t0 + today * RollupPrefixTests.day
            let n = try db.int("SELECT count(*) FROM plain WHERE t >= ?1", [.int(lo)])
            guard n > 0 else { return nil }
            return try db.int("SELECT u FROM plain WHERE t >= ?1 ORDER BY u LIMIT 1 OFFSET ?2",
                              [.int(lo), .int(Int64.random(in: 0..<n, using: &rng))])
        }
    }

    /// The rollup's answer, whole and for one type, against the plain table's GROUP BY.
    func check(_ db: TestDatabase, _ what: String) throws {
        for (filter, plainFilter) in [("", ""), ("WHERE type = 'view'", "WHERE json_extract(doc, '$.type') = 'view'")] {
            let got = try db.query("SELECT bucket_ms, type, n, us, a, lo, hi FROM hot \(filter) ORDER BY bucket_ms, type")
            let want = try db.query("""
                SELECT t - t % 86400000, json_extract(doc, '$.type'), count(*), sum(json_extract(doc, '$.u')),
                       avg(json_extract(doc, '$.u')), min(json_extract(doc, '$.dur')), max(json_extract(doc, '$.dur'))
                  FROM plain \(plainFilter) GROUP BY 1, 2 ORDER BY 1, 2
                """)
            XCTAssertEqual(got, want, "\(what) \(filter)")
        }
    }

    func testAnotherConnectionAnswersFromThePrefixAtEveryStep() throws {
        for seed in UInt64(1)...3 { try run(seed: seed) }
    }

    func run(seed: UInt64) throws {
        let (w, r) = try open()
        var m = Writes(rng: DifferentialTests.SplitMix64(state: seed))
        var prefixes: Set<String> = []
        func checkBoth(_ what: String) throws {
            let context = "after \(what), seed \(seed)"
            try check(r, context + ", reader")
            try check(w, context + ", writer")
            if try w.int("SELECT count(*) FROM sqlite_schema WHERE name = 'hot_prefix'") > 0 {
                for row in try w.query("SELECT shard, bound FROM hot_prefix") { prefixes.insert("\(row)") }
            }
        }
        try w.exec("BEGIN")
        try m.insert(w, 1_500)
        try check(r, "the writer's transaction is open, seed \(seed)")
        try w.exec("COMMIT")
        try checkBoth("the first load")
        XCTAssertEqual(prefixes.count, 1, "a prefix of the hot shard was written")
        for step in 0..<40 {
            let what: String
            switch Int.random(in: 0..<14, using: &m.rng) {
            case 0, 1:
                what = "inserts in a transaction"
                try m.batch(w, 1...1_200)
            case 2:
                what = "inserts one by one"
                try m.insert(w, Int.random(in: 1...5, using: &m.rng))
            case 3, 4, 12:
                what = "an update"
                guard let u = try m.someU(w) else { continue }
                let type = "updated \(step)"
                try w.exec("UPDATE e SET doc = json_set(doc, '$.type', ?1) WHERE json_extract(doc, '$.u') = ?2", [.text(type), .int(u)])
                try w.exec("UPDATE plain SET doc = json_set(doc, '$.type', ?1) WHERE u = ?2", [.text(type), .int(u)])
            case 13:
                what = "a delete"
                guard let u = try m.someU(w) else { continue }
                try w.exec("DELETE FROM e WHERE json_extract(doc, '$.u') = ?1; DELETE FROM plain WHERE u = ?1", [.int(u)])
            case 5:
                what = "a rollback"
                let u = m.nextU
                try w.exec("BEGIN")
                try m.insert(w, Int.random(in: 1_000...1_300, using: &m.rng))
                try check(r, "inside a transaction to be rolled back, seed \(seed)")
                try w.exec("ROLLBACK")
                m.nextU = u
            case 6:
                what = "a savepoint rolled back"
                try m.batch(w, 1...600, end: "")
                let u = m.nextU
                try m.batch(w, 900...1_300, begin: "SAVEPOINT s", end: "ROLLBACK TO s")
                m.nextU = u
                try m.insert(w, Int.random(in: 0...1_100, using: &m.rng))
                try check(w, "inside the transaction after ROLLBACK TO, seed \(seed)")
                try w.exec("RELEASE s; COMMIT")
            case 7:
                what = "a savepoint released"
                try m.batch(w, 900...1_300, begin: "BEGIN; SAVEPOINT s", end: "RELEASE s; COMMIT")
            case 8:
                what = "the reader's own inserts"
                try m.insert(r, Int.random(in: 1...30, using: &m.rng))
            case 9:
                what = "a new day"
                m.today += 1
                try m.insert(w, Int.random(in: 1...1_100, using: &m.rng))
            case 10:
                what = "merges and compression of finished days"
                let cut = Self.t0 + m.today * Self.day
                _ = try w.int("SELECT shard_merge('e', ?1)", [.int(cut)])
                if Bool.random(using: &m.rng) { _ = try w.int("SELECT shard_compress('e', ?1)", [.int(cut)]) }
            default:
                what = "a refresh"
                _ = try (Bool.random(using: &m.rng) ? w : r).int("SELECT shard_rollup_refresh('hot')")
            }
            try checkBoth("step \(step), \(what)")
        }
        XCTAssertGreaterThan(prefixes.count, 5, "prefixes written, seed \(seed)")
    }

    /// The reader takes the prefix's rows (a measure changed in them shows), and a
    /// prefix whose bound, rows, stamp or counts do not agree with the shard is not used:
    /// the shard is aggregated whole and the answer stays right.
    func testTamperedPrefixIsNotUsed() throws {
        let (w, r) = try open()
        var m = Writes(rng: DifferentialTests.SplitMix64(state: 7))
        try m.batch(w, 1_100...1_100)
        try m.insert(w, 10)
        XCTAssertEqual(try w.int("SELECT count(*) FROM hot_prefix"), 1)
        let shard = try w.int("SELECT shard FROM hot_prefix")
        try check(r, "untouched")
        // c1 is sum(u)'s sum: the prefix's rows answer for the rows up to the bound.
        let sum = "SELECT sum(us) FROM hot"
        let right = try r.int(sum)
        try w.exec("UPDATE hot_partials SET c1 = c1 + 1000000 WHERE shard = ?1 AND rowid = (SELECT min(rowid) FROM hot_partials WHERE shard = ?1)", [.int(shard)])
        XCTAssertEqual(try r.int(sum), right + 1_000_000, "the reader answers from the prefix")
        try w.exec("UPDATE hot_partials SET c1 = c1 - 1000000 WHERE shard = ?1 AND rowid = (SELECT min(rowid) FROM hot_partials WHERE shard = ?1)", [.int(shard)])
        for (tamper, undo) in [
            ("UPDATE hot_prefix SET bound = bound - 1", "UPDATE hot_prefix SET bound = bound + 1"),
            ("UPDATE hot_prefix SET bound = bound + 1", "UPDATE hot_prefix SET bound = bound - 1"),
            ("UPDATE hot_prefix SET bound = 'x' || bound", "UPDATE hot_prefix SET bound = CAST(substr(bound, 2) AS INTEGER)"),
            ("UPDATE hot_prefix SET rows = rows + 1", "UPDATE hot_prefix SET rows = rows - 1"),
            ("UPDATE hot_prefix SET rows = rows - 1", "UPDATE hot_prefix SET rows = rows + 1"),
            ("UPDATE hot_built SET stamp = stamp - 1", "UPDATE hot_built SET stamp = stamp + 1"),
            ("UPDATE hot_partials SET n = n + 1 WHERE rowid = (SELECT min(rowid) FROM hot_partials)",
             "UPDATE hot_partials SET n = n - 1 WHERE rowid = (SELECT min(rowid) FROM hot_partials)"),
            ("DELETE FROM hot_built", nil),
        ] as [(String, String?)] {
            try w.exec(tamper)
            try check(r, "tampered: \(tamper)")
            try check(w, "tampered, the writer: \(tamper)")
            if let undo {
                try w.exec(undo)
                XCTAssertEqual(try r.int(sum), right, "undone: \(tamper)")
            }
        }
        // The writer's next prefix replaces it whole.
        try m.insert(w, 1_100)
        try check(r, "a new prefix")
        XCTAssertEqual(try w.int("SELECT count(*) FROM hot_built WHERE shard = ?1", [.int(shard)]), 1)
    }

    /// Rows at ids below a prefix's bound written after it (a buffered writer reserves
    /// a block of ids, and writes them at its close, after others wrote past them) are
    /// found by counting the rows after the bound. The writer, its parts let go when
    /// the other connection wrote, takes them up again from the prefix.
    func testRowsBelowTheBoundWrittenLaterAreCounted() throws {
        let (w, r) = try open()
        var m = Writes(rng: DifferentialTests.SplitMix64(state: 9))
        try m.batch(w, 1_100...1_100)
        let firstBound = try w.int("SELECT bound FROM hot_prefix")
        // Ids reserved by another connection, as a buffered writer's block is (CatalogStore.reserveIds).
        let reserved = try r.int("SELECT last_local FROM e_shards") + 1
        try r.exec("UPDATE e_shards SET last_local = last_local + 10")
        try m.batch(w, 1_100...1_100)
        try check(r, "before")
        let shard = try w.int("SELECT num FROM e_shards")
        XCTAssertGreaterThan(try w.int("SELECT bound FROM hot_prefix"), firstBound, "the writer resumed from the prefix")
        XCTAssertGreaterThan(try w.int("SELECT bound FROM hot_prefix") & 0xFF_FFFF_FFFF, reserved + 10)
        // The reserved rows written as the close-time flush writes them: into the table,
        // and the catalog's counters moved by CatalogStore.addRows' statement, on a
        // connection of its own.
        let table = try w.text("SELECT tbl FROM e_shards")!
        let closing = try TestDatabase(path: w.path, load: false)
        try closing.exec("BEGIN")
        for k in Int64(0)..<3 {
            let u = 1_000_000 + k
            let doc = "{\"t\":\(Self.t0 + k),\"u\":\(u),\"type\":\"view\",\"dur\":1}"
            try closing.exec("INSERT INTO \"\(table)\"(id, ts, doc) VALUES (?1, ?2, ?3); INSERT INTO plain(u, t, doc) VALUES (?4, ?2, ?3)",
                       [.int(shard << 40 | (reserved + k)), .int(Self.t0 + k), .text(doc), .int(u)])
        }
        try closing.exec("UPDATE e_shards SET rows = rows + 3, changes = changes + 3")
        try closing.exec("COMMIT")
        try check(r, "rows written below the bound")
        try check(w, "rows written below the bound, the writer")
    }
}
