import CShardShim
import ShardCore

// Writes: a document into its shard, shards and their indexes made, updates and deletes.
extension ShardedCollection {
    /// Inserts a document and returns its id.
    func insert(doc: OpaquePointer?, explicitTs: OpaquePointer?) throws -> Int64 {
        // Buffered documents are written later: SQLite checks them now, in place(), and
        // the catalog is looked at only when a new block of ids is reserved.
        let buffered = options.buffer > 0
        if !buffered || transaction.catalogStale { try readyToWrite() }
        let (p, read) = try placeReading(doc: doc, explicitTs: explicitTs, checkedByInsert: !buffered)
        if buffered { return try writer.bufferInsert(doc: doc, p) }
        let (key, found) = route(p)
        let shard = try found ?? createShard(key, containing: p.ts)
        let id = DocumentId.make(shard: shard.number, local: shard.lastLocal + 1)
        let stmt = try insertStatement(for: shard)
        stmt.bind(1, id)
        stmt.bind(2, p.ts)
        stmt.bind(3, doc)
        defer { stmt.reset() }
        do {
            try writer.writing { _ = try stmt.step() }
        } catch let e as SQLiteError {
            throw insertFailure(e, doc: doc)
        }
        shard.noteInsert(id: id, ts: p.ts)
        if shard.summary != nil { try upkeep.widenSummary(shard, doc: doc) }
        if upkeep.pending { try upkeep.afterWrite() }
        feedRollups(shard, ts: p.ts, doc: doc, read: read)
        return id
    }

    /// Why an insert of `doc` failed: a malformed document is said so, by the error's
    /// code and a second look at the document; anything else is SQLite's own error.
    func insertFailure(_ e: SQLiteError, doc: OpaquePointer?) -> Error {
        // Text storage: json_valid's NULL is refused by the NOT NULL of doc.
        if e.extendedCode == SQLITE_CONSTRAINT_NOTNULL { return malformedDocument(doc) }
        // jsonb() fails with a plain error; the document itself is tested (a cold path).
        guard jsonb, e.code == SQLITE_ERROR, let check = try? db.prepare("SELECT json_valid(?1, 6)") else { return e }
        check.bind(1, doc)
        guard (try? check.step()) == true, check.int64(0) == 0 else { return e }
        return malformedDocument(doc)
    }

    @inline(__always) func insertStatement(for shard: ShardInfo) throws -> Statement {
        try statements.insert(shard: shard.number) {
            // jsonb() rejects malformed JSON itself; text storage keeps the text as given,
            // and a NULL from the json_valid test trips the NOT NULL of doc. (A single-row
            // VALUES, not INSERT ... SELECT: that would open a statement journal per row.)
            let doc = jsonb ? "jsonb(?3)" : "CASE WHEN json_valid(?3) THEN CAST(?3 AS TEXT) END"
            return "INSERT INTO \(qualified(shard.tableName))(id, ts, doc) VALUES (?1, ?2, \(doc))"
        }
    }


    /// Creates a shard table with its indexes and its catalog row, in the caller's transaction.
    func createShard(_ key: ShardKey, containing ts: Int64) throws -> ShardInfo {
        var key = key
        // Merged shards' rows are not in memory (see Catalog.init), and a line's newest
        // shard in memory may be older than one merged since (a compressed split, then
        // a late one merged): the line continues after the highest seq the table holds.
        if let top = try store.highestSeq(of: key), top >= key.seq {
            // Checked as the catalog is when loaded: a seq makes a key, never an overflow.
            guard top < Int(DocumentId.maxShardNumber) else {
                throw ShardError("catalog of '\(name)' is inconsistent: line \(key.line) holds seq \(top)")
            }
            key = ShardKey(collection: key.collection, category: key.category, period: key.period, seq: top + 1)
        }
        // A shard that took over a merged shard's emptied table kept that table's name
        // (see takeSpareTable), which may be the one this key would make: the line then
        // goes on to the next seq whose table name is free.
        while try db.tableExists(ShardTableName.table(for: key), schema: schema) {
            guard key.seq < Int(DocumentId.maxShardNumber) else {
                throw ShardError("catalog of '\(name)' is inconsistent: line \(key.line) has no free table name")
            }
            key = ShardKey(collection: key.collection, category: key.category, period: key.period, seq: key.seq + 1)
        }
        let period = options.partition.period(containing: ts)
        let shard = try makeShard(key, period: period)
        if key.seq == 1 { try applyRetention(newPeriod: period) }
        // A new period or a split: older shards may have stopped receiving rows.
        upkeep.due()
        return shard
    }

