import Foundation
import XCTest

/// The same documents in a collection and in one plain table; many generated
/// queries; identical answers required. Seeded and reproducible: set
/// SHARDS_DIFF_SEED to replay a run, SHARDS_DIFF_SCALE=10 for a larger one.
final class DifferentialTests: XCTestCase {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    static let env = ProcessInfo.processInfo.environment
    let seed = UInt64(env["SHARDS_DIFF_SEED"] ?? "") ?? 20251126
    let scale = Int(env["SHARDS_DIFF_SCALE"] ?? "") ?? 1

    let types = ["click", "view", "buy", "error", "Click", "view2"]
    let apps = ["web", "ios", "android"]
    /// 2024-11-01 .. about 2025-05: several monthly periods.
    let t0: Int64 = 1730419200000
    let span: Int64 = 200 * 86_400_000

    /// A document at `ts`, or at a random time of the span.
    func makeDocument(_ rng: inout SplitMix64, ts given: Int64? = nil) -> String {
        var fields: [String] = []
        let ts = given ?? t0 + Int64.random(in: 0..<span, using: &rng)
        // The time in several spellings the collection must read alike.
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: fields.append("\"ts\":\"\(iso(ts))\"")
        default: fields.append("\"ts\":\(ts)")
        }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: break                                   // missing
        case 1: fields.append("\"type\":null")
        case 2: fields.append("\"type\":\(Int.random(in: 0..<5, using: &rng))")   // mixed types
        default: fields.append("\"type\":\"\(types.randomElement(using: &rng)!)\"")
        }
        if Int.random(in: 0..<8, using: &rng) != 0 {
            fields.append("\"user\":{\"id\":\(Int.random(in: 0..<60, using: &rng))}")
        }
        if Int.random(in: 0..<12, using: &rng) != 0 {
            fields.append("\"app\":\"\(apps.randomElement(using: &rng)!)\"")
        }
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: fields.append("\"n\":\(Double(Int.random(in: 0..<1000, using: &rng)) / 8)")
        case 1: fields.append("\"n\":\"s\(Int.random(in: 0..<50, using: &rng))\"")
        default: fields.append("\"n\":\(Int.random(in: -50..<50, using: &rng))")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    func iso(_ ms: Int64) -> String {
        let d = Date(timeIntervalSince1970: Double(ms) / 1000)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return f.string(from: d)
    }

    func testCollectionAnswersLikeAPlainTable() throws {
        var rng = SplitMix64(state: seed)
        let db = try load(&rng)
        try compare(db, &rng, queries: 2000 * scale)
    }

    /// The same over shards that were compressed or moved to an archive file: the
    /// oldest periods archived, the next compressed, the rest as they were.
    func testCompressedAndArchivedShardsAnswerLikeAPlainTable() throws {
        var rng = SplitMix64(state: seed &+ 1)
        let db = try load(&rng)
        XCTAssertGreaterThan(try db.int("SELECT shard_archive('events', '2024-12-01', 'differential-archive-\(UUID().uuidString).db')"), 0)
        XCTAssertGreaterThan(try db.int("SELECT shard_compress('events', '2025-02-01')"), 0)
        XCTAssertEqual(Set(try db.query("SELECT DISTINCT state FROM shard_list('events')").map { $0[0].text! }),
                       ["archived", "compressed", "sealed"])
        XCTAssertEqual(try db.int("SELECT count(*) FROM events"), try db.int("SELECT count(*) FROM plain"))
        try compare(db, &rng, queries: 800 * scale)
    }

    /// Documents arriving in time order, one in 10 up to five days late, over
    /// compressed monthly shards of several blocks each: each block holds a few days,
    /// late documents make ranges overlap, and ordered reads go block by block.
    func testCompressedShardsOfTimeOrderedDocumentsAnswerLikeAPlainTable() throws {
        var rng = SplitMix64(state: seed &+ 2)
        let db = try load(&rng, inTimeOrder: true, options: "time = '$.ts', partition = month", count: 24_000 * scale)
        XCTAssertGreaterThan(try db.int("SELECT max(rows) FROM shard_list('events') WHERE period_end <= 1743465600000"), 3000)
        XCTAssertGreaterThan(try db.int("SELECT shard_compress('events', '2025-04-01')"), 0)
        XCTAssertEqual(Set(try db.query("SELECT DISTINCT state FROM shard_list('events')").map { $0[0].text! }),
                       ["compressed", "sealed"])
        try compare(db, &rng, queries: 800 * scale)
    }

    /// Current documents in time order interleaved with late ones (for days long
    /// merged into their month, README "Merging finished shards": late documents), in
    /// autocommit statements and in transactions, with deletes, `shard_merge`,
    /// compression and `shard_drop` along the way; the plain table gets the same
    /// writes. Every answer, and the set of ids, must stay identical.
    func testLateAndCurrentWritesThroughMergesCompressionAndRetentionAnswerLikeAPlainTable() throws {
        var rng = SplitMix64(state: seed &+ 3)
        let db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE events USING shards(time = '$.ts', category = '$.app', partition = day,
                                                     merge_rows = 2500, index = '$.type',
                                                     index = 'user: $.user.id integer', index = 'app: $.app text');
            CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER, shard TEXT, doc TEXT, type, user INTEGER, app TEXT);
            CREATE INDEX plain_ts ON plain(ts);
            CREATE TABLE small(u, k);
            INSERT INTO small VALUES (1, 'a'), (7, 'b'), (59, 'c'), (NULL, 'd'), (1000, 'e');
            """)
        let day: Int64 = 86_400_000
        func write(ts: Int64) throws {
            let doc = makeDocument(&rng, ts: ts)
            try db.exec("INSERT INTO events(doc) VALUES (?)", [.text(doc)])
            try db.exec("""
                INSERT INTO plain(id, ts, doc, type, user, app)
                VALUES (last_insert_rowid(), ?1, ?2, json_extract(?2, '$.type'), json_extract(?2, '$.user.id'), json_extract(?2, '$.app'))
                """, [.int(ts), .text(doc)])
        }
        let count = 5_000 * scale
        let firstMonthEnd: Int64 = 1733011200000   // 2024-12-01
        var dropped = false, compressed = false, merged = false, open = false, lateIntoMerged = 0
        for i in 0..<count {
            let now = t0 + span * Int64(i) / Int64(count)
            let inTransaction = (i / 150) % 2 == 1
            if inTransaction && i % 150 == 0 { try db.exec("BEGIN"); open = true }
            try write(ts: now)
            if i % 3 == 0, now - t0 > 3 * day {
                // Late: any earlier day, mostly long finished; some before the cut once dropped.
                let lo = dropped ? firstMonthEnd : t0
                let ts = lo + Int64.random(in: 0..<max(1, now - 2 * day - lo), using: &rng)
                if i % 30 == 0, try db.int("SELECT count(*) FROM shard_list('events') WHERE shard LIKE '%:000%' AND state = 'sealed' AND ? BETWEEN period_start AND period_end - 1", [.int(ts)]) > 0 {
                    lateIntoMerged += 1
                }
                try write(ts: ts)
            }
            if i % 97 == 0, i > 0 {
                // Compressed shards are read-only: deletes go to rows after the compression cut.
                let id = try db.int("SELECT id FROM plain WHERE ts >= ? ORDER BY (id * 2654435761 + \(i)) % 1000003 LIMIT 1",
                                    [.int(compressed ? 1735689600000 : 0)])
                try db.exec("DELETE FROM events WHERE id = ?", [.int(id)])
                try db.exec("DELETE FROM plain WHERE id = ?", [.int(id)])
            }
            if inTransaction && i % 150 == 149 { try db.exec("COMMIT"); open = false }
            if !inTransaction && i == count / 2 {
                XCTAssertGreaterThanOrEqual(try db.int("SELECT shard_merge('events', ?)", [.int(now - 20 * day)]), 0)
                merged = true
            }
            if !inTransaction && !compressed && i >= 2 * count / 3 {
                XCTAssertGreaterThan(try db.int("SELECT shard_compress('events', '2025-01-01')"), 0)
                compressed = true
            }
            if !inTransaction && !dropped && i >= 3 * count / 4 {
                XCTAssertGreaterThan(try db.int("SELECT shard_drop('events', ?)", [.int(firstMonthEnd)]), 0)
                try db.exec("DELETE FROM plain WHERE ts < ?", [.int(firstMonthEnd)])
                dropped = true
            }
        }
        if open { try db.exec("COMMIT") }
        XCTAssertTrue(merged && compressed && dropped)
        XCTAssertGreaterThan(lateIntoMerged, count / 300, "late documents must reach merged periods")
        // No committed row lost or doubled.
        XCTAssertEqual(try db.query("SELECT id FROM events ORDER BY id"), try db.query("SELECT id FROM plain ORDER BY id"))
        // Where a row lives is the collection's to say; the plain table copies it for the shard terms.
        try db.exec("UPDATE plain SET shard = (SELECT shard FROM events WHERE id = plain.id)")
        XCTAssertEqual(try db.int("SELECT count(*) FROM plain WHERE shard IS NULL"), 0)
        try compare(db, &rng, queries: 800 * scale)
    }

    /// A collection and a plain table holding the same generated documents: at random
    /// times, or `inTimeOrder` (with a few late).
    func load(_ rng: inout SplitMix64, inTimeOrder: Bool = false,
              options: String = "time = '$.ts', category = '$.app', max_rows = 700", count: Int? = nil) throws -> TestDatabase {
        let db = try TestDatabase()
        try db.exec("""
            CREATE VIRTUAL TABLE events USING shards(\(options),
                                                     index = '$.type', index = 'user: $.user.id integer',
                                                     index = 'app: $.app text');
            CREATE TABLE plain(id INTEGER PRIMARY KEY, ts INTEGER, shard TEXT, doc TEXT, type, user INTEGER, app TEXT);
            CREATE INDEX plain_ts ON plain(ts);
            CREATE TABLE small(u, k);
            """)
        let count = count ?? 12_000 * scale
        try db.exec("BEGIN")
        for i in 0..<count {
            var ts: Int64?
            if inTimeOrder {
                let late = Int.random(in: 0..<10, using: &rng) == 0 ? Int64.random(in: 0..<(5 * 86_400_000), using: &rng) : 0
                ts = t0 + span * Int64(i) / Int64(count) - late
            }
            try db.exec("INSERT INTO events(doc) VALUES (?)", [.text(makeDocument(&rng, ts: ts))])
        }
        try db.exec("""
            INSERT INTO plain SELECT id, ts, shard, doc, type, user, app FROM events;
            COMMIT;
            INSERT INTO small VALUES (1, 'a'), (7, 'b'), (59, 'c'), (NULL, 'd'), (1000, 'e');
            """)
        XCTAssertEqual(try db.int("SELECT count(*) FROM plain"), Int64(count))
        // The plain table is filled from the collection: check it against the source of truth too.
        XCTAssertEqual(try db.int("SELECT count(*) FROM plain WHERE type IS NOT json_extract(doc, '$.type') OR user IS NOT json_extract(doc, '$.user.id') OR app IS NOT json_extract(doc, '$.app')"), 0)
        let shardCount = try db.int("SELECT count(*) FROM shard_list('events')")
        XCTAssertGreaterThan(shardCount, inTimeOrder ? 5 : 20, "the data must spread over many shards")
        return db
    }

    /// Runs `queries` generated queries on both; every answer must be identical.
    func compare(_ db: TestDatabase, _ rng: inout SplitMix64, queries: Int) throws {
        let ids = try db.query("SELECT id FROM plain ORDER BY (id * 2654435761) % 1000003 LIMIT 200").map { $0[0].int! }
        let shards = try db.query("SELECT shard FROM shard_list('events')").map { $0[0].text! }
        var failures = 0, withDocuments = 0
        defer { XCTAssertGreaterThan(withDocuments, queries / 40, "query documents must be exercised") }
        for q in 0..<queries {
            let sql = makeQuery(&rng, ids: ids, shards: shards)
            if sql.contains("⟦") { withDocuments += 1 }
            let a: [[Value]], b: [[Value]]
            do {
                a = try db.query(Self.render(sql, collection: true))
                b = try db.query(Self.render(sql, collection: false))
            } catch {
                XCTFail("query \(q) (seed \(seed)) failed: \(error)\n\(Self.render(sql, collection: true))")
                return
            }
            if a != b {
                failures += 1
                XCTFail("query \(q) (seed \(seed)) differs: \(sql)\ncollection: \(a.prefix(5))… (\(a.count) rows)\nplain: \(b.prefix(5))… (\(b.count) rows)")
                if failures > 5 { return }
            }
        }
    }

    /// The query for one side: `$T` is the table; `⟦document⟧⟪sql⟫` is a filter term,
    /// `filter = 'document'` on the collection and `(sql)` on the plain table.
    static func render(_ sql: String, collection: Bool) -> String {
        var out = sql.replacingOccurrences(of: "$T", with: collection ? "events" : "plain")
        while let open = out.range(of: "⟦"), let mid = out.range(of: "⟧⟪", range: open.upperBound..<out.endIndex),
              let close = out.range(of: "⟫", range: mid.upperBound..<out.endIndex) {
            let document = String(out[open.upperBound..<mid.lowerBound])
            let plain = String(out[mid.upperBound..<close.lowerBound])
            out.replaceSubrange(open.lowerBound..<close.upperBound,
                                with: collection ? "filter = '\(document)'" : "(\(plain))")
        }
        return out
    }

    func makeQuery(_ rng: inout SplitMix64, ids: [Int64], shards: [String]) -> String {
        func pick<T>(_ xs: [T]) -> T { xs.randomElement(using: &rng)! }
        func ts() -> Int64 { t0 + Int64.random(in: -86_400_000..<(span + 86_400_000), using: &rng) }
        // Query documents stand as top-level terms only: `filter = ...` under OR is refused.
        // One per query: SQLite itself reads `filter = A AND filter = B` as A = B.
        var documentUsed = false
        func condition(topLevel: Bool = false) -> String {
            switch Int.random(in: 0..<21, using: &rng) {
            case 0: return "id \(pick(["=", "<", "<=", ">", ">="])) \(pick(ids) + Int64.random(in: -1...1, using: &rng))"
            case 1: return "id IN (\(pick(ids)), \(pick(ids)), \(pick(ids)))"
            case 2: return "ts \(pick(["<", "<=", ">", ">=", "="])) \(ts())"
            case 3: let a = ts(); return "ts BETWEEN \(a) AND \(a + Int64.random(in: 0..<40, using: &rng) * 86_400_000)"
            case 4: return "type = '\(pick(types))'"
            case 5: return "type \(pick(["<", ">=", ">"])) '\(pick(types))'"
            case 6: return "type IN ('\(pick(types))', '\(pick(types))', \(Int.random(in: 0..<5, using: &rng)))"
            case 7: return "type IS NULL"
            case 8: return "user \(pick(["=", "<", ">=", ">"])) \(Int.random(in: -1..<61, using: &rng))"
            case 9: return "user BETWEEN \(Int.random(in: 0..<30, using: &rng)) AND \(Int.random(in: 20..<60, using: &rng))"
            case 10: return "shard = '\(pick(shards))'"
            case 11: return "shard LIKE '\(String(pick(shards).dropLast(5)))%'"
            case 12: return "shard IN ('\(pick(shards))', '\(pick(shards))')"
            case 13: return "json_extract(doc, '$.n') > \(Int.random(in: -50..<100, using: &rng))"
            case 14: return "type = \(Int.random(in: 0..<5, using: &rng))"
            // Typed columns compared with values of another type, converted as a plain
            // table's column of that type converts them: user INTEGER, app TEXT.
            case 16: return "user \(pick(["=", "<", ">=", ">"])) \(typedUser())"
            case 17: return "user IN ('\(Int.random(in: 0..<60, using: &rng))', \(Int.random(in: 0..<60, using: &rng)), '\(Int.random(in: 0..<60, using: &rng)).0', 'x')"
            case 18: return "app \(pick(["=", ">", "<="])) \(pick(["'web'", "'ios'", "'and'", "3", "'3'", "2.5", "NULL"]))"
            case 19: return "app IN ('\(pick(apps))', \(Int.random(in: 0..<5, using: &rng)), '\(pick(apps))')"
            case 15 where topLevel && !documentUsed:
                // A query document for the collection, its meaning in SQL for the plain table.
                documentUsed = true
                let (document, sql) = queryDocument()
                return "⟦\(document)⟧⟪\(sql)⟫"
            case 15: return condition(topLevel: false)
            case 20: return "app IS NULL"
            default: return "(\(condition()) OR \(condition()))"
            }
        }
        func typedUser() -> String {
            let n = Int.random(in: -1..<61, using: &rng)
            return pick(["'\(n)'", "' \(n) '", "'\(n).0'", "\(n)", "'\(n)x'", "'1e1'"])
        }
        func field() -> (String, String) {
            pick([("type", "json_extract(doc, '$.type')"), ("user.id", "json_extract(doc, '$.user.id')"),
                  ("n", "json_extract(doc, '$.n')"), ("app", "json_extract(doc, '$.app')")])
        }
        func scalar() -> (json: String, sql: String) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: let t = pick(types); return ("\"\(t)\"", "'\(t)'")
            case 1: let a = pick(apps); return ("\"\(a)\"", "'\(a)'")
            case 2: let n = Int.random(in: -5..<60, using: &rng); return ("\(n)", "\(n)")
            default: let d = Double(Int.random(in: 0..<400, using: &rng)) / 8; return ("\(d)", "\(d)")
            }
        }
        func clause(depth: Int) -> (String, String) {
            let (f, x) = field()
            switch Int.random(in: 0..<(depth > 1 ? 9 : 10), using: &rng) {
            case 0: let v = scalar(); return ("\"\(f)\":\(v.json)", "\(x) = \(v.sql)")
            case 1: let v = scalar(); return ("\"\(f)\":{\"$ne\":\(v.json)}", "\(x) IS NOT \(v.sql)")
            case 2:
                let (op, sqlOp) = pick([("$gt", ">"), ("$gte", ">="), ("$lt", "<"), ("$lte", "<=")])
                let v = scalar(); return ("\"\(f)\":{\"\(op)\":\(v.json)}", "\(x) \(sqlOp) \(v.sql)")
            case 3:
                let a = scalar(), b = scalar()
                return ("\"\(f)\":{\"$in\":[\(a.json),\(b.json)]}", "\(x) IN (\(a.sql), \(b.sql))")
            case 4:
                let a = scalar(), b = scalar()
                return ("\"\(f)\":{\"$nin\":[\(a.json),\(b.json)]}", "(\(x) NOT IN (\(a.sql), \(b.sql)) OR \(x) IS NULL)")
            case 5:
                let yes = Bool.random(using: &rng)
                let path = "$." + f
                return ("\"\(f)\":{\"$exists\":\(yes)}", "json_type(doc, '\(path)') IS \(yes ? "NOT NULL" : "NULL")")
            case 6: return ("\"\(f)\":null", "\(x) IS NULL")
            case 7:
                let v = scalar()
                return ("\"\(f)\":{\"$gt\":\(v.json),\"$ne\":\(v.json)}", "(\(x) > \(v.sql) AND \(x) IS NOT \(v.sql))")
            default:
                let a = clause(depth: depth + 1), b = clause(depth: depth + 1)
                let op = Bool.random(using: &rng) ? "$or" : "$and"
                return ("\"\(op)\":[{\(a.0)},{\(b.0)}]", "((\(a.1)) \(op == "$or" ? "OR" : "AND") (\(b.1)))")
            }
        }
        func queryDocument() -> (String, String) {
            var parts: [(String, String)] = []
            var used = Set<String>()
            for _ in 0..<Int.random(in: 1...2, using: &rng) {
                let c = clause(depth: 0)
                // A member name may appear once per object.
                let name = String(c.0.prefix { $0 != ":" })
                if used.insert(name).inserted { parts.append(c) }
            }
            let document = "{" + parts.map(\.0).joined(separator: ",") + "}"
            let sql = parts.map { "(\($0.1))" }.joined(separator: " AND ")
            return (document, sql)
        }
        var conds: [String] = []
        for _ in 0..<Int.random(in: 0..<4, using: &rng) { conds.append(condition(topLevel: true)) }
        let whereClause = conds.isEmpty ? "" : " WHERE " + conds.joined(separator: " AND ")
        switch Int.random(in: 0..<8, using: &rng) {
        case 0:
            return "SELECT id, ts, shard, doc, type, user FROM $T\(whereClause) ORDER BY id"
        case 1:
            return "SELECT id, type FROM $T\(whereClause) ORDER BY id \(pick(["ASC", "DESC"])) LIMIT \(Int.random(in: 0..<30, using: &rng)) OFFSET \(Int.random(in: 0..<20, using: &rng))"
        case 2:
            return "SELECT type, count(*), sum(user), min(ts), max(id) FROM $T\(whereClause) GROUP BY type ORDER BY 1"
        case 3:
            return "SELECT count(*), total(json_extract(doc, '$.n')) FROM $T\(whereClause)"
        case 4:
            // The collection as the inner loop of a join.
            return "SELECT s.k, e.id, e.ts FROM small s JOIN $T e ON e.user = s.u\(conds.isEmpty ? "" : " AND " + conds.joined(separator: " AND ")) ORDER BY 1, 2"
        case 5:
            return "SELECT ts, id FROM $T\(whereClause) ORDER BY ts \(pick(["ASC", "DESC"])), id LIMIT \(Int.random(in: 1..<50, using: &rng))"
        case 6:
            // The order the collection gives itself (ties on ts by id): no sort above it;
            // offsets reach deep into the data, where a late document's block overlaps others.
            let direction = pick(["", " DESC"])
            let limit = Int.random(in: 0..<3, using: &rng) == 0 ? ""
                : " LIMIT \(Int.random(in: 1..<60, using: &rng)) OFFSET \(Int.random(in: 0..<(Bool.random(using: &rng) ? 40 : 8000), using: &rng))"
            return "SELECT id, ts, type FROM $T\(whereClause) ORDER BY ts\(direction), id\(direction)\(limit)"
        default:
            return "SELECT shard, count(*) FROM $T\(whereClause) GROUP BY shard ORDER BY shard"
        }
    }
}
