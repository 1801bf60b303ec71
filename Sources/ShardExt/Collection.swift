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
    private(set) var indexedPaths: [JSONPath]

    /// The shard the last routed document went to, valid while the catalog in memory
    /// is the one it came from (a newer shard of its line appears only once it is full).
    private var lastRoute: ShardInfo?
    private var lastRouteGeneration = 0
    private var catalogGeneration = 0

    /// Set when memory may be behind the database (rollback, another connection).
    private var catalogStale = true
    private var lastDataVersion: Int64 = -1
    /// Set by xBegin: the first write of a transaction checks for other writers once.
    var checkBeforeWrite = true
    weak var connection: Connection?
    /// Virtual-table instances sharing this collection (see Connection.attach).
    var instances = 0
    /// Read-only connections to archive files.
    let archives = Archives()
    /// Lines of shards_explain while it runs a query; nil otherwise.
    var trace: [String]?

    /// Documents inserted but not written yet (`buffer = N`).
    let buffer = WriteBuffer()
    /// Between xBegin and xCommit/xRollback: SQLite will tell us how the transaction ends.
    private var enlisted = false
    /// The transaction was opened by BEGIN (not a single autocommit statement).
    private var explicitTransaction = false
    private var flushing = false

    let statements = StatementCache()
    private var insertStatements: [Int64: Statement] = [:]
    private var probe: Statement?
    private var dataVersionStatement: Statement?

    static let jsonbVersion: Int32 = 3_045_000

    var shardsTable: String { name + "_shards" }
    var configTable: String { name + "_config" }
    var qualifiedShards: String { SQLText.identifier(schema) + "." + SQLText.identifier(shardsTable) }
    var qualifiedConfig: String { SQLText.identifier(schema) + "." + SQLText.identifier(configTable) }

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
        c.catalogStale = false
        return c
    }

    /// xConnect: an existing collection; refuses JSONB storage on an SQLite that cannot read it.
    static func connect(db: Database, schema: String, name: String, options: CollectionOptions) throws -> Collection {
        var storage = "text", createdWith = "?"
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
            default: break
            }
        }
        if storage == "jsonb" && sqliteVersionNumber < jsonbVersion {
            throw ShardError("shards: collection '\(name)' stores JSONB documents (created with SQLite \(createdWith)); this SQLite is \(sqliteVersion), and JSONB needs 3.45.0 or newer")
        }
        return Collection(db: db, schema: schema, name: name, options: options, jsonb: storage == "jsonb")
    }

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

    private func dataVersion() throws -> Int64 {
        if dataVersionStatement == nil {
            dataVersionStatement = try db.prepare("PRAGMA \(SQLText.identifier(schema)).data_version", persistent: true)
        }
        let stmt = dataVersionStatement!
        defer { stmt.reset() }
        guard try stmt.step() else { return 0 }
        return stmt.int64(0)
    }

    /// Marks memory as behind the database; the next use reloads.
    func invalidate() { catalogStale = true }

    /// Before the first write of a transaction (or after a partial rollback), make
    /// sure memory matches the database; later writes of it trust memory.
    @inline(__always) private func prepareWrite() throws {
        if checkBeforeWrite || catalogStale {
            try refresh()
            checkBeforeWrite = false
        }
    }

    private func reload() throws {
        let dirty = Set(catalog.dirtyShards.map(\.number))
        var shards: [ShardInfo] = []
        let stmt = try db.prepare("""
            SELECT category, period, seq, num, rows, last_local, min_id, max_id, min_ts, max_ts, state, file
            FROM \(qualifiedShards) ORDER BY num
            """)
        while try stmt.step() {
            let periodLabel = stmt.text(1) ?? ""
            guard let period = options.partition.period(label: periodLabel) else {
                throw ShardError("shards: catalog of '\(name)' holds a bad period '\(periodLabel)'")
            }
            let key = ShardKey(collection: name, category: stmt.text(0), period: periodLabel, seq: Int(stmt.int64(2)))
            shards.append(ShardInfo(
                key: key, number: stmt.int64(3), period: period, rows: stmt.int64(4), lastLocal: stmt.int64(5),
                minId: stmt.optionalInt(6), maxId: stmt.optionalInt(7), minTs: stmt.optionalInt(8), maxTs: stmt.optionalInt(9),
                state: stmt.text(10) ?? "hot", file: stmt.text(11)))
        }
        catalog = Catalog(shards)
        catalogGeneration += 1
        nextNumber = try db.scalarInt("SELECT value FROM \(qualifiedConfig) WHERE key = 'next_number'") ?? 1
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

    private func recount(_ s: ShardInfo) throws {
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
        let stmt = try db.prepare("""
            UPDATE \(qualifiedShards) SET rows = ?2, last_local = ?3, min_id = ?4, max_id = ?5, min_ts = ?6, max_ts = ?7
            WHERE num = ?1
            """)
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
        checkBeforeWrite = true
        enlisted = false
    }

    /// xSavepoint / xRollbackTo.
    func savepoint(_ n: Int32) { buffer.savepoint(n) }

    func rolledBack(toSavepoint n: Int32) {
        buffer.rolledBack(toSavepoint: n)
        catalogStale = true
    }

    private func bindable(_ v: Int64?) -> SQLBinding { v.map { .int($0) } ?? .null }

    // MARK: - routing a document

    /// Where a document goes: its time and its (encoded) category.
    struct Placement {
        let ts: Int64
        let category: String?
    }

    /// Reads the time and category of a document and checks that it is a JSON object.
    /// `explicitTs` is the INSERT's own `ts` value, allowed only without a `time` path.
    ///
    /// With `checkedByInsert` the caller's INSERT validates the JSON itself (the direct
    /// write path), so a text document is read by `DocumentScanner` without asking
    /// SQLite to parse it; whatever the scanner cannot answer exactly goes to SQLite.
    func place(doc: OpaquePointer?, explicitTs: OpaquePointer?, isUpdate: Bool = false,
               checkedByInsert: Bool = false) throws -> Placement {
        let docType = valueType(doc)
        guard docType == SQLITE_TEXT || docType == SQLITE_BLOB else {
            throw ShardError(docType == SQLITE_NULL
                ? "shards: doc is NULL; insert a JSON object"
                : "shards: doc must be a JSON object given as text, not a number")
        }
        if checkedByInsert && docType == SQLITE_TEXT, let p = try scannedPlacement(doc, explicitTs: explicitTs) {
            return p
        }
        let stmt = try probeStatement()
        stmt.bind(1, doc)
        defer { stmt.reset() }
        do {
            guard try stmt.step() else { throw ShardError("shards: could not read the document") }
        } catch let e as SQLiteError {
            throw ShardError("shards: malformed JSON document (\(e.message))")
        }
        let kind = stmt.text(0) ?? "null"
        guard kind == "object" else {
            let found = ["text": "a string", "array": "an array", "integer": "a number", "real": "a number",
                         "true": "a boolean", "false": "a boolean"][kind] ?? kind
            throw ShardError("shards: a document must be a JSON object, not \(found)")
        }
        let ts = try time(explicitTs: explicitTs, isUpdate: isUpdate) { path in
            try readTime(type: stmt.text(1), stmt: stmt, column: 2, path: path)
        }
        var category: String? = nil
        if options.categoryPath != nil {
            let col: Int32 = options.timePath == nil ? 1 : 3
            category = CategoryName.encode(stmt.type(col) == SQLITE_NULL ? nil : stmt.text(col))
        }
        return Placement(ts: ts, category: category)
    }

    /// The document's time: read from the time path, or the explicit `ts`, or now.
    private func time(explicitTs: OpaquePointer?, isUpdate: Bool, read: (JSONPath) throws -> Int64) throws -> Int64 {
        if let timePath = options.timePath {
            if let e = explicitTs, valueType(e) != SQLITE_NULL {
                throw ShardError("shards: '\(name)' reads ts from \(timePath.text); ts cannot be given or set")
            }
            return try read(timePath)
        }
        if let e = explicitTs, valueType(e) != SQLITE_NULL { return try timeArgument(e, what: "ts") }
        if explicitTs != nil && isUpdate { throw ShardError("shards: ts cannot be set to NULL") }
        return Clock.nowMilliseconds()
    }

    /// The paths the scanner reads: the time, then the category.
    private lazy var scanPaths: [JSONPath] = [options.timePath, options.categoryPath].compactMap { $0 }

    /// Placement from the scanner, or nil when SQLite must answer (not an object,
    /// a value the scanner cannot render exactly as json_extract would).
    private func scannedPlacement(_ doc: OpaquePointer?, explicitTs: OpaquePointer?) throws -> Placement? {
        guard let text = api.pointee.value_text(doc) else { return nil }
        let bytes = UnsafeRawBufferPointer(start: text, count: Int(api.pointee.value_bytes(doc)))
        guard DocumentScanner.startsWithObject(bytes) else { return nil }
        var values: [ScannedValue] = []
        if !scanPaths.isEmpty {
            guard let v = DocumentScanner.scan(bytes, paths: scanPaths) else { return nil }
            values = v
        }
        var unanswered = false
        let ts = try time(explicitTs: explicitTs, isUpdate: false) { path in
            switch values[0] {
            case .integer(let i): return try Time.milliseconds(fromInteger: i, unit: options.timeUnit)
            case .real(let d): return try Time.milliseconds(fromNumber: d, unit: options.timeUnit)
            case .text(let t): return try parseTime(t, path: path)
            default:
                unanswered = true   // SQLite words the error
                return 0
            }
        }
        if unanswered { return nil }
        var category: String? = nil
        if options.categoryPath != nil {
            switch values[values.count - 1] {
            case .missing, .null: category = CategoryName.encode(nil)
            case .text(let t): category = CategoryName.encode(t)
            case .integer(let i): category = CategoryName.encode(String(i))
            case .bool(let b): category = CategoryName.encode(b ? "1" : "0")
            default: return nil   // reals and containers: SQLite renders them
            }
        }
        return Placement(ts: ts, category: category)
    }

    private func parseTime(_ text: String, path: JSONPath) throws -> Int64 {
        do { return try Time.parse(text) } catch let e as ShardError {
            throw ShardError("shards: unreadable time at \(path.text): \(e.message.dropPrefix("shards: "))")
        }
    }

    private func readTime(type: String?, stmt: Statement, column: Int32, path: JSONPath) throws -> Int64 {
        switch type {
        case nil:
            throw ShardError("shards: document has no time at \(path.text)")
        case "integer":
            return try Time.milliseconds(fromInteger: stmt.int64(column), unit: options.timeUnit)
        case "real":
            return try Time.milliseconds(fromNumber: stmt.double(column), unit: options.timeUnit)
        case "text":
            return try parseTime(stmt.text(column) ?? "", path: path)
        default:
            throw ShardError("shards: time at \(path.text) must be a number or a time string, not \(type!)")
        }
    }

    /// A time given as an SQL value: epoch ms (integer or real) or a time string.
    func timeArgument(_ v: OpaquePointer?, what: String) throws -> Int64 {
        switch valueType(v) {
        case SQLITE_INTEGER: return try Time.milliseconds(fromInteger: valueInt64(v), unit: .ms)
        case SQLITE_FLOAT: return try Time.milliseconds(fromNumber: valueDouble(v), unit: .ms)
        case SQLITE_TEXT: return try Time.parse(valueText(v) ?? "")
        default: throw ShardError("shards: \(what) must be epoch milliseconds or a time string")
        }
    }

    /// One statement reads everything routing needs, so the document is handed to SQLite once.
    private func probeStatement() throws -> Statement {
        if let probe { return probe }
        var cols = ["json_type(?1)"]
        if let t = options.timePath {
            cols.append("json_type(?1, \(SQLText.literal(t.text)))")
            cols.append("json_extract(?1, \(SQLText.literal(t.text)))")
        }
        if let c = options.categoryPath {
            cols.append("json_extract(?1, \(SQLText.literal(c.text)))")
        }
        let stmt = try db.prepare("SELECT " + cols.joined(separator: ", "), persistent: true)
        probe = stmt
        return stmt
    }

    /// The key a placement routes to now, and the shard if it exists and has room.
    func route(_ p: Placement) -> (key: ShardKey, shard: ShardInfo?) {
        // Most inserts go where the previous one went: no key to build, no lookup.
        if let s = lastRoute, lastRouteGeneration == catalogGeneration, hasRoom(s),
           s.period.contains(p.ts), s.key.category == p.category {
            return (s.key, s)
        }
        let period = options.partition.period(containing: p.ts)
        let first = ShardKey(collection: name, category: p.category, period: period.label, seq: 1)
        guard let newest = catalog.newest(line: first.line) else { return (first, nil) }
        if !hasRoom(newest) {
            return (newest.key.next, nil)
        }
        lastRoute = newest
        lastRouteGeneration = catalogGeneration
        return (newest.key, newest)
    }

    /// A shard splits once it has handed out max_rows ids (reserved ones included;
    /// deletes do not make room), so concurrent writers agree on where rows go.
    @inline(__always) private func hasRoom(_ s: ShardInfo) -> Bool {
        s.lastLocal < options.maxRows && s.lastLocal < DocumentId.maxLocal && s.state == "hot"
    }

    // MARK: - writes

    /// Inserts a document and returns its id.
    func insert(doc: OpaquePointer?, explicitTs: OpaquePointer?) throws -> Int64 {
        try prepareWrite()
        // Buffered documents are written later: SQLite checks them now, in place().
        let buffered = options.buffer > 0
        let p = try place(doc: doc, explicitTs: explicitTs, checkedByInsert: !buffered)
        if buffered { return try bufferInsert(doc: doc, p) }
        let (key, found) = route(p)
        let shard = try found ?? createShard(key, containing: p.ts)
        let id = DocumentId.make(shard: shard.number, local: shard.lastLocal + 1)
        let stmt = try insertStatement(for: shard)
        stmt.bind(1, id)
        stmt.bind(2, p.ts)
        stmt.bind(3, doc)
        defer { stmt.reset() }
        do {
            _ = try stmt.step()
        } catch let e as SQLiteError where e.message.contains("malformed JSON") || e.message.contains("NOT NULL") {
            throw ShardError("shards: malformed JSON document")
        }
        shard.noteInsert(id: id, ts: p.ts)
        return id
    }

    // MARK: - buffered writes

    /// Keeps the document in memory with an id reserved for it; writes the buffer
    /// when it is full or its oldest document has waited flush_ms.
    private func bufferInsert(doc: OpaquePointer?, _ p: Placement) throws -> Int64 {
        let now = Clock.nowMilliseconds()
        let id = try reservedId(p)
        buffer.append(shard: DocumentId.shardNumber(of: id), id: id, ts: p.ts, doc: doc, now: now)
        if Int64(buffer.count) >= options.buffer || now - buffer.oldest >= options.flushMs {
            try flush()
        }
        return id
    }

    /// An id in the shard the placement routes to, from this connection's reservation;
    /// a new block of up to `buffer` ids is reserved in the catalog when it runs out.
    private func reservedId(_ p: Placement) throws -> Int64 {
        let (key, found) = route(p)
        if let newest = catalog.newest(line: key.line), let id = buffer.takeReservedId(shard: newest.number) {
            return id
        }
        let shard = try found ?? createShard(key, containing: p.ts)
        let first = shard.lastLocal + 1
        let last = min(shard.lastLocal + options.buffer, options.maxRows, DocumentId.maxLocal)
        shard.lastLocal = last
        shard.dirty = true
        try db.exec("UPDATE \(qualifiedShards) SET last_local = \(last) WHERE num = \(shard.number)")
        buffer.reserve(shard: shard.number, first: first + 1, last: last)
        return DocumentId.make(shard: shard.number, local: first)
    }

    /// Writes every buffered document into its shard and returns how many. Inside a
    /// write of the collection this joins that transaction; anywhere else (a read,
    /// shard_flush) it runs in a savepoint the collection is enlisted in, so SQLite
    /// reports the commit (counters are written at xSync) or the rollback (acknowledged
    /// documents go back to the buffer).
    @discardableResult
    func flush() throws -> Int {
        guard !buffer.isEmpty, !flushing else { return 0 }
        flushing = true
        defer { flushing = false }
        if enlisted {
            if catalogStale { try refresh() }
            return try buffer.drain(writeBuffered)
        }
        try db.exec("SAVEPOINT shards_flush")
        do {
            try enlist()
            if catalogStale { try refresh() }
            let n = try buffer.drain(writeBuffered)
            try db.exec("RELEASE shards_flush")
            return n
        } catch {
            try? db.exec("ROLLBACK TO shards_flush; RELEASE shards_flush")
            throw error
        }
    }

    private func writeBuffered(_ e: WriteBuffer.Entry) throws {
        guard let shard = catalog.shard(number: e.shard) else {
            throw ShardError("shards: buffered document \(e.id) has lost its shard (dropped by another connection?)")
        }
        let stmt = try insertStatement(for: shard)
        stmt.bind(1, e.id)
        stmt.bind(2, e.ts)
        stmt.bind(3, e.doc)
        defer { stmt.reset() }
        _ = try stmt.step()
        shard.noteInsert(id: e.id, ts: e.ts)
    }

    /// Before a read: a connection reads its own writes.
    func flushBeforeRead() throws {
        if !buffer.isEmpty { try flush() }
    }

    /// Joins the current transaction as a writer (xBegin ... xCommit/xRollback) with a
    /// write statement on the collection that touches no row (id 0 is never used).
    private func enlist() throws {
        let stmt = try db.prepare("DELETE FROM \(qualified(name)) WHERE id = 0")
        try stmt.run()
    }

    /// At disconnect: the last chance to write the buffer. SQLite is tearing the
    /// connection down (running SQL on it could reload a schema it is iterating), so
    /// the acknowledged documents are written through a connection of their own to
    /// the same file, with the catalog counters, in one transaction. An in-memory
    /// database goes away with its connection: nothing to write then.
    private func flushOnClose() {
        defer { buffer.discardAll() }
        let entries = buffer.acknowledged
        guard !entries.isEmpty, let name = api.pointee.db_filename(db.handle, schema),
              case let path = String(cString: name), !path.isEmpty,
              let other = try? Archives.open(path, flags: SQLITE_OPEN_READWRITE, error: { $0 }) else { return }
        defer { _ = api.pointee.close_v2(other.handle) }
        do {
            try other.exec("BEGIN IMMEDIATE")
            var touched: [Int64: (table: String, rows: Int64, minId: Int64, maxId: Int64, minTs: Int64, maxTs: Int64)] = [:]
            var inserts: [Int64: Statement] = [:]
            for e in entries {
                guard let shard = catalog.shard(number: e.shard) else { continue }
                // On its own connection, the collection's file is "main".
                let stmt = try inserts[e.shard] ?? other.prepare(
                    "INSERT INTO \"main\".\(SQLText.identifier(shard.tableName))(id, ts, doc) VALUES (?1, ?2, \(storedDocument))")
                inserts[e.shard] = stmt
                stmt.bind(1, e.id)
                stmt.bind(2, e.ts)
                stmt.bind(3, e.doc)
                _ = try stmt.step()
                stmt.reset()
                let t = touched[e.shard] ?? (shard.tableName, 0, e.id, e.id, e.ts, e.ts)
                touched[e.shard] = (t.table, t.rows + 1, min(t.minId, e.id), max(t.maxId, e.id), min(t.minTs, e.ts), max(t.maxTs, e.ts))
            }
            let update = try other.prepare("""
                UPDATE "main".\(SQLText.identifier(shardsTable)) SET rows = rows + ?2,
                  min_id = min(coalesce(min_id, ?3), ?3), max_id = max(coalesce(max_id, ?4), ?4),
                  min_ts = min(coalesce(min_ts, ?5), ?5), max_ts = max(coalesce(max_ts, ?6), ?6)
                WHERE num = ?1
                """)
            for (num, t) in touched {
                try update.bind([.int(num), .int(t.rows), .int(t.minId), .int(t.maxId), .int(t.minTs), .int(t.maxTs)])
                try update.run()
            }
            inserts.removeAll()
            try other.exec("COMMIT")
        } catch {
            try? other.exec("ROLLBACK")
        }
    }

    private func insertStatement(for shard: ShardInfo) throws -> Statement {
        if let s = insertStatements[shard.number] { return s }
        // jsonb() rejects malformed JSON itself; text storage keeps the text as given,
        // and a NULL from the json_valid test trips the NOT NULL of doc. (A single-row
        // VALUES, not INSERT ... SELECT: that would open a statement journal per row.)
        let doc = jsonb ? "jsonb(?3)" : "CASE WHEN json_valid(?3) THEN CAST(?3 AS TEXT) END"
        let s = try db.prepare("INSERT INTO \(qualified(shard.tableName))(id, ts, doc) VALUES (?1, ?2, \(doc))", persistent: true)
        insertStatements[shard.number] = s
        return s
    }

    /// How ?3 (the document) is stored: JSONB, or text even when handed a BLOB of JSON text.
    private var storedDocument: String { jsonb ? "jsonb(?3)" : "CAST(?3 AS TEXT)" }

    /// Creates a shard table with its indexes and its catalog row, in the caller's transaction.
    private func createShard(_ key: ShardKey, containing ts: Int64) throws -> ShardInfo {
        let period = options.partition.period(containing: ts)
        let number = nextNumber
        let shard = ShardInfo(key: key, number: number, period: period)
        do {
            try db.exec(shardTableSQL(shard, schema: schema))
        } catch let e as SQLiteError {
            throw SQLiteError(code: e.code, message: "shards: cannot create shard \(key.text) as table \(shard.tableName): \(e.message)")
        }
        let row = try db.prepare("""
            INSERT INTO \(qualifiedShards)(key, tbl, num, category, period, seq, period_start, period_end)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """)
        try row.bind([.text(key.text), .text(shard.tableName), .int(number), key.category.map { .text($0) } ?? .null,
                      .text(key.period), .int(Int64(key.seq)), bindable(period.start), bindable(period.end)])
        try row.run()
        try db.exec("UPDATE \(qualifiedConfig) SET value = \(number + 1) WHERE key = 'next_number'")
        nextNumber = number + 1
        catalog.add(shard)
        if key.seq == 1 { try applyRetention(newPeriod: period) }
        return shard
    }

    /// A shard's table and every index, in `schema` (the collection's, or an archive's "main").
    func shardTableSQL(_ shard: ShardInfo, schema: String) -> String {
        let s = SQLText.identifier(schema) + "."
        let table = SQLText.identifier(shard.tableName)
        var sql = "CREATE TABLE \(s)\(table)(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc \(jsonb ? "BLOB" : "TEXT") NOT NULL);"
        sql += "CREATE INDEX \(s)\(SQLText.identifier(shard.tableName + "_ts")) ON \(table)(ts);"
        for path in indexedPaths {
            sql += createIndexSQL(shard: shard, path: path, schema: schema) + ";"
        }
        return sql
    }

    /// The index of `path` on a shard: `<table>_<column>` for declared indexes, `<table>_p<hash>` otherwise.
    func indexName(shard: ShardInfo, path: JSONPath) -> String {
        if let spec = options.indexes.first(where: { $0.path == path }) {
            return shard.tableName + "_" + spec.name
        }
        return shard.tableName + "_p" + fnv1a64Hex(path.text)
    }

    func createIndexSQL(shard: ShardInfo, path: JSONPath, schema: String? = nil) -> String {
        let name = SQLText.identifier(schema ?? self.schema) + "." + SQLText.identifier(indexName(shard: shard, path: path))
        return "CREATE INDEX IF NOT EXISTS \(name) ON \(SQLText.identifier(shard.tableName))(json_extract(doc, \(SQLText.literal(path.text))))"
    }

    private func checkWritable(_ shard: ShardInfo, id: Int64) throws {
        if let file = shard.file {
            throw ShardError("shards: document \(id) is in shard \(shard.keyText), archived in '\(file)'; archived shards are read-only")
        }
    }

    /// Deletes the row with this id, if there is one.
    func delete(id: Int64) throws {
        try prepareWrite()
        guard let shard = catalog.shard(number: DocumentId.shardNumber(of: id)) else { return }
        try checkWritable(shard, id: id)
        let stmt = try statements.checkout(db, "DELETE FROM \(qualified(shard.tableName)) WHERE id = ?1")
        defer { statements.checkin(stmt) }
        stmt.bind(1, id)
        try stmt.run()
        if db.changes > 0 { shard.noteDelete() }
    }

    /// Replaces a document (and/or its explicit ts). It must stay in its shard's period and category.
    func update(id: Int64, doc: OpaquePointer?, docChanged: Bool, explicitTs: OpaquePointer?, tsChanged: Bool) throws {
        try prepareWrite()
        guard let shard = catalog.shard(number: DocumentId.shardNumber(of: id)) else { return }
        try checkWritable(shard, id: id)
        let tbl = qualified(shard.tableName)
        // The stored row, for what the update leaves as it was.
        let stored = try db.prepare("SELECT \(columnExpression(3, reading: true)), ts FROM \(tbl) WHERE id = ?1")
        stored.bind(1, id)
        guard try stored.step() else { return }
        let newDoc = docChanged ? doc : stored.value(0)
        let p = try place(doc: newDoc, explicitTs: tsChanged ? explicitTs : nil, isUpdate: true)
        // Without a time path, the stored time stays unless ts itself is set.
        let ts = options.timePath == nil && !tsChanged ? stored.int64(1) : p.ts
        let period = options.partition.period(containing: ts)
        if period.label != shard.key.period || p.category != shard.key.category {
            throw ShardError("shards: this update moves document \(id) out of shard \(shard.keyText) (to another period or category); delete it and insert it again")
        }
        let stmt = try statements.checkout(db, "UPDATE \(tbl) SET ts = ?2, doc = \(storedDocument) WHERE id = ?1")
        defer { statements.checkin(stmt) }
        stmt.bind(1, id)
        stmt.bind(2, ts)
        stmt.bind(3, newDoc)
        try stmt.run()
        withExtendedLifetime(stored) {}   // newDoc may point into its row until here
        if db.changes > 0 { shard.noteTime(ts) }
    }

    // MARK: - lifecycle

    /// shard_drop: drops every shard whose whole period ends at or before `before`
    /// (ms), in one transaction; returns the rows dropped. Partition none never ends.
    func dropShards(endingBy before: Int64) throws -> Int64 {
        try flushBeforeRead()
        try refresh()
        let victims = catalog.shards.filter { s in !s.isRetired && (s.period.end.map { $0 <= before } ?? false) }
        let rows = victims.isEmpty ? 0 : try inSavepoint("shards_drop") { try retire(victims) }
        purgeRetired()
        return rows
    }

    /// `retain`: when the first shard of a new newest period appears, whole periods
    /// that ended more than `retain` before its start go.
    private func applyRetention(newPeriod: Period) throws {
        guard let retain = options.retain, let start = newPeriod.start,
              !catalog.shards.contains(where: { ($0.period.start ?? .min) > start }) else { return }
        // "ended more than <retain> before": strictly earlier than the cutoff.
        let cutoff = retain.cutoff(newestPeriodStart: start)
        let victims = catalog.shards.filter { s in !s.isRetired && (s.period.end.map { $0 < cutoff } ?? false) }
        if !victims.isEmpty { _ = try retire(victims) }
    }

    /// Takes shards out of the collection in the current transaction: their catalog
    /// rows say `retired`, so no reader sees them from here on. Returns their rows.
    private func retire(_ victims: [ShardInfo]) throws -> Int64 {
        let nums = victims.map { String($0.number) }.joined(separator: ",")
        try db.exec("UPDATE \(qualifiedShards) SET state = '\(ShardInfo.retired)' WHERE num IN (\(nums))")
        for s in victims {
            s.state = ShardInfo.retired
            s.dirty = false
        }
        catalogGeneration += 1
        return victims.reduce(0) { $0 + $1.rows }
    }

    /// Drops the tables of retired shards, when SQLite allows (no other statement
    /// running on the connection); otherwise they wait for the next chance.
    func purgeRetired() {
        dropArchivedTablesInMain()
        let retired = catalog.shards.filter(\.isRetired)
        guard !retired.isEmpty, !flushing else { return }
        // Cached statements may name the tables; they are prepared again on use.
        statements.removeAll()
        for s in retired { insertStatements[s.number] = nil }
        var sql = ""
        for s in retired { sql += "DROP TABLE IF EXISTS \(qualified(s.tableName));" }
        sql += "DELETE FROM \(qualifiedShards) WHERE num IN (\(retired.map { String($0.number) }.joined(separator: ",")));"
        if (try? inSavepoint("shards_purge", { try db.exec(sql) })) != nil {
            catalog.remove(numbers: Set(retired.map(\.number)))
            catalogGeneration += 1
        }
    }

    /// shard_archive: moves the shards whose whole period ends at or before `before`
    /// into another database file and records the file in the catalog; returns the
    /// rows moved. The archive is written and committed first (a copy left by a crash
    /// is replaced next time), then the catalog, in one transaction of its own.
    func archiveShards(endingBy before: Int64, file: String) throws -> Int64 {
        guard !file.isEmpty, !file.contains("\0") else { throw ShardError("shards: shard_archive needs a file name") }
        try flushBeforeRead()
        try refresh()
        let victims = catalog.shards.filter { s in s.isLive && (s.period.end.map { $0 <= before } ?? false) }
        guard !victims.isEmpty else { return 0 }
        let path = archivePath(file)
        archives.close(path)
        let archive = try Archives.open(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) { message in
            "shards: cannot open archive file '\(path)' for writing: \(message)"
        }
        defer { _ = api.pointee.close_v2(archive.handle) }
        do {
            try archive.exec("BEGIN IMMEDIATE")
            for s in victims {
                try archive.exec("DROP TABLE IF EXISTS \"main\".\(SQLText.identifier(s.tableName));" + shardTableSQL(s, schema: "main"))
                let read = try db.prepare("SELECT id, ts, doc FROM \(qualified(s.tableName))")
                let write = try archive.prepare("INSERT INTO \"main\".\(SQLText.identifier(s.tableName))(id, ts, doc) VALUES (?1, ?2, ?3)")
                while try read.step() {
                    for c: Int32 in 0...2 { write.bind(c + 1, read.value(c)) }
                    _ = try write.step()
                    write.reset()
                }
            }
            try archive.exec("COMMIT")
        } catch {
            try? archive.exec("ROLLBACK")
            throw error
        }
        let rows = try inSavepoint("shards_archive") { () -> Int64 in
            let update = try db.prepare("UPDATE \(qualifiedShards) SET state = 'archived', file = ?1 WHERE num = ?2")
            for s in victims {
                try update.bind([.text(file), .int(s.number)])
                try update.run()
            }
            return victims.reduce(0) { $0 + $1.rows }
        }
        for s in victims {
            s.state = ShardInfo.archived
            s.file = file
        }
        catalogGeneration += 1
        purgeRetired()
        return rows
    }

    /// An archive file's path: as given when absolute, else next to the main database
    /// (or the current directory for an in-memory one).
    func archivePath(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        let main = api.pointee.db_filename(db.handle, schema).map { String(cString: $0) } ?? ""
        guard let slash = main.lastIndex(of: "/") else { return file }
        return String(main[...slash]) + file
    }

    /// Archived shards whose table is still in the main database (the drop had to wait).
    private func dropArchivedTablesInMain() {
        let archived = catalog.shards.filter { $0.file != nil }
        guard !archived.isEmpty, !flushing,
              let exists = try? db.prepare("SELECT 1 FROM \(SQLText.identifier(schema)).sqlite_schema WHERE type = 'table' AND name = ?1")
        else { return }
        var sql = ""
        for s in archived {
            guard (try? exists.bind([.text(s.tableName)])) != nil, (try? exists.step()) == true else { exists.reset(); continue }
            exists.reset()
            sql += "DROP TABLE \(qualified(s.tableName));"
        }
        guard !sql.isEmpty else { return }
        statements.removeAll()
        for s in archived { insertStatements[s.number] = nil }
        _ = try? inSavepoint("shards_purge") { try db.exec(sql) }
    }

    /// Runs `body` in a savepoint: all of it or, on error, none of it.
    private func inSavepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try db.exec("SAVEPOINT \(name)")
        do {
            let result = try body()
            try db.exec("RELEASE \(name)")
            return result
        } catch {
            try? db.exec("ROLLBACK TO \(name); RELEASE \(name)")
            catalogStale = true
            throw error
        }
    }

    // MARK: - indexes

    /// ensure_json_index: creates the index on every shard lacking it and records the
    /// path for future shards. Returns how many shards gained it.
    func ensureIndex(_ path: JSONPath) throws -> Int64 {
        if path.steps.isEmpty {
            throw ShardError("shards: ensure_json_index needs a path below the root, like $.type")
        }
        try flushBeforeRead()
        try refresh()
        var gained: Int64 = 0
        let exists = try db.prepare("SELECT 1 FROM \(SQLText.identifier(schema)).sqlite_schema WHERE type = 'index' AND name = ?1")
        for shard in catalog.shards where shard.isLive {
            try exists.bind([.text(indexName(shard: shard, path: path))])
            let has = try exists.step()
            exists.reset()
            if !has {
                try db.exec(createIndexSQL(shard: shard, path: path))
                gained += 1
            }
        }
        if !indexedPaths.contains(path) {
            let rec = try db.prepare("INSERT OR IGNORE INTO \(qualifiedConfig)(key, value) VALUES (?1, NULL)")
            try rec.bind([.text("path:" + path.text)])
            try rec.run()
            indexedPaths.append(path)
        }
        return gained
    }

    // MARK: - teardown

    /// xDestroy: drops every shard and shadow table.
    func dropAll() throws {
        buffer.discardAll()
        try refresh()
        statements.removeAll()
        insertStatements.removeAll()
        probe = nil
        dataVersionStatement = nil
        var sql = ""
        // Archive files are left as they are: they are the user's files.
        archives.closeAll()
        for s in catalog.shards {
            sql += "DROP TABLE IF EXISTS \(qualified(s.tableName));"
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
