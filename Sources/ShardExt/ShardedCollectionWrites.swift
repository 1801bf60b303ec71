import CShardShim
import ShardCore

// Writes: where a document goes, and putting it there, directly or through the buffer.
extension ShardedCollection {
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
    func time(explicitTs: OpaquePointer?, isUpdate: Bool, read: (JSONPath) throws -> Int64) throws -> Int64 {
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


    /// Placement from the scanner, or nil when SQLite must answer (not an object,
    /// a value the scanner cannot render exactly as json_extract would).
    func scannedPlacement(_ doc: OpaquePointer?, explicitTs: OpaquePointer?) throws -> Placement? {
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

    func parseTime(_ text: String, path: JSONPath) throws -> Int64 {
        do { return try Time.parse(text) } catch let e as ShardError {
            throw ShardError("shards: unreadable time at \(path.text): \(e.message.dropPrefix("shards: "))")
        }
    }

    func readTime(type: String?, stmt: Statement, column: Int32, path: JSONPath) throws -> Int64 {
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
    func probeStatement() throws -> Statement {
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
    @inline(__always) func hasRoom(_ s: ShardInfo) -> Bool {
        s.lastLocal < options.maxRows && s.lastLocal < DocumentId.maxLocal && s.state == .hot && !s.key.isMerged
    }

    // MARK: - writes

    /// Inserts a document and returns its id.
    func insert(doc: OpaquePointer?, explicitTs: OpaquePointer?) throws -> Int64 {
        // Buffered documents are written later: SQLite checks them now, in place(), and
        // the catalog is looked at only when a new block of ids is reserved.
        let buffered = options.buffer > 0
        if !buffered || transaction.catalogStale { try readyToWrite() }
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
        if shard.summary != nil { try forgetSummary(shard) }
        if upkeep.pending { try upkeepAfterWrite() }
        return id
    }

    // MARK: - buffered writes

    /// Keeps the document in memory with an id reserved for it; writes the buffer
    /// when it is full or its oldest document has waited flush_ms.
    func bufferInsert(doc: OpaquePointer?, _ p: Placement) throws -> Int64 {
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
    func reservedId(_ p: Placement) throws -> Int64 {
        var (key, found) = route(p)
        // Ids reserved earlier stay this connection's, whatever others did since.
        if let holder = found ?? catalog.newest(line: key.line), let id = buffer.takeReservedId(shard: holder.number) {
            return id
        }
        // A new block: the catalog must be current (another writer may have moved on).
        try readyToWrite()
        (key, found) = route(p)
        let shard = try found ?? createShard(key, containing: p.ts)
        let first = shard.lastLocal + 1
        let last = min(shard.lastLocal + options.buffer, options.maxRows, DocumentId.maxLocal)
        shard.lastLocal = last
        shard.dirty = true
        try store.reserveIds(shard: shard.number, through: last)
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
        guard !buffer.isEmpty, !transaction.flushing else { return 0 }
        transaction.flushing = true
        defer { transaction.flushing = false }
        // Counters are written back whole at xSync: they must start from what other
        // writers committed, so the catalog is brought up to date first.
        if transaction.isEnlisted {
            try readyToWrite()
            return try buffer.drain(writeBuffered)
        }
        try db.exec("SAVEPOINT shards_flush")
        do {
            try enlist()
            try readyToWrite()
            let n = try buffer.drain(writeBuffered)
            try db.exec("RELEASE shards_flush")
            return n
        } catch {
            try? db.exec("ROLLBACK TO shards_flush; RELEASE shards_flush")
            throw error
        }
    }

    func writeBuffered(_ e: WriteBuffer.Entry) throws {
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
        if shard.summary != nil { try forgetSummary(shard) }
    }

    /// Joins the current transaction as a writer (xBegin ... xCommit/xRollback) with a
    /// write statement on the collection that touches no row (id 0 is never used).
    func enlist() throws {
        let stmt = try db.prepare("DELETE FROM \(qualified(name)) WHERE id = 0")
        try stmt.run()
    }

    /// At disconnect: the last chance to write the buffer. SQLite is tearing the
    /// connection down (running SQL on it could reload a schema it is iterating), so
    /// the acknowledged documents are written through a connection of their own to
    /// the same file, with the catalog counters, in one transaction. An in-memory
    /// database goes away with its connection: nothing to write then.
    func flushOnClose() {
        defer { buffer.discardAll() }
        let entries = buffer.acknowledged
        guard !entries.isEmpty, let name = api.pointee.db_filename(db.handle, schema),
              case let path = String(cString: name), !path.isEmpty,
              let other = try? Archives.open(path, flags: SQLITE_OPEN_READWRITE, error: { $0 }) else { return }
        defer { _ = api.pointee.close_v2(other.handle) }
        do {
            try other.exec("BEGIN IMMEDIATE")
            var touched: [Int64: (rows: Int64, minId: Int64, maxId: Int64, minTs: Int64, maxTs: Int64)] = [:]
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
                let t = touched[e.shard] ?? (0, e.id, e.id, e.ts, e.ts)
                touched[e.shard] = (t.rows + 1, min(t.minId, e.id), max(t.maxId, e.id), min(t.minTs, e.ts), max(t.maxTs, e.ts))
            }
            let otherStore = CatalogStore(db: other, schema: "main", name: self.name)
            for (num, t) in touched {
                try otherStore.addRows(shard: num, count: t.rows, ids: t.minId...t.maxId, times: t.minTs...t.maxTs)
            }
            otherStore.finalizeAll()
            inserts.removeAll()
            try other.exec("COMMIT")
        } catch {
            try? other.exec("ROLLBACK")
        }
    }

    func insertStatement(for shard: ShardInfo) throws -> Statement {
        if let s = insertStatements[shard.number] { return s }
        // jsonb() rejects malformed JSON itself; text storage keeps the text as given,
        // and a NULL from the json_valid test trips the NOT NULL of doc. (A single-row
        // VALUES, not INSERT ... SELECT: that would open a statement journal per row.)
        let doc = jsonb ? "jsonb(?3)" : "CASE WHEN json_valid(?3) THEN CAST(?3 AS TEXT) END"
        let s = try db.prepare("INSERT INTO \(qualified(shard.tableName))(id, ts, doc) VALUES (?1, ?2, \(doc))", persistent: true)
        insertStatements[shard.number] = s
        return s
    }


    /// Creates a shard table with its indexes and its catalog row, in the caller's transaction.
    func createShard(_ key: ShardKey, containing ts: Int64) throws -> ShardInfo {
        let period = options.partition.period(containing: ts)
        let number = nextNumber
        let spare = try takeSpareTable()
        let shard = ShardInfo(key: key, number: number, period: period, tableName: spare)
        do {
            if let spare {
                // SQLite drops a table only while no other statement reads, and renames one
                // only by parsing the whole schema again: the table keeps its name.
                try store.releaseTable(spare)
                for path in indexedPaths where try !hasIndex(table: spare, path: path) {
                    try db.exec(createIndexSQL(shard: shard, path: path))
                }
            } else {
                try db.exec(shardTableSQL(shard, schema: schema))
            }
        } catch let e as SQLiteError {
            throw SQLiteError(code: e.code, message: "shards: cannot create shard \(key.text) as table \(shard.tableName): \(e.message)")
        }
        try store.insertShard(shard)
        try store.setNextNumber(number + 1)
        nextNumber = number + 1
        catalog.add(shard)
        if key.seq == 1 { try applyRetention(newPeriod: period) }
        // A new period or a split: older shards may have stopped receiving rows.
        upkeep.due()
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

    func checkWritable(_ shard: ShardInfo, id: Int64) throws {
        if let file = shard.file {
            throw ShardError("shards: document \(id) is in shard \(shard.keyText), archived in '\(file)'; archived shards are read-only")
        }
        if shard.isCompressed {
            throw ShardError("shards: document \(id) is in shard \(shard.keyText), which is compressed; compressed shards are read-only")
        }
    }

    /// Deletes the row with this id, if there is one.
    func delete(id: Int64) throws {
        try readyToWrite()
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
        try readyToWrite()
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
        // The document's own period, not its table's: a merged table spans many.
        let period = options.partition.period(containing: ts)
        let storedPeriod = options.partition.period(containing: stored.int64(1))
        if period.label != storedPeriod.label || p.category != shard.key.category {
            throw ShardError("shards: this update moves document \(id) out of shard \(shard.keyText) (to another period or category); delete it and insert it again")
        }
        let stmt = try statements.checkout(db, "UPDATE \(tbl) SET ts = ?2, doc = \(storedDocument) WHERE id = ?1")
        defer { statements.checkin(stmt) }
        stmt.bind(1, id)
        stmt.bind(2, ts)
        stmt.bind(3, newDoc)
        try stmt.run()
        withExtendedLifetime(stored) {}   // newDoc may point into its row until here
        if db.changes > 0 {
            shard.noteTime(ts)
            if shard.summary != nil { try forgetSummary(shard) }
        }
    }
}
