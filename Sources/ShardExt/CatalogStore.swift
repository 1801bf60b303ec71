import CShardShim
import ShardCore

/// A collection's catalog tables, `<c>_shards` (a row per shard) and `<c>_config`
/// (key/value: storage, created_with, shards_version, next_number, time_unit when
/// given, a `path:<path>` row per path added by ensure_json_index and a `column:<name>`
/// row per column it added). Nothing else reads or writes them.
///
/// Every statement on them is in one table, prepared on first use and kept until
/// `finalizeAll` (as fts5_storage.c keeps azStmt[]). Values are always bound.
final class CatalogStore {
    private enum Kind: Int, CaseIterable {
        case readConfig, insertConfig, readNextNumber, writeNextNumber, readPaths, recordPath
        case readColumns, recordColumn, readStorage, writeStorage
        case readShards, insertShard, writeCounters, reserveIds, setState, setArchived, deleteShard, addRows
        case markMerged, setSummary, mergedTablesLeft, releaseTable, highestSeq, mergedInto, highestNumber, nextMergeTarget
        case readOwnerId, insertOwnerId, hasShardsTable, readTables
        case writableTable
    }

    /// The columns of `<c>_shards` that `shards()` reads, in SELECT order, named as in the table.
    private enum ShardColumn: Int32, CaseIterable {
        case category, period, seq, num, rows, last_local, min_id, max_id, min_ts, max_ts, state, file
        case part, merged_into, summary, tbl, changes
    }

    /// The columns in `ShardColumn` order, spelled out: naming an enum case goes
    /// through the runtime's reflection, which is cold again at each connection's
    /// load of the library (SQLite unloads it at close).
    private static let shardColumnList =
        "category, period, seq, num, rows, last_local, min_id, max_id, min_ts, max_ts, state, file, part, merged_into, summary, tbl, changes"
    private static let shardColumnNames = shardColumnList.split(separator: ",").map { String($0.drop { $0 == " " }) }

    /// Columns added after the first release, added to an older catalog when it is read.
    private static let addedColumns = ["part INTEGER NOT NULL DEFAULT 0", "merged_into INTEGER", "summary BLOB",
                                       "changes INTEGER NOT NULL DEFAULT 0"]

    let db: Database
    private let schema: String
    /// The collection's name, for the errors that say its catalog is inconsistent.
    private let collection: String
    private let shardsName: String
    private let shardsTable: String
    private let configTable: String
    private var prepared: [Statement?] = Array(repeating: nil, count: Kind.allCases.count)

    /// The catalog of collection `name` in `schema` ("main" for a connection of its own).
    init(db: Database, schema: String, name: String) {
        self.db = db
        self.schema = schema
        collection = name
        shardsName = name + "_shards"
        shardsTable = SQLText.identifier(schema) + "." + SQLText.identifier(name + "_shards")
        configTable = SQLText.identifier(schema) + "." + SQLText.identifier(name + "_config")
    }

