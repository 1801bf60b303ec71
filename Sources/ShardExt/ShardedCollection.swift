import CShardShim
import ShardCore

/// One collection on one connection, and the coordinator of its state: what it is
/// (name, options, columns), where it stands in the transaction, and the owners of
/// the rest: the catalog in memory (`CollectionCatalog`), the writes into shard
/// tables and the write buffer (`ShardWriter`), upkeep (`Upkeep`), the statements
/// (`CollectionStatements`, `CatalogStore`) and the archives (`Archives`). The
/// virtual table, the cursor and the SQL functions all work through it; the
/// `ShardedCollection*.swift` extensions hold the SQL of its writes, placement,
/// lifecycle calls, storage and columns.
final class ShardedCollection {
    let db: Database
    let schema: String
    let name: String
    /// The options of its CREATE, with the `time_unit` recorded then (see `connect`).
    let options: CollectionOptions

    /// The catalog in memory, its generation, next number and indexed paths; every
    /// change of a shard's state goes through it (`CollectionCatalog.change`).
    let catalog: CollectionCatalog
    /// The virtual table's columns: declared, then added by ensure_json_index (as
    /// the config listed them at the last xConnect; see `declareColumns`), and the storage.
    private(set) var columns: ColumnLayout

    /// Where the collection stands in SQLite's transaction (see NOTES ON TRANSACTIONS there).
    var transaction = TransactionState()
    weak var connection: Connection?
    /// Read-only connections to archive files, and the owner id they record.
    let archives = Archives()

    /// Every write into shard tables (counted, never re-entered), and the buffered ones.
    let writer = ShardWriter()
    /// The one pass over an inserted document, for placement and the rollups it feeds.
    let insertScan: InsertScan
    /// Merges, summaries and rollup partials of shards that stopped receiving rows.
    let upkeep = Upkeep()
    /// Every other statement the collection keeps, and the texts its scans reuse.
    let statements: CollectionStatements

    /// Writes to shard tables so far (`ShardWriter.writes`): a scan checks its rows'
    /// ids against where it started only once this moved.
    var shardWrites: Int { writer.writes }
    /// Every statement on the catalog tables (`catalog`'s).
    var store: CatalogStore { catalog.store }
    /// Paths indexed on every shard: the declared ones, then those added by ensure_json_index.
    var indexedPaths: [JSONPath] { catalog.indexedPaths }

    /// Documents are stored as JSONB (SQLite 3.45+ at creation, or shard_storage) or as
    /// text; recorded in the config, read again when another connection changed it.
    var jsonb: Bool { columns.jsonb }

    static let jsonbVersion = Storage.jsonbVersionNumber

    /// Drops the table the catalog says holds a shard in this database (its rows, or
    /// its blocks), and nothing else: a user's table of a similar name stays.
    func dropTablesSQL(_ s: ShardInfo) -> String {
        ShardSchema.dropIfExists(schema: schema, table: s.storedTable)
    }

    func qualified(_ table: String) -> String {
        SQLText.identifier(schema) + "." + SQLText.identifier(table)
    }

    private init(db: Database, schema: String, name: String, options: CollectionOptions, jsonb: Bool) {
        self.db = db
        self.schema = schema
        self.name = name
        self.options = options
        insertScan = InsertScan(placement: options.placementPaths, schema: schema)
        self.catalog = CollectionCatalog(store: CatalogStore(db: db, schema: schema, name: name), name: name,
                                         options: options)
        self.statements = CollectionStatements(db: db)
        self.columns = ColumnLayout(indexes: options.indexes, jsonb: jsonb)
        // `let`s, not lazy: the scan reads `writer.writes` at every row.
        writer.serve(self)
        upkeep.serve(self)
    }

