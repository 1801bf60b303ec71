import CShardShim
import ShardCore

/// One collection on one connection: its options, its catalog in memory, and the
/// statements it keeps prepared. The virtual table, the cursor and the SQL
/// functions all work through it.
final class Collection {
    let db: Database
    let schema: String
    let name: String
    let options: CollectionOptions
    /// Documents are stored as JSONB (SQLite 3.45+ at creation) or as text.
    let jsonb: Bool

    var catalog = Catalog()
    var nextNumber: Int64 = 1
    /// Paths indexed on every shard: the declared ones, then those added by ensure_json_index.
    var indexedPaths: [JSONPath]

    /// The shard the last routed document went to, valid while the catalog in memory
    /// is the one it came from (a newer shard of its line appears only once it is full).
    var lastRoute: ShardInfo?
    var lastRouteGeneration = 0
    var catalogGeneration = 0

    /// Set when memory may be behind the database (rollback, another connection).
    var catalogStale = true
    var lastDataVersion: Int64 = -1
    /// Set by xBegin: the first write of a transaction checks for other writers once.
    var checkBeforeWrite = true
    weak var connection: Connection?
    /// Virtual-table instances sharing this collection (see Connection.attach).
    var instances = 0
    /// Read-only connections to archive files.
    let archives = Archives()
    /// The random id this collection's archive files record as their owner (config `owner_id`).
    var ownerId: String?
    /// Lines of shards_explain while it runs a query; nil otherwise.
    var trace: [String]?

    /// Documents inserted but not written yet (`buffer = N`).
    let buffer = WriteBuffer()
    /// Between xBegin and xCommit/xRollback: SQLite will tell us how the transaction ends.
    var enlisted = false
    /// The transaction was opened by BEGIN (not a single autocommit statement).
    var explicitTransaction = false
    var flushing = false
    /// A statement writing a shard table is running (see writingShard).
    var shardWriteRunning = false

    let statements = StatementCache()
    var insertStatements: [Int64: Statement] = [:]
    var probe: Statement?
    var dataVersionStatement: Statement?

    static let jsonbVersion: Int32 = 3_045_000

    var shardsTable: String { name + "_shards" }
    var configTable: String { name + "_config" }
    var qualifiedShards: String { SQLText.identifier(schema) + "." + SQLText.identifier(shardsTable) }
    var qualifiedConfig: String { SQLText.identifier(schema) + "." + SQLText.identifier(configTable) }

    /// Drops the table the catalog says holds a shard in this database (its rows, or
    /// its blocks), and nothing else: a user's table of a similar name stays.
    func dropTablesSQL(_ s: ShardInfo) -> String {
        "DROP TABLE IF EXISTS \(qualified(s.storedTable));"
    }

    func qualified(_ table: String) -> String {
        SQLText.identifier(schema) + "." + SQLText.identifier(table)
    }

    private init(db: Database, schema: String, name: String, options: CollectionOptions, jsonb: Bool) {
        self.db = db
        self.schema = schema
        self.name = name
        self.options = options
        self.jsonb = jsonb
        self.indexedPaths = options.indexes.map(\.path)
    }

    /// xCreate: a new collection with its shadow tables, in the caller's transaction.
    static func create(db: Database, schema: String, name: String, options: CollectionOptions) throws -> Collection {
        try CollectionName.validate(name)
        let jsonb = sqliteVersionNumber >= jsonbVersion
        let c = Collection(db: db, schema: schema, name: name, options: options, jsonb: jsonb)
        try db.exec("""
            CREATE TABLE \(c.qualifiedConfig)(key TEXT PRIMARY KEY, value);
            CREATE TABLE \(c.qualifiedShards)(
              key TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE, num INTEGER NOT NULL UNIQUE,
              category TEXT, period TEXT NOT NULL, seq INTEGER NOT NULL,
              period_start INTEGER, period_end INTEGER,
              rows INTEGER NOT NULL DEFAULT 0, last_local INTEGER NOT NULL DEFAULT 0,
              min_id INTEGER, max_id INTEGER, min_ts INTEGER, max_ts INTEGER,
              state TEXT NOT NULL DEFAULT 'hot', file TEXT);
            """)
        let insert = try db.prepare("INSERT INTO \(c.qualifiedConfig)(key, value) VALUES (?1, ?2)")
        for (k, v) in [("storage", jsonb ? "jsonb" : "text"), ("created_with", sqliteVersion),
                       ("shards_version", shardsVersion), ("next_number", "1")] {
            try insert.bind([.text(k), .text(v)])
            try insert.run()
        }
        try db.exec("INSERT INTO \(c.qualifiedConfig)(key, value) VALUES ('owner_id', lower(hex(randomblob(16))))")
        c.catalogStale = false
        return c
    }