    private func sql(_ kind: Kind) -> String {
        switch kind {
        case .readConfig: "SELECT key, value FROM \(configTable)"
        case .insertConfig: "INSERT INTO \(configTable)(key, value) VALUES (?1, ?2)"
        case .readNextNumber: "SELECT value FROM \(configTable) WHERE key = 'next_number'"
        case .writeNextNumber: "UPDATE \(configTable) SET value = ?1 WHERE key = 'next_number'"
        case .readPaths: "SELECT substr(key, 6) FROM \(configTable) WHERE key LIKE 'path:%' ORDER BY rowid"
        case .recordPath: "INSERT OR IGNORE INTO \(configTable)(key, value) VALUES (?1, NULL)"
        // In the order they were added: a column's number never changes.
        case .readColumns: "SELECT value FROM \(configTable) WHERE key LIKE 'column:%' ORDER BY rowid"
        case .recordColumn: "INSERT INTO \(configTable)(key, value) VALUES (?1, ?2)"
        case .readStorage: "SELECT value FROM \(configTable) WHERE key = 'storage'"
        case .writeStorage: "UPDATE \(configTable) SET value = ?1 WHERE key = 'storage'"
        case .highestSeq:
            "SELECT max(seq) FROM \(shardsTable) WHERE key > ?1 AND key < ?2 AND period = ?3 AND category IS ?4"
        case .mergedInto: "SELECT merged_into FROM \(shardsTable) WHERE num = ?1"
        case .highestNumber: "SELECT coalesce(max(num), 0) FROM \(shardsTable)"
        // Steps through the distinct values of merged_into on its index (text sorts
        // after every number, so a tampered value comes up too).
        case .nextMergeTarget: "SELECT min(merged_into) FROM \(shardsTable) WHERE merged_into >= ?1"
        case .readShards:
            "SELECT \(CatalogStore.shardColumnList) FROM \(shardsTable) WHERE merged_into IS NULL ORDER BY num"
        case .insertShard: """
            INSERT INTO \(shardsTable)(key, tbl, num, category, period, seq, period_start, period_end, part)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """
        case .writeCounters: """
            UPDATE \(shardsTable) SET rows = ?2, last_local = max(last_local, ?3), min_id = ?4, max_id = ?5, min_ts = ?6, max_ts = ?7,
              changes = ?8
            WHERE num = ?1
            """
        case .reserveIds: "UPDATE \(shardsTable) SET last_local = ?2 WHERE num = ?1"
        case .setState: "UPDATE \(shardsTable) SET state = ?2 WHERE num = ?1"
        case .setArchived: "UPDATE \(shardsTable) SET state = '\(ShardState.archived.rawValue)', file = ?2 WHERE num = ?1"
        // A shard goes with the catalog rows of the shards merged into it.
        case .deleteShard: "DELETE FROM \(shardsTable) WHERE num = ?1 OR merged_into = ?1"
        // The source, and the shards merged into it before, now live in ?2.
        case .markMerged: """
            UPDATE \(shardsTable) SET state = '\(ShardState.merged.rawValue)', merged_into = ?2, summary = NULL
            WHERE num = ?1 OR merged_into = ?1
            """
        case .setSummary: "UPDATE \(shardsTable) SET summary = ?2 WHERE num = ?1"
        // A merged shard gives up the name of its emptied table (tbl is unique) to the
        // new shard that takes the table over.
        case .releaseTable: "UPDATE \(shardsTable) SET tbl = '-' || num WHERE tbl = ?1 AND merged_into IS NOT NULL"
        // Tables of merged shards still in the schema (their drop had to wait).
        case .mergedTablesLeft: """
            SELECT tbl FROM \(shardsTable) WHERE merged_into IS NOT NULL
            AND tbl IN (SELECT name FROM \(SQLText.identifier(schema)).sqlite_schema WHERE type = 'table')
            """
        case .readOwnerId: "SELECT value FROM \(configTable) WHERE key = 'owner_id'"
        case .insertOwnerId: "INSERT OR IGNORE INTO \(configTable)(key, value) VALUES ('owner_id', lower(hex(randomblob(16))))"
        case .hasShardsTable:
            "SELECT count(*) FROM \(SQLText.identifier(schema)).sqlite_schema WHERE type = 'table' AND name = \(SQLText.literal(shardsName))"
        case .readTables: "SELECT category, period, seq, tbl, state FROM \(shardsTable)"
        // The table rows of shard ?1 go to now: its own, or the one it was merged into;
        // none unless that shard takes rows (hot).
        case .writableTable: """
            SELECT h.num, h.tbl FROM \(shardsTable) s JOIN \(shardsTable) h ON h.num = coalesce(s.merged_into, s.num)
            WHERE s.num = ?1 AND h.merged_into IS NULL AND h.state = '\(ShardState.hot.rawValue)'
            """
        case .addRows: """
            UPDATE \(shardsTable) SET rows = rows + ?2, changes = changes + ?2,
              min_id = min(coalesce(min_id, ?3), ?3), max_id = max(coalesce(max_id, ?4), ?4),
              min_ts = min(coalesce(min_ts, ?5), ?5), max_ts = max(coalesce(max_ts, ?6), ?6)
            WHERE num = ?1
            """
        }
    }