    /// xCreate: a new collection with its shadow tables, in the caller's transaction.
    static func create(db: Database, schema: String, name: String, options: CollectionOptions) throws -> ShardedCollection {
        try CollectionName.validate(name)
        let jsonb = try options.storage.storesJSONB(versionNumber: sqliteVersionNumber, version: sqliteVersion)
        let c = ShardedCollection(db: db, schema: schema, name: name, options: options, jsonb: jsonb)
        try c.store.createTables(storage: jsonb ? "jsonb" : "text", createdWith: sqliteVersion, version: shardsVersion,
                                 timeUnit: options.timeUnitGiven ? options.timeUnit.rawValue : nil)
        c.transaction.reloaded()
        return c
    }

    /// xConnect: an existing collection; refuses JSONB storage on an SQLite that cannot
    /// read it. (`connection` keeps what the last connect read, see `readForConnect`.)
    static func connect(db: Database, schema: String, name: String, options: CollectionOptions,
                        connection: Connection) throws -> ShardedCollection {
        let config: [String: String]
        do {
            config = try connection.readForConnect(schema: schema, name: name, "config") { try $0.config() }
        } catch let e as SQLiteError where e.code == SQLITE_ERROR {
            throw ShardError("collection '\(name)' has lost its catalog table \(name)_config: \(e)")
        }
        let storage = config["storage"] ?? "text", createdWith = config["created_with"] ?? "?"
        if storage == "jsonb" && sqliteVersionNumber < jsonbVersion {
            throw ShardError("collection '\(name)' stores JSONB documents (created with SQLite \(createdWith)); this SQLite is \(sqliteVersion), and JSONB needs 3.45.0 or newer")
        }
        // The unit recorded at CREATE; a collection made before it was recorded has
        // its CREATE's options alone.
        var options = options
        if let recorded = config["time_unit"] {
            guard let unit = TimeUnit(rawValue: recorded) else {
                throw ShardError("catalog of '\(name)' holds a bad time_unit '\(recorded)'")
            }
            options.timeUnit = unit
            options.timeUnitGiven = true
        }
        let c = ShardedCollection(db: db, schema: schema, name: name, options: options, jsonb: storage == "jsonb")
        c.archives.ownerId = config["owner_id"]
        return c
    }

    /// xConnect (of a new instance or one sharing this collection): the columns to
    /// declare are the declared ones and those ensure_json_index added, as the config
    /// lists them now. SQLite connects again after any schema change, which is how
    /// every connection sees an added column from its next statement.
    func declareColumns(connection: Connection) throws {
        let added = try connection.readForConnect(schema: schema, name: name, "columns") {
            try $0.addedColumns()
        }.map { text in
            do { return try IndexSpec(parsing: text) } catch let e as ShardError {
                throw e.within("catalog of '\(name)' holds a bad column")
            }
        }
        let layout = ColumnLayout(indexes: options.indexes, added: added, jsonb: jsonb)
        if layout != columns { setLayout(layout) }
    }

    /// New columns or storage: statements and shapes built for the old ones go.
    func setLayout(_ layout: ColumnLayout) {
        columns = layout
        statements.layoutChanged()
    }

    /// How ?3 (the document) is stored: JSONB, or text even when handed a BLOB of JSON text.
    var storedDocument: String { jsonb ? "jsonb(?3)" : "CAST(?3 AS TEXT)" }

    // MARK: - catalog

    /// Before a read of the collection (a scan, shard_key, shard_list, a lifecycle
    /// function): this connection's buffered documents are written, so it reads its
    /// own writes, and memory catches up with the database.
    func readyToRead() throws {
        if !writer.buffer.isEmpty { try writer.flush() }
        try catchUp()
    }