    /// A new shard's table, with every index, and its catalog row (the table of a merged
    /// shard taken over when one waits and `reuse` allows, see takeSpareTable), in memory.
    func makeShard(_ key: ShardKey, period: Period, reuse: Bool = true) throws -> ShardInfo {
        let number = try catalog.numberForNewShard()
        let spare = reuse ? try upkeep.takeSpareTable() : nil
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
            throw e.within("cannot create shard \(key.text) as table \(shard.tableName)")
        }
        try catalog.record(shard)
        return shard
    }

    /// A shard's table and every index, in `schema` (the collection's, or an archive's "main").
    func shardTableSQL(_ shard: ShardInfo, schema: String) -> String {
        ShardSchema.createShard(schema: schema, table: shard.tableName, jsonb: jsonb,
                                indexes: indexedPaths.map { pathIndex(shard: shard, path: $0) })
    }

    /// The index of `path` on a shard: `<table>_<column>` for declared indexes, `<table>_p<hash>` otherwise.
    func pathIndex(shard: ShardInfo, path: JSONPath) -> ShardSchema.PathIndex {
        let column = options.indexes.first(where: { $0.path == path })?.name
        return ShardSchema.PathIndex(name: ShardSchema.pathIndexName(table: shard.tableName, column: column, path: path.text),
                                     path: path.text)
    }

    func createIndexSQL(shard: ShardInfo, path: JSONPath) -> String {
        ShardSchema.createPathIndex(schema: schema, table: shard.tableName, index: pathIndex(shard: shard, path: path))
    }

    func checkWritable(_ shard: ShardInfo, id: Int64) throws {
        if let file = shard.file {
            throw ShardError("document \(id) is in shard \(shard.keyText), archived in '\(file)'; archived shards are read-only")
        }
        if shard.isCompressed {
            throw ShardError("document \(id) is in shard \(shard.keyText), which is compressed; compressed shards are read-only")
        }
    }

    /// Deletes the row with this id, if there is one.
    func delete(id: Int64) throws {
        try readyToWrite()
        guard let shard = try holder(ofShard: DocumentId.shardNumber(of: id)) else { return }
        try checkWritable(shard, id: id)
        let stmt = try statements.checkout("DELETE FROM \(qualified(shard.tableName)) WHERE id = ?1")
        defer { statements.checkin(stmt) }
        stmt.bind(1, id)
        try writer.writing { try stmt.run() }
        if db.changes > 0 {
            shard.noteDelete()
            upkeep.noteDelete()
        }
    }

    /// Replaces a document (and/or its explicit ts). It must stay in its shard's period and category.
    func update(id: Int64, doc: OpaquePointer?, docChanged: Bool, explicitTs: OpaquePointer?, tsChanged: Bool) throws {
        try readyToWrite()
        guard let shard = try holder(ofShard: DocumentId.shardNumber(of: id)) else { return }
        try checkWritable(shard, id: id)
        let tbl = qualified(shard.tableName)
        // The stored row, for what the update leaves as it was.
        let stored = try db.prepare("SELECT \(columns.expression(.doc, reading: true)), ts FROM \(tbl) WHERE id = ?1")
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
            throw ShardError("this update moves document \(id) out of shard \(shard.keyText) (to another period or category); delete it and insert it again")
        }
        let stmt = try statements.checkout("UPDATE \(tbl) SET ts = ?2, doc = \(storedDocument) WHERE id = ?1")
        defer { statements.checkin(stmt) }
        stmt.bind(1, id)
        stmt.bind(2, ts)
        stmt.bind(3, newDoc)
        try writer.writing { try stmt.run() }
        if db.changes > 0 {
            shard.noteTime(ts)
            if shard.summary != nil { try upkeep.widenSummary(shard, doc: newDoc) }
        }
        withExtendedLifetime(stored) {}   // newDoc may point into its row until here
    }
}
