import Foundation
import XCTest

/// A collection `e` (time `$.t`, daily shards) and a plain table `plain` written the
/// same way by generated operations: inserts (late ones too), updates, deletes,
/// merges, compression, archiving, drops, transactions rolled back and savepoints.
/// The count(*) and rollup tests compare answers after each step.
///
/// `plain` keeps dropped rows with `dropped = 1`: a rollup keeps their buckets.
struct MirroredWrites {
    let db: TestDatabase
    var rng: DifferentialTests.SplitMix64
    /// 2025-01-06, a Monday.
    static let t0: Int64 = 1736121600000
    static let day: Int64 = 86_400_000
    let days: Int64 = 12
    /// The day whose shards are still written (updates and deletes); older ones may
    /// be compressed, archived or dropped.
    var openFrom: Int64 = 0
    private var nextU: Int64 = 1
    let types = ["click", "view", "buy", "err"]

    init(db: TestDatabase, seed: UInt64, collectionOptions: String) throws {
        self.db = db
        rng = DifferentialTests.SplitMix64(state: seed)
        try db.exec("CREATE VIRTUAL TABLE e USING shards(time = '$.t', partition = 'day'\(collectionOptions))")
        try db.exec("CREATE TABLE plain(u INTEGER PRIMARY KEY, t INTEGER, doc TEXT, dropped INTEGER DEFAULT 0)")
    }

    /// A document with unique `u` at day `d` (a random time in it).
    mutating func document(day d: Int64) -> (u: Int64, t: Int64, doc: String) {
        let u = nextU
        nextU += 1
        let t = Self.t0 + d * Self.day + Int64.random(in: 0..<Self.day, using: &rng)
        var fields = ["\"t\":\(t)", "\"u\":\(u)"]
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: break
        case 1: fields.append("\"type\":null")
        default: fields.append("\"type\":\"\(types.randomElement(using: &rng)!)\"")
        }
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: break
        case 1: fields.append("\"dur\":\"slow\"")
        case 2: fields.append("\"dur\":\(Double(Int.random(in: 0..<4000, using: &rng)) / 8)")
        default: fields.append("\"dur\":\(Int.random(in: -5..<500, using: &rng))")
        }
        fields.append("\"user\":\(Int.random(in: 0..<40, using: &rng))")
        return (u, t, "{" + fields.joined(separator: ",") + "}")
    }

    mutating func insert(count: Int, fromDay lo: Int64, toDay hi: Int64) throws {
        for _ in 0..<count {
            let d = document(day: Int64.random(in: lo...max(lo, hi), using: &rng))
            try db.exec("INSERT INTO e(doc) VALUES (?1); INSERT INTO plain(u, t, doc) VALUES (?2, ?3, ?1)",
                        [.text(d.doc), .int(d.u), .int(d.t)])
        }
    }

    /// Some u of a document in a day still written, or nil.
    mutating func someOpenU() throws -> Int64? {
        let n = try db.int("SELECT count(*) FROM plain WHERE dropped = 0 AND t >= ?", [.int(Self.t0 + openFrom * Self.day)])
        guard n > 0 else { return nil }
        return try db.int("SELECT u FROM plain WHERE dropped = 0 AND t >= ? ORDER BY u LIMIT 1 OFFSET ?",
                          [.int(Self.t0 + openFrom * Self.day), .int(Int64.random(in: 0..<n, using: &rng))])
    }

    mutating func update() throws {
        guard let u = try someOpenU() else { return }
        let dur = Int64.random(in: 0..<900, using: &rng)
        let type = types.randomElement(using: &rng)!
        try db.exec("UPDATE e SET doc = json_set(doc, '$.dur', ?1, '$.type', ?2) WHERE json_extract(doc, '$.u') = ?3",
                    [.int(dur), .text(type), .int(u)])
        try db.exec("UPDATE plain SET doc = json_set(doc, '$.dur', ?1, '$.type', ?2) WHERE u = ?3",
                    [.int(dur), .text(type), .int(u)])
    }

    mutating func delete() throws {
        guard let u = try someOpenU() else { return }
        try db.exec("DELETE FROM e WHERE json_extract(doc, '$.u') = ?1; DELETE FROM plain WHERE u = ?1", [.int(u)])
    }

    /// One generated step; returns what it did, for failure messages.
    mutating func step() throws -> String {
        let today = days - 1
        switch Int.random(in: 0..<14, using: &rng) {
        case 0...3:
            try insert(count: Int.random(in: 1...30, using: &rng), fromDay: today - 1, toDay: today)
            return "insert"
        case 4:
            try insert(count: Int.random(in: 1...5, using: &rng), fromDay: 0, toDay: today)
            return "late insert"
        case 5: try update(); return "update"
        case 6: try delete(); return "delete"
        case 7:
            _ = try db.int("SELECT shard_merge('e', ?)", [.int(Self.t0 + Int64.random(in: 1...today, using: &rng) * Self.day)])
            return "merge"
        case 8, 9, 10:
            // Freeze the next day: compress, archive or drop it (and everything before).
            guard openFrom < today - 2 else { return "nothing" }
            openFrom += 1
            let before = Self.t0 + openFrom * Self.day
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                _ = try db.int("SELECT shard_compress('e', ?)", [.int(before)])
                return "compress"
            case 1:
                _ = try db.int("SELECT shard_archive('e', ?, ?)", [.int(before), .text("mirror-\(UUID().uuidString).db")])
                return "archive"
            default:
                _ = try db.int("SELECT shard_drop('e', ?)", [.int(before)])
                try db.exec("UPDATE plain SET dropped = 1 WHERE t < ?", [.int(before)])
                return "drop"
            }
        case 11:
            // A transaction rolled back: neither table keeps anything of it.
            try db.exec("BEGIN")
            try insert(count: 5, fromDay: today - 1, toDay: today)
            try update()
            try delete()
            try check("inside a transaction")
            try db.exec("ROLLBACK")
            return "rollback"
        case 12:
            try db.exec("BEGIN")
            try insert(count: 3, fromDay: today, toDay: today)
            try db.exec("SAVEPOINT s")
            try insert(count: 4, fromDay: today - 1, toDay: today)
            try delete()
            try check("inside a savepoint")
            try db.exec("ROLLBACK TO s")
            try insert(count: 2, fromDay: today, toDay: today)
            try db.exec("RELEASE s; COMMIT")
            return "savepoint rolled back"
        default:
            try db.exec("BEGIN")
            try insert(count: 6, fromDay: today - 2, toDay: today)
            try delete()
            try db.exec("COMMIT")
            return "transaction"
        }
    }

    /// Checks run after each step (and inside transactions): set by each test.
    var check: (String) throws -> Void = { _ in }
}