    private func statement(_ kind: Kind) throws -> Statement {
        if let s = prepared[kind.rawValue] { return s }
        let s = try db.prepare(sql(kind), persistent: true)
        prepared[kind.rawValue] = s
        return s
    }

    /// Runs a statement that returns no rows.
    private func run(_ kind: Kind, _ bindings: [SQLBinding]) throws {
        let stmt = try statement(kind)
        try stmt.bind(bindings)
        try stmt.run()
    }

    /// Lets go of every statement (before the tables go, or the connection closes).
    func finalizeAll() {
        for i in prepared.indices { prepared[i] = nil }
    }

    // MARK: - the tables

    /// Creates both tables and the config rows of a new collection, in the caller's transaction.
    func createTables(storage: String, createdWith: String, version: String, timeUnit: String?) throws {
        try db.exec("""
            CREATE TABLE \(configTable)(key TEXT PRIMARY KEY, value);
            CREATE TABLE \(shardsTable)(
              key TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE, num INTEGER NOT NULL UNIQUE,
              category TEXT, period TEXT NOT NULL, seq INTEGER NOT NULL,
              period_start INTEGER, period_end INTEGER,
              rows INTEGER NOT NULL DEFAULT 0, last_local INTEGER NOT NULL DEFAULT 0,
              min_id INTEGER, max_id INTEGER, min_ts INTEGER, max_ts INTEGER,
              state TEXT NOT NULL DEFAULT '\(ShardState.hot.rawValue)', file TEXT,
              \(CatalogStore.addedColumns.joined(separator: ", ")));
            """)
        try ensureMergedIndex()
        for (k, v) in [("storage", storage), ("created_with", createdWith),
                       ("shards_version", version), ("next_number", "1")] + (timeUnit.map { [("time_unit", $0)] } ?? []) {
            try run(.insertConfig, [.text(k), .text(v)])
        }
        try run(.insertOwnerId, [])
    }

    /// The random id a collection's archive files record as their owner; made on
    /// first use for a collection created before there was one.
    func ownerId(create: Bool) throws -> String? {
        if create { try run(.insertOwnerId, []) }
        let stmt = try statement(.readOwnerId)
        defer { stmt.reset() }
        return try stmt.step() ? stmt.text(0) : nil
    }

    /// The tables the catalog lists, unchecked (what DROP TABLE may drop), as (key, tbl,
    /// state); empty when the catalog table itself is gone.
    func listedTables(collection: String) throws -> [(key: ShardKey, table: String?, state: ShardState?)] {
        let has = try statement(.hasShardsTable)
        defer { has.reset() }
        guard try has.step(), has.int64(0) > 0 else { return [] }
        let stmt = try statement(.readTables)
        defer { stmt.reset() }
        var out: [(key: ShardKey, table: String?, state: ShardState?)] = []
        while try stmt.step() {
            let key = ShardKey(collection: collection, category: stmt.text(0), period: stmt.text(1) ?? "", seq: Int(stmt.int64(2)))
            out.append((key, stmt.text(3), stmt.text(4).flatMap(ShardState.init(rawValue:))))
        }
        return out
    }

    func dropTables() throws {
        finalizeAll()
        try db.exec("DROP TABLE IF EXISTS \(shardsTable); DROP TABLE IF EXISTS \(configTable);")
    }

    // MARK: - config

    /// The config rows, key to value (text).
    func config() throws -> [String: String] {
        let stmt = try statement(.readConfig)
        defer { stmt.reset() }
        var rows: [String: String] = [:]
        while try stmt.step() {
            if let k = stmt.text(0) { rows[k] = stmt.text(1) }
        }
        return rows
    }

