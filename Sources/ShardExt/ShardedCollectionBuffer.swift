import CShardShim
import ShardCore

/// Every write of rows into the collection's shard tables passes `writing`: it is
/// counted (a scan checks its rows' ids against where it started only once the count
/// moved) and never re-entered (a trigger on a shard table that writes to the
/// collection). With `buffer = N` it also holds the buffered writes: ids reserved
/// now, rows written at a flush (in the caller's transaction, or at disconnect).
final class ShardWriter {
    /// The collection it writes for (which owns it), set once by `serve`.
    private unowned var collection: ShardedCollection!
    /// Documents inserted but not written yet (`buffer = N`).
    let buffer = WriteBuffer()
    /// A statement writing a shard table is running (see `writing`).
    private var running = false
    /// Writes to shard tables so far (inserts, updates, deletes, merges' moves).
    private(set) var writes = 0

    func serve(_ collection: ShardedCollection) { self.collection = collection }

    private var db: Database { collection.db }
    private var schema: String { collection.schema }
    private var name: String { collection.name }
    private var options: CollectionOptions { collection.options }
    private func qualified(_ table: String) -> String { collection.qualified(table) }

    /// Runs a statement that writes a shard table. A trigger on that table which
    /// writes to the collection would come back here while the statement still runs
    /// (and step it again): that is refused, with an error instead of a recursion.
    @inline(__always) func writing(_ body: () throws -> Void) throws {
        guard !running else {
            throw ShardError("a write to '\(name)' re-entered the collection (a trigger on one of its shard tables writes to it?); shard tables cannot have triggers that write to their collection")
        }
        running = true
        defer { running = false }
        writes &+= 1
        try body()
    }

    /// Rows moved by a merge (not a statement the collection's triggers could see).
    func noteMove() { writes &+= 1 }

    // MARK: - buffered writes

    /// Keeps the document in memory with an id reserved for it; writes the buffer
    /// when it is full or its oldest document has waited flush_ms.
    func bufferInsert(doc: OpaquePointer?, _ p: Placement) throws -> Int64 {
        if buffer.isEmpty { try Replication.requireLocalFiles(db, schema: schema, for: "buffer = \(options.buffer)", because: Replication.bufferedRows) }
        let now = Clock.nowMilliseconds()
        let id = try reservedId(p)
        buffer.append(shard: DocumentId.shardNumber(of: id), id: id, ts: p.ts, doc: doc, now: now)
        if Int64(buffer.count) >= options.buffer || now - buffer.oldest >= options.flushMs {
            // The flush pays for upkeep as the rows it writes would have one by one, in
            // this write statement's transaction (merges would never run otherwise).
            let rows = try flush()
            if collection.upkeep.pending && rows > 0 { try collection.upkeep.afterWrite(rows: rows) }
        }
        return id
    }

    /// An id in the shard the placement routes to, from this connection's reservation;
    /// a new block of up to `buffer` ids is reserved in the catalog when it runs out.
    private func reservedId(_ p: Placement) throws -> Int64 {
        var (key, found) = collection.catalog.route(p)
        // Ids reserved earlier stay this connection's, whatever others did since, while
        // their shard takes rows (a compressed or archived one never does again).
        if let holder = found ?? collection.catalog.newest(line: key.lineKey), holder.state == .hot,
           let id = buffer.takeReservedId(shard: holder.number) {
            return id
        }
        // A new block: the catalog must be current (another writer may have moved on).
        try collection.readyToWrite()
        (key, found) = collection.catalog.route(p)
        let shard = try found ?? collection.createShard(key, containing: p.ts)
        let first = shard.lastLocal + 1
        let last = min(shard.lastLocal + options.buffer, options.maxRows, DocumentId.maxLocal)
        shard.lastLocal = last
        shard.dirty = true
        try collection.catalog.store.reserveIds(shard: shard.number, through: last)
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
        guard !buffer.isEmpty, !collection.transaction.flushing else { return 0 }
        collection.transaction.flushing = true
        defer { collection.transaction.flushing = false }
        // Counters are written back whole at xSync: they must start from what other
        // writers committed, so the catalog is brought up to date first.
        if collection.transaction.isEnlisted {
            try collection.readyToWrite()
            return try buffer.drain(writeBuffered)
        }
        do {
            try db.exec("SAVEPOINT shards_flush")
        } catch let e as SQLiteError where e.code == SQLITE_BUSY {
            // A write statement is running (INSERT INTO t SELECT ... FROM this collection):
            // SQLite opens no savepoint then. The flush joins that statement's transaction
            // instead; entries written before an error stay written with it, and its
            // commit or rollback reaches the buffer like any other.
            try collection.enlist()
            try collection.readyToWrite()
            return try buffer.drain(writeBuffered)
        }
        do {
            try collection.enlist()
            try collection.readyToWrite()
            let n = try buffer.drain(writeBuffered)
            try db.exec("RELEASE shards_flush")
            return n
        } catch {
            try? db.exec("ROLLBACK TO shards_flush; RELEASE shards_flush")
            throw error
        }
    }

    private func writeBuffered(_ e: WriteBuffer.Entry) throws {
        guard let shard = try collection.catalog.holder(ofShard: e.shard) else {
            throw ShardError("buffered document \(e.id) has lost its shard (dropped by another connection?)")
        }
        let stmt = try collection.insertStatement(for: shard)
        stmt.bind(1, e.id)
        stmt.bind(2, e.ts)
        stmt.bind(3, e.doc)
        defer { stmt.reset() }
        try writing { _ = try stmt.step() }
        shard.noteInsert(id: e.id, ts: e.ts)
        if shard.summary != nil { try collection.upkeep.widenSummary(shard, doc: e.doc) }
    }