    /// xConnect: an existing collection; refuses JSONB storage on an SQLite that cannot read it.
    static func connect(db: Database, schema: String, name: String, options: CollectionOptions) throws -> Collection {
        var storage = "text", createdWith = "?", ownerId: String?
        let stmt: Statement
        do {
            stmt = try db.prepare("SELECT key, value FROM \(SQLText.identifier(schema)).\(SQLText.identifier(name + "_config"))")
        } catch {
            throw ShardError("shards: collection '\(name)' has lost its catalog table \(name)_config: \(error)")
        }
        while try stmt.step() {
            switch stmt.text(0) {
            case "storage": storage = stmt.text(1) ?? "text"
            case "created_with": createdWith = stmt.text(1) ?? "?"
            case "owner_id": ownerId = stmt.text(1)
            default: break
            }
        }
        if storage == "jsonb" && sqliteVersionNumber < jsonbVersion {
            throw ShardError("shards: collection '\(name)' stores JSONB documents (created with SQLite \(createdWith)); this SQLite is \(sqliteVersion), and JSONB needs 3.45.0 or newer")
        }
        let c = Collection(db: db, schema: schema, name: name, options: options, jsonb: storage == "jsonb")
        c.ownerId = ownerId
        return c
    }

    /// The paths the scanner reads: the time, then the category.
    lazy var scanPaths: [JSONPath] = [options.timePath, options.categoryPath].compactMap { $0 }
    /// How ?3 (the document) is stored: JSONB, or text even when handed a BLOB of JSON text.
    var storedDocument: String { jsonb ? "jsonb(?3)" : "CAST(?3 AS TEXT)" }

    // MARK: - catalog

    /// Brings the catalog in memory up to date with the database when another
    /// connection committed or a rollback undid our own changes.
    func refresh() throws {
        let dv = try dataVersion()
        if dv != lastDataVersion || catalogStale {
            try reload()
            lastDataVersion = dv
        }
    }

    func dataVersion() throws -> Int64 {
        if dataVersionStatement == nil {
            dataVersionStatement = try db.prepare("PRAGMA \(SQLText.identifier(schema)).data_version", persistent: true)
        }
        let stmt = dataVersionStatement!
        defer { stmt.reset() }
        guard try stmt.step() else { return 0 }
        return stmt.int64(0)
    }

    /// Before the first write of a transaction (or after a partial rollback), make
    /// sure memory matches the database; later writes of it trust memory.
    @inline(__always) func prepareWrite() throws {
        if checkBeforeWrite || catalogStale {
            try refresh()
            checkBeforeWrite = false
        }
    }