    /// The number the next new shard takes.
    func nextNumber() throws -> Int64 {
        let stmt = try statement(.readNextNumber)
        defer { stmt.reset() }
        guard try stmt.step() else { return 1 }
        // Written as the text '1' at CREATE, as an integer since.
        if stmt.type(0) == SQLITE_TEXT, let n = Int64(stmt.text(0) ?? "") { return n }
        return try integer(stmt, 0, "next_number")
    }

    func setNextNumber(_ n: Int64) throws { try run(.writeNextNumber, [.int(n)]) }

    /// Paths added by ensure_json_index, in the order they were added.
    func indexedPaths() throws -> [String] { try texts(.readPaths) }

    func recordIndexedPath(_ path: String) throws { try run(.recordPath, [.text("path:" + path)]) }

    /// Columns added by ensure_json_index, as `name: path [type]`, in the order they were added.
    func addedColumns() throws -> [String] { try texts(.readColumns) }

    /// The first column of every row of a statement, as text.
    private func texts(_ kind: Kind) throws -> [String] {
        let stmt = try statement(kind)
        defer { stmt.reset() }
        var values: [String] = []
        while try stmt.step() { values.append(stmt.text(0) ?? "") }
        return values
    }

    func recordColumn(name: String, spec: String) throws { try run(.recordColumn, [.text("column:" + name), .text(spec)]) }

    /// `text` or `jsonb`; nil when the row is missing (text, for the oldest catalogs).
    func storage() throws -> String? {
        let stmt = try statement(.readStorage)
        defer { stmt.reset() }
        return try stmt.step() ? stmt.text(0) : nil
    }

    func setStorage(_ storage: String) throws { try run(.writeStorage, [.text(storage)]) }

    // MARK: - shards

    /// One catalog row, as `shards()` reads it.
    struct ShardRow {
        let category: String?
        let period: String
        let seq: Int
        let number: Int64
        let rows: Int64
        let lastLocal: Int64
        let minId, maxId, minTs, maxTs: Int64?
        /// The stored text; nil when it is not a `ShardState`.
        let state: ShardState?
        let file: String?
        /// Which merged table of its period (seq 0); 0 otherwise.
        let part: Int
        let mergedInto: Int64?
        let summary: [UInt8]?
        /// The shard's table (named by `ShardTableName` when it was made).
        let table: String?
        /// See `ShardInfo.changes`.
        let changes: Int64
    }

    /// The rows of shards that have a table, by number. Those of shards merged into
    /// another table are not read (an hourly collection has thousands, and a connection
    /// reads the catalog at its first use): `mergedInto` and `highestSeq` ask for them.
    func shards() throws -> [ShardRow] {
        let stmt: Statement
        do {
            stmt = try statement(.readShards)
        } catch let e as SQLiteError where e.code == SQLITE_ERROR {
            // A catalog made before merges and summaries (it lacks their columns: "no
            // such column") gains them; any other failure is SQLite's. (A busy or
            // changed schema is never taken for a missing column: a read must not write.)
            let missing = try CatalogStore.addedColumns.filter { column in
                let name = String(column.prefix { $0 != " " })
                return try db.scalarInt("SELECT count(*) FROM pragma_table_info(?1, ?2) WHERE name = ?3",
                                        [.text(shardsName), .text(schema), .text(name)]) == 0
            }
            guard !missing.isEmpty else { throw e }
            for column in missing { try db.exec("ALTER TABLE \(shardsTable) ADD COLUMN \(column)") }
            stmt = try statement(.readShards)
        }
        defer { stmt.reset() }
        // Numbers are integers as the extension writes them: text or a real there (a
        // hand's) is an inconsistent catalog, not the 0 SQLite would read it as.
        func int(_ c: ShardColumn) throws -> Int64 {
            try integer(stmt, c.rawValue, CatalogStore.shardColumnNames[Int(c.rawValue)], shard: stmt.text(ShardColumn.num.rawValue))
        }
        func optionalInt(_ c: ShardColumn) throws -> Int64? { stmt.type(c.rawValue) == SQLITE_NULL ? nil : try int(c) }
        func text(_ c: ShardColumn) -> String? { stmt.text(c.rawValue) }
        var rows: [ShardRow] = []
        while try stmt.step() {
            rows.append(ShardRow(
                category: text(.category), period: text(.period) ?? "", seq: Int(try int(.seq)), number: try int(.num),
                rows: try int(.rows), lastLocal: try int(.last_local), minId: try optionalInt(.min_id),
                maxId: try optionalInt(.max_id), minTs: try optionalInt(.min_ts), maxTs: try optionalInt(.max_ts),
                state: ShardState(rawValue: text(.state) ?? ShardState.hot.rawValue), file: text(.file),
                part: Int(try int(.part)), mergedInto: try optionalInt(.merged_into),
                summary: stmt.blob(ShardColumn.summary.rawValue), table: text(.tbl), changes: try int(.changes)))
        }
        return rows
    }