    /// Before a scan: like `readyToRead`, and returns a statement stepped onto its
    /// row, which holds the connection's read transaction until the scan gives it back
    /// (`statements.checkin`). Outside a transaction, the shard statements the scan
    /// steps one after another then share that one snapshot instead of each beginning
    /// and ending its own (two file locks apiece, a fifth of a lookup's time), and the
    /// scan reads the catalog and the shards as of one moment.
    func readyToScan() throws -> Statement {
        if !writer.buffer.isEmpty { try writer.flush() }
        let pin = try statements.checkout(dataVersionSQL)
        do {
            try catchUp(to: pin.step() ? pin.int64(0) : 0)
        } catch {
            statements.checkin(pin)
            throw error
        }
        return pin
    }

    /// The shard whose table holds the ids of shard number `n`: itself, or the table it
    /// was merged into. Shards merged before this connection read the catalog are not
    /// in memory (see `CatalogStore.shards`): the catalog table says where they went.
    func holder(ofShard n: Int64) throws -> ShardInfo? { try catalog.holder(ofShard: n) }

    /// Before a write: the first write of a transaction (or the first after a partial
    /// rollback) catches up with the database; later writes of it trust memory.
    @inline(__always) func readyToWrite() throws {
        if transaction.needsWriteCheck {
            try catchUp()
            transaction.checkedForWrite()
        }
    }

    /// Brings the catalog in memory up to date with the database when another
    /// connection committed or a rollback undid our own changes.
    ///
    /// `data_version` and the catalog are read in one read transaction (the version's
    /// statement, stepped onto its row, holds it until the reset): read in several,
    /// another writer's commit could fall between the shards and the next number,
    /// which would then disagree ("next_number ... is inconsistent").
    private func catchUp() throws {
        let pin = try statements.dataVersion(sql: dataVersionSQL)
        defer { pin.reset() }
        try catchUp(to: pin.step() ? pin.int64(0) : 0)
    }

    /// The same, with the database's `data_version` already read.
    private func catchUp(to dv: Int64) throws {
        if dv != catalog.dataVersion || transaction.catalogStale {
            try reload()
            catalog.dataVersion = dv
        }
    }

    private var dataVersionSQL: String { "PRAGMA \(SQLText.identifier(schema)).data_version" }

    private func reload() throws {
        let dirty: [ShardInfo]
        do {
            dirty = try catalog.reload(declared: options.indexes.map(\.path))
        } catch let e as SQLiteError {
            // The table dropped by hand is said so; any other failure is SQLite's.
            guard try !db.tableExists(name + "_shards", schema: schema) else { throw e }
            throw ShardError("collection '\(name)' has lost its catalog table \(name)_shards")
        }
        statements.fit(shards: catalog.shards.count)
        // Another connection may have left merges or summaries to do.
        upkeep.reloaded()
        // shard_storage on another connection rewrote every document.
        let stored = try store.storage() == "jsonb"
        if stored != jsonb {
            if stored && sqliteVersionNumber < ShardedCollection.jsonbVersion {
                throw ShardError("collection '\(name)' stores JSONB documents now (shard_storage); this SQLite is \(sqliteVersion), and JSONB needs 3.45.0 or newer")
            }
            setLayout(ColumnLayout(indexes: options.indexes, added: Array(columns.indexes[columns.declaredCount...]),
                                   jsonb: stored))
        }
        // Counters of our own unsynced writes survive a partial rollback only as
        // far as the rows do: count them again from the shard itself.
        for s in dirty { try recount(s) }
        catalog.recounted()
        statements.forgetInserts()
        transaction.reloaded()
    }

    /// Counts a shard's rows again from its table (its blocks, when compressed). An
    /// archived or retired shard takes no writes: its catalog row stands.
    func recount(_ s: ShardInfo) throws {
        guard !s.isRetired, s.file == nil else { return }
        let stmt = try db.prepare(s.isCompressed
            ? ShardSchema.blockTotals(schema: schema, blocks: s.storedTable)
            : "SELECT count(*), min(id), max(id), min(ts), max(ts) FROM \(qualified(s.tableName))")
        guard try stmt.step() else { return }
        s.rows = stmt.int64(0)
        s.minId = stmt.optionalInt(1)
        s.maxId = stmt.optionalInt(2)
        s.minTs = stmt.optionalInt(3)
        s.maxTs = stmt.optionalInt(4)
        if let maxId = s.maxId { s.lastLocal = max(s.lastLocal, maxId & DocumentId.maxLocal) }
        s.noteRecounted()
    }