    func reload() throws {
        let dirty = Set(catalog.dirtyShards.map(\.number))
        var shards: [ShardInfo] = []
        let stmt: Statement
        do {
            stmt = try db.prepare("""
                SELECT category, period, seq, num, rows, last_local, min_id, max_id, min_ts, max_ts, state, file, tbl
                FROM \(qualifiedShards) ORDER BY num
                """)
        } catch let e as SQLiteError where e.message.hasPrefix("no such table") {
            throw ShardError("shards: collection '\(name)' has lost its catalog table \(shardsTable)")
        }
        while try stmt.step() {
            let periodLabel = stmt.text(1) ?? ""
            guard let period = options.partition.period(label: periodLabel) else {
                throw ShardError("shards: catalog of '\(name)' holds a bad period '\(periodLabel)'")
            }
            let key = ShardKey(collection: name, category: stmt.text(0), period: periodLabel, seq: Int(stmt.int64(2)))
            let shard = ShardInfo(
                key: key, number: stmt.int64(3), period: period, rows: stmt.int64(4), lastLocal: stmt.int64(5),
                minId: stmt.optionalInt(6), maxId: stmt.optionalInt(7), minTs: stmt.optionalInt(8), maxTs: stmt.optionalInt(9),
                state: stmt.text(10) ?? "hot", file: stmt.text(11), tableName: stmt.text(12))
            try CatalogCheck.check(collection: name, shard)
            shards.append(shard)
        }
        let next = try db.scalarInt("SELECT value FROM \(qualifiedConfig) WHERE key = 'next_number'") ?? 1
        try CatalogCheck.check(collection: name, nextNumber: next, highest: shards.map(\.number).max() ?? 0)
        catalog = Catalog(shards)
        catalogGeneration += 1
        nextNumber = next
        var paths = options.indexes.map(\.path)
        let ensured = try db.prepare("SELECT substr(key, 6) FROM \(qualifiedConfig) WHERE key LIKE 'path:%' ORDER BY rowid")
        while try ensured.step() {
            if let p = try? JSONPath(parsing: ensured.text(0) ?? ""), !paths.contains(p) { paths.append(p) }
        }
        indexedPaths = paths
        // Counters of our own unsynced writes survive a partial rollback only as
        // far as the rows do: count them again from the shard itself.
        for s in catalog.shards where dirty.contains(s.number) {
            try recount(s)
        }
        insertStatements.removeAll()
        catalogStale = false
    }

    func recount(_ s: ShardInfo) throws {
        let stmt = try db.prepare("SELECT count(*), min(id), max(id), min(ts), max(ts) FROM \(qualified(s.tableName))")
        guard try stmt.step() else { return }
        s.rows = stmt.int64(0)
        s.minId = stmt.optionalInt(1)
        s.maxId = stmt.optionalInt(2)
        s.minTs = stmt.optionalInt(3)
        s.maxTs = stmt.optionalInt(4)
        if let maxId = s.maxId { s.lastLocal = max(s.lastLocal, maxId & DocumentId.maxLocal) }
        s.dirty = true
    }

    /// xBegin: the first write of a transaction checks for other writers once.
    func began() {
        checkBeforeWrite = true
        if !enlisted { explicitTransaction = !db.isAutocommit }
        enlisted = true
    }

    /// xSync: at COMMIT of an explicit transaction the buffer is written; then the
    /// in-memory counters of changed shards, all inside the transaction. (An
    /// autocommit statement's commit leaves the buffer alone: that is its point.)
    func sync() throws {
        if explicitTransaction { try flush() }
        // After a partial rollback, count again before writing counters back.
        if catalogStale { try refresh() }
        let dirty = catalog.dirtyShards
        guard !dirty.isEmpty else { return }
        let stmt = try statements.checkout(db, """
            UPDATE \(qualifiedShards) SET rows = ?2, last_local = max(last_local, ?3), min_id = ?4, max_id = ?5, min_ts = ?6, max_ts = ?7
            WHERE num = ?1
            """)
        defer { statements.checkin(stmt) }
        for s in dirty {
            try stmt.bind([.int(s.number), .int(s.rows), .int(s.lastLocal), bindable(s.minId), bindable(s.maxId),
                           bindable(s.minTs), bindable(s.maxTs)])
            try stmt.run()
        }
    }

    /// xCommit: memory and database agree again.
    func committed() {
        for s in catalog.dirtyShards { s.dirty = false }
        buffer.committed()
        checkBeforeWrite = true
        enlisted = false
    }

    /// xRollback: everything of this transaction is gone, including new shards.
    func rolledBack() {
        for s in catalog.dirtyShards { s.dirty = false }
        buffer.rolledBack()
        catalogStale = true
        ownerId = nil
        checkBeforeWrite = true
        enlisted = false
    }

    /// xSavepoint / xRollbackTo.
    func savepoint(_ n: Int32) { buffer.savepoint(n) }