    /// The table that holds the ids of merged shard `number` now; nil when the shard
    /// was not merged (or is unknown).
    func mergedInto(_ number: Int64) throws -> Int64? {
        let stmt = try statement(.mergedInto)
        defer { stmt.reset() }
        stmt.bind(1, number)
        guard try stmt.step(), stmt.type(0) != SQLITE_NULL else { return nil }
        return try integer(stmt, 0, "merged_into", shard: String(number))
    }

    /// The distinct numbers that shards were merged into, ascending.
    func mergeTargets() throws -> [Int64] {
        let stmt = try statement(.nextMergeTarget)
        defer { stmt.reset() }
        var targets: [Int64] = []
        var from = Int64.min
        while true {
            stmt.bind(1, from)
            guard try stmt.step(), stmt.type(0) != SQLITE_NULL else { return targets }
            // Past the largest integer only another type is left.
            let n = try integer(stmt, 0, "merged_into")
            targets.append(n)
            stmt.reset()
            guard n < .max else { return targets }
            from = n + 1
        }
    }

    /// Where rows of shard `number` are written now, as the catalog says: the number
    /// and table of the shard holding it (itself, or the one it was merged into); nil
    /// when that shard is gone or takes no rows.
    func writableTable(ofShard number: Int64) throws -> (number: Int64, table: String)? {
        let stmt = try statement(.writableTable)
        defer { stmt.reset() }
        stmt.bind(1, number)
        guard try stmt.step(), let table = stmt.text(1) else { return nil }
        return (stmt.int64(0), table)
    }

    /// The highest shard number any row holds, merged shards' included.
    func highestNumber() throws -> Int64 {
        let stmt = try statement(.highestNumber)
        defer { stmt.reset() }
        return try stmt.step() ? integer(stmt, 0, "num") : 0
    }

    /// The index that finds merged shards' rows (and the others') by `merged_into`; a
    /// catalog made before it gets it at its first merge.
    func ensureMergedIndex() throws {
        try db.exec("CREATE INDEX IF NOT EXISTS \(SQLText.identifier(schema)).\(SQLText.identifier(shardsName + "_merged"))"
                    + " ON \(SQLText.identifier(shardsName))(merged_into)")
    }

    /// The highest seq of the line of `key` (its category and period), merged shards
    /// included; nil when the line has no shard.
    func highestSeq(of key: ShardKey) throws -> Int? {
        // The line's keys share the prefix `<line>:`; ';' follows ':'. Coarser lines'
        // keys (a day's, for an hour) share it too, hence the exact period and category.
        let line = key.line
        let stmt = try statement(.highestSeq)
        defer { stmt.reset() }
        stmt.bind(1, line + ":")
        stmt.bind(2, line + ";")
        stmt.bind(3, key.period)
        if let c = key.category { stmt.bind(4, c) } else { stmt.bindNull(4) }
        guard try stmt.step(), stmt.type(0) != SQLITE_NULL else { return nil }
        return Int(try integer(stmt, 0, "seq"))
    }