    /// The rollups over this collection (main database only), which merges, upkeep and
    /// retirement keep up to date.
    func rollups() throws -> [RollupTable] {
        guard schema == "main", let connection else { return [] }
        return try connection.rollups(over: name)
    }

    /// xBegin: the first write of a transaction checks for other writers once.
    func began() {
        transaction.began(autocommit: db.isAutocommit)
    }

    /// xSync: at COMMIT of an explicit transaction the buffer is written; then the
    /// in-memory counters of changed shards, all inside the transaction. (An
    /// autocommit statement's commit leaves the buffer alone: that is its point.)
    func sync() throws {
        if transaction.isExplicit { try writer.flush() }
        // After a partial rollback, count again before writing counters back.
        if transaction.catalogStale { try catchUp() }
        let dirty = catalog.dirtyShards
        guard !dirty.isEmpty else { return }
        for s in dirty { try store.writeCounters(s) }
    }

    /// xCommit: memory and database agree again.
    func committed() {
        catalog.settled()
        writer.buffer.committed()
        transaction.committed()
    }

    /// xRollback: everything of this transaction is gone, including new shards.
    func rolledBack() {
        catalog.settled()
        writer.buffer.rolledBack()
        transaction.rolledBack()
        archives.ownerId = nil
    }

    /// xSavepoint / xRollbackTo.
    func savepoint(_ n: Int32) { writer.buffer.savepoint(n) }

    func rolledBack(toSavepoint n: Int32) {
        writer.buffer.rolledBack(toSavepoint: n)
        transaction.rolledBackToSavepoint()
        archives.ownerId = nil
    }

    // MARK: - teardown

    /// xDestroy: drops every shard and shadow table.
    /// Only tables the catalog lists go, each named as its shard's key says (a row
    /// whose `tbl` disagrees is skipped); a catalog that is missing or fails its
    /// checks still lets the collection be dropped.
    func dropAll() throws {
        writer.buffer.discardAll()
        statements.finalizeAll()
        var sql = ""
        // Archive files are left as they are: they are the user's files.
        archives.closeAll()
        for (key, table, state) in try store.listedTables(collection: name) {
            guard let table, ShardTableName.isTable(table, of: key) else { continue }
            let shard = ShardInfo(key: key, number: 0, period: Period(start: nil, end: nil, label: key.period),
                                  state: state ?? .hot, tableName: table)
            sql += dropTablesSQL(shard)
        }
        try db.exec(sql)
        try store.dropTables()
    }

    /// Writes what is buffered, then finalizes every statement before the connection
    /// lets go of the table.
    func close() {
        writer.flushOnClose()
        archives.closeAll()
        store.finalizeAll()
        statements.finalizeAll()
    }
}

// MARK: - tracing (shards_explain)

extension ShardedCollection {
    /// While a trace is on, each scan records how many shards it visits and the SQL
    /// it runs in each.
    func traceScan(visiting count: Int, skippedBySummary skipped: Int) {
        guard let connection, connection.explaining === self else { return }
        connection.trace.append("scan: \(count) of \(catalog.shards.count) shards"
            + (skipped > 0 ? ", \(skipped) skipped by summary" : ""))
    }

    /// `block`: for one block of a compressed shard, its rowid.
    func traceShard(_ shard: ShardInfo, sql: String, block: Int64? = nil) {
        guard let connection, connection.explaining === self else { return }
        let source = shard.file.map { " (archive \($0))" } ?? block.map { " (block \($0))" } ?? ""
        connection.trace.append("  \(shard.keyText)\(source): \(sql)")
    }
}