    func rolledBack(toSavepoint n: Int32) {
        buffer.rolledBack(toSavepoint: n)
        catalogStale = true
        ownerId = nil
    }

    func bindable(_ v: Int64?) -> SQLBinding { v.map { .int($0) } ?? .null }

    // MARK: - teardown

    /// xDestroy: drops every shard and shadow table.
    /// Only tables the catalog lists go, each named as its shard's key says (a row
    /// whose `tbl` disagrees is skipped); a catalog that is missing or fails its
    /// checks still lets the collection be dropped.
    func dropAll() throws {
        buffer.discardAll()
        statements.removeAll()
        insertStatements.removeAll()
        probe = nil
        dataVersionStatement = nil
        var sql = ""
        // Archive files are left as they are: they are the user's files.
        archives.closeAll()
        let hasCatalog = try db.scalarInt("SELECT count(*) FROM \(SQLText.identifier(schema)).sqlite_schema WHERE type = 'table' AND name = ?1",
                                          [.text(shardsTable)]) ?? 0
        if hasCatalog > 0 {
            let listed = try db.prepare("SELECT category, period, seq, tbl, state FROM \(qualifiedShards)")
            while try listed.step() {
                let key = ShardKey(collection: name, category: listed.text(0), period: listed.text(1) ?? "", seq: Int(listed.int64(2)))
                guard let table = listed.text(3), ShardTableName.isTable(table, of: key) else { continue }
                let shard = ShardInfo(key: key, number: 0, period: Period(start: nil, end: nil, label: key.period),
                                      state: listed.text(4) ?? "hot", tableName: table)
                sql += dropTablesSQL(shard)
            }
        }
        sql += "DROP TABLE IF EXISTS \(qualifiedShards); DROP TABLE IF EXISTS \(qualifiedConfig);"
        try db.exec(sql)
    }

    /// Writes what is buffered, then finalizes every statement before the connection
    /// lets go of the table.
    func close() {
        flushOnClose()
        archives.closeAll()
        statements.removeAll()
        insertStatements.removeAll()
        probe = nil
        dataVersionStatement = nil
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> Substring {
        hasPrefix(prefix) ? dropFirst(prefix.count) : Substring(self)
    }
}

/// FNV-1a 64 of a string, as 16 hex digits: short, stable names for path indexes.
func fnv1a64Hex(_ s: String) -> String {
    var h: UInt64 = 0xcbf29ce484222325
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100000001b3
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

// MARK: - columns

extension Collection {
    /// id, ts, shard, doc, one per declared index, then the hidden filter.
    var columnCount: Int { 5 + options.indexes.count }
    var filterColumn: Int { 4 + options.indexes.count }

    /// The CREATE TABLE that declares the collection's columns to SQLite.
    var declaration: String {
        var cols = ["id INTEGER", "ts INTEGER", "shard TEXT", "doc TEXT"]
        cols += options.indexes.map { SQLText.identifier($0.name) }
        cols.append("filter HIDDEN")
        return "CREATE TABLE x(" + cols.joined(separator: ", ") + ")"
    }

    /// The SQL for a collection column inside a shard. Indexed columns use exactly
    /// the expression of their index, so the shard's planner can match it; `doc`
    /// reads back as text (`reading`) even when stored as JSONB.
    func columnExpression(_ column: Int, reading: Bool = false) -> String {
        switch column {
        case 0: return "id"
        case 1: return "ts"
        case 3: return reading && jsonb ? "json(doc)" : "doc"
        default:
            return "json_extract(doc, \(SQLText.literal(options.indexes[column - 4].path.text)))"
        }
    }
}

// MARK: - tracing (shards_explain)

extension Collection {
    /// While a trace is on, each scan records how many shards it visits and the SQL
    /// it runs in each.
    func traceScan(visiting count: Int) {
        guard trace != nil else { return }
        trace!.append("scan: \(count) of \(catalog.shards.count) shards")
    }

    func traceShard(_ shard: ShardInfo, sql: String) {
        guard trace != nil else { return }
        trace!.append("  \(shard.keyText)\(shard.file.map { " (archive \($0))" } ?? ""): \(sql)")
    }
}