    /// The row of a new shard (counters start at zero).
    func insertShard(_ shard: ShardInfo) throws {
        let key = shard.key
        try run(.insertShard, [.text(key.text), .text(shard.tableName), .int(shard.number),
                               key.category.map { .text($0) } ?? .null, .text(key.period), .int(Int64(key.seq)),
                               bindable(shard.period.start), bindable(shard.period.end), .int(Int64(key.part))])
    }

    /// A merged shard: it and everything merged into it before now live in table `into`.
    func markMerged(shard number: Int64, into: Int64) throws {
        if !mergedIndexChecked {
            try ensureMergedIndex()
            mergedIndexChecked = true
        }
        try run(.markMerged, [.int(number), .int(into)])
    }
    private var mergedIndexChecked = false

    func setSummary(shard number: Int64, _ summary: ShardSummary?) throws {
        try run(.setSummary, [.int(number), summary.map { .blob($0.encoded(shard: number)) } ?? .null])
    }

    func releaseTable(_ name: String) throws { try run(.releaseTable, [.text(name)]) }

    /// Names of merged shards' tables that are still in the schema.
    func mergedTablesLeft() throws -> [String] {
        let stmt = try statement(.mergedTablesLeft)
        defer { stmt.reset() }
        var names: [String] = []
        while try stmt.step() { if let n = stmt.text(0) { names.append(n) } }
        return names
    }

    /// Writes the in-memory counters of a shard back (last_local never goes down).
    func writeCounters(_ s: ShardInfo) throws {
        try run(.writeCounters, [.int(s.number), .int(s.rows), .int(s.lastLocal), bindable(s.minId), bindable(s.maxId),
                                 bindable(s.minTs), bindable(s.maxTs), .int(s.changes)])
    }

    /// Records ids handed out up to `lastLocal` (a buffered writer's reservation).
    func reserveIds(shard number: Int64, through lastLocal: Int64) throws {
        try run(.reserveIds, [.int(number), .int(lastLocal)])
    }

    func setState(_ state: ShardState, shard number: Int64) throws {
        try run(.setState, [.int(number), .text(state.rawValue)])
    }

    func setArchived(shard number: Int64, file: String) throws {
        try run(.setArchived, [.int(number), .text(file)])
    }

    func deleteShard(_ number: Int64) throws { try run(.deleteShard, [.int(number)]) }

    /// Adds rows written behind the collection's back (the close-time flush) to a shard's
    /// counters. Its stamp moves one step per row, as inserts move it: a rollup's prefix
    /// (RollupPrefix.swift) tells inserts from other changes by the stamp and rows moving together.
    func addRows(shard number: Int64, count: Int64, ids: ClosedRange<Int64>, times: ClosedRange<Int64>) throws {
        try run(.addRows, [.int(number), .int(count), .int(ids.lowerBound), .int(ids.upperBound),
                           .int(times.lowerBound), .int(times.upperBound)])
    }

    private func bindable(_ v: Int64?) -> SQLBinding { v.map { .int($0) } ?? .null }

    /// Column `col` of the current row, which must be an integer (the extension writes
    /// nothing else there); any other value is the catalog's "inconsistent" error,
    /// naming the column (and the shard's number as stored, when known).
    private func integer(_ stmt: Statement, _ col: Int32, _ column: String,
                         shard: @autoclosure () -> String? = nil) throws -> Int64 {
        let type = stmt.type(col)
        if type == SQLITE_INTEGER { return stmt.int64(col) }
        let value = type == SQLITE_TEXT ? SQLText.literal(stmt.text(col) ?? "")
            : type == SQLITE_FLOAT ? "\(stmt.double(col))" : type == SQLITE_NULL ? "NULL" : "a blob"
        throw ShardError("catalog of '\(collection)' is inconsistent: " + (shard().map { "shard \($0) has " } ?? "")
            + "\(column) = \(value), not an integer")
    }
}