    /// At disconnect: the last chance to write the buffer. SQLite is tearing the
    /// connection down (running SQL on it could reload a schema it is iterating), so
    /// the acknowledged documents are written through a connection of their own to
    /// the same file, with the catalog counters, in one transaction. An in-memory
    /// database goes away with its connection: nothing to write then.
    ///
    /// That connection waits at most `closeWaitMs` for the write lock. When the closing
    /// connection holds it itself (its own transaction is still open, and SQLite rolls
    /// it back only after this), the write waits until SQLite has closed the handle
    /// (`Connection.afterClose`). Nobody is left to return an error to, so documents
    /// that cannot be written go to SQLite's error log (sqlite3_log) with their
    /// number, their ids and why; never dropped silently.
    func flushOnClose() {
        defer { buffer.discardAll() }
        // Never written on a replicated database: buffering is refused there.
        guard Replication.replicatingVFS(db, schema: schema) == nil else { return }
        let entries = buffer.acknowledged
        let path = db.filename(schema)
        guard !entries.isEmpty, !path.isEmpty else { return }
        if db.holdsWriteLock(schema), let connection = collection.connection {
            // The connection's own open transaction holds the lock, and SQLite rolls it
            // back only after this: the documents are written once the handle is gone
            // (SQLite lets go of the extension's Connection last), on copies of their own.
            let kept = entries.map { e in
                WriteBuffer.Entry(shard: e.shard, id: e.id, ts: e.ts, doc: ValueCopy.duplicate(e.doc),
                                  acknowledged: true, seq: e.seq)
            }
            let owner = collection   // kept until then: the writer holds it unowned
            connection.afterClose.append { [self] in
                withExtendedLifetime(owner) {
                    writeAtClose(kept, to: path)
                    for e in kept { ValueCopy.release(e.doc) }
                }
            }
            return
        }
        writeAtClose(entries, to: path)
    }

    /// The close-time write of `entries`; what cannot be written goes to the error log.
    private func writeAtClose(_ entries: [WriteBuffer.Entry], to path: String) {
        func logLost(_ lost: [WriteBuffer.Entry], code: Int32, _ why: String) {
            let ids = lost.map(\.id)
            sqliteLog(code, "\(lost.count) buffered documents of '\(name)' (ids \(ids.min()!) to \(ids.max()!)) were lost at close: \(why)")
        }
        do {
            let orphans = try writeOnClose(entries, to: path, waitMs: Self.closeWaitMs)
            if !orphans.isEmpty {
                logLost(orphans, code: SQLITE_WARNING, "their shards were dropped by another connection")
            }
        } catch {
            let (code, reason, _) = errorReason(error)
            logLost(entries, code: code, reason)
        }
    }

    /// How long a closing connection waits for the write lock to write its buffer.
    static let closeWaitMs: Int32 = 2000

    /// Writes `entries` in one transaction; returns those that had no shard left to go to.
    private func writeOnClose(_ entries: [WriteBuffer.Entry], to path: String, waitMs: Int32) throws -> [WriteBuffer.Entry] {
        let owner = try OwnedDatabase.open(path, flags: SQLITE_OPEN_READWRITE, busyMs: waitMs, context: "cannot open '\(path)'")
        let other = owner.db
        defer { withExtendedLifetime(owner) {} }
        try other.exec("BEGIN IMMEDIATE")
        do {
            let otherStore = CatalogStore(db: other, schema: "main", name: self.name)
            defer { otherStore.finalizeAll() }
            var touched: [Int64: (rows: Int64, minId: Int64, maxId: Int64, minTs: Int64, maxTs: Int64)] = [:]
            var inserts: [Int64: Statement] = [:]
            var orphans: [WriteBuffer.Entry] = []
            for e in entries {
                // The catalog as this transaction reads it says where the shard's rows
                // go: memory may be stale (another connection merged the shard, or
                // dropped it, and took its emptied table over for a new shard since).
                guard let holder = try otherStore.writableTable(ofShard: e.shard),
                      ShardTableName.isShardTable(holder.table, collection: name) else {
                    orphans.append(e)
                    continue
                }
                // On its own connection, the collection's file is "main".
                let stmt = try inserts[e.shard] ?? other.prepare(
                    "INSERT INTO \"main\".\(SQLText.identifier(holder.table))(id, ts, doc) VALUES (?1, ?2, \(collection.storedDocument))")
                inserts[e.shard] = stmt
                stmt.bind(1, e.id)
                stmt.bind(2, e.ts)
                stmt.bind(3, e.doc)
                defer { stmt.reset() }
                _ = try stmt.step()
                // Counted on the table that holds the row (a merged one's own row).
                let t = touched[holder.number] ?? (0, e.id, e.id, e.ts, e.ts)
                touched[holder.number] = (t.rows + 1, min(t.minId, e.id), max(t.maxId, e.id), min(t.minTs, e.ts), max(t.maxTs, e.ts))
            }
            for (num, t) in touched {
                try otherStore.addRows(shard: num, count: t.rows, ids: t.minId...t.maxId, times: t.minTs...t.maxTs)
            }
            inserts.removeAll()
            try other.exec("COMMIT")
            return orphans
        } catch {
            // Nothing was written: the log line counts every entry as lost.
            try? other.exec("ROLLBACK")
            throw error
        }
    }
}
