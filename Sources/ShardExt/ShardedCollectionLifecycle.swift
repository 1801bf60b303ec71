import CShardShim
import ShardCore

// Old data leaves whole (shard_drop, retain, shard_archive); indexes added later.
extension ShardedCollection {
    // MARK: - lifecycle

    /// Runs a lifecycle function (or ensure_json_index) in a savepoint of its own, from
    /// its first statement holding the write lock, and with memory caught up inside
    /// it: what the function reads (the catalog, the tables merges emptied, the next
    /// shard number) and what it drops or creates then belong to one transaction, so
    /// another connection cannot take a table over, or a number, in between.
    ///
    /// First the collection is enlisted in the transaction with a write statement on
    /// it (which takes the write lock, waiting for busy_timeout), so that ROLLBACK and
    /// ROLLBACK TO restore its tables, catalog and memory together (SQLite tells an
    /// enlisted table how its transaction ends); then the buffer is written and memory
    /// catches up; then the counters of this transaction's writes go to the catalog
    /// before the function reads or changes it. They stay marked dirty: a ROLLBACK TO
    /// may undo this write-back, and then they are counted again from the shards.
    func lifecycle<T>(_ savepoint: String, _ body: () throws -> T) throws -> T {
        try inSavepoint(savepoint) {
            if !transaction.isEnlisted { try enlist() }
            try readyToRead()
            for s in catalog.dirtyShards { try store.writeCounters(s) }
            return try body()
        }
    }

    /// Joins the current transaction as a writer (xBegin ... xCommit/xRollback) with a
    /// write statement on the collection that touches no row (id 0 is never used).
    func enlist() throws {
        let stmt = try db.prepare("DELETE FROM \(qualified(name)) WHERE id = 0")
        try stmt.run()
    }

    /// shard_drop: drops every shard whose whole period ends at or before `before`
    /// (ms), in one transaction; returns the rows dropped. Partition none never ends.
    func dropShards(endingBy before: Int64) throws -> Int64 {
        try lifecycle("shards_drop") { () -> Int64 in
            let victims = catalog.ended(by: before)
            let rows = victims.isEmpty ? 0 : try retire(victims)
            purgeRetired()
            return rows
        }
    }

    /// `retain`: when the first shard of a new newest period appears, whole periods
    /// that ended more than `retain` before its start go.
    func applyRetention(newPeriod: Period) throws {
        let now = options.partition.period(containing: Clock.nowMilliseconds()).start ?? .max
        guard let victims = options.retain?.victims(in: catalog.memory, newPeriod: newPeriod, wallClockPeriodStart: now) else { return }
        if !victims.isEmpty { _ = try retire(victims) }
    }

    /// Takes shards out of the collection in the current transaction: their catalog
    /// rows say `retired`, so no reader sees them from here on. Returns their rows.
    func retire(_ victims: [ShardInfo]) throws -> Int64 {
        // Rollups keep the buckets of documents leaving the collection.
        for rollup in try rollups() { try rollup.keep(victims, of: self) }
        try catalog.change(victims, to: .retired)
        return victims.reduce(0) { $0 + $1.rows }
    }

    /// Drops the tables of retired shards, when SQLite allows (no other statement
    /// running on the connection); otherwise they wait for the next chance.
    func purgeRetired() {
        dropArchivedTablesInMain()
        upkeep.dropMergedTables()
        let retired = catalog.shards.filter(\.isRetired)
        guard !retired.isEmpty, !transaction.flushing else { return }
        // Cached statements may name the tables; they are prepared again on use.
        statements.forget(shards: retired.map(\.number))
        var sql = ""
        for s in retired {
            sql += dropTablesSQL(s)
        }
        _ = try? inSavepoint("shards_purge") {
            try db.exec(sql)
            try catalog.change(retired, to: .purged)
        }
    }

    /// shard_archive: moves the shards whose whole period ends at or before `before`
    /// into another database file and records the file in the catalog; returns the
    /// rows moved. The archive is written and committed first (a copy left by a crash
    /// is replaced next time), then the catalog, in the function's transaction.
    func archiveShards(endingBy before: Int64, file: String) throws -> Int64 {
        try Replication.requireLocalFiles(db, schema: schema, for: "shard_archive", because: Replication.archiveFile)
        let path = try archivePath(file)
        try checkArchiveAccess(file: file, path: path)
        return try lifecycle("shards_archive") { () -> Int64 in
            let victims = catalog.liveEnded(by: before)
            guard !victims.isEmpty else {
                // A crash after an earlier archive's catalog commit may have left tables behind.
                purgeRetired()
                return 0
            }
            try checkNotOwnDatabase(path: path, file: file)
            archives.close(path)
            let owner = try OwnedDatabase.open(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                               context: "cannot open archive file '\(path)' for writing")
            let archive = owner.db
            defer { withExtendedLifetime(owner) {} }
            do {
                try archive.exec("BEGIN IMMEDIATE")
                try verifyOwner(archive, file: file, claim: true)
                for s in victims {
                    // The copy is named `archiveTable`; one left by a crash or a rolled-back
                    // transaction for this same shard number is replaced.
                    let copy = ShardInfo(key: s.key, number: s.number, period: s.period, tableName: s.archiveTable)
                    try archive.exec(ShardSchema.dropIfExists(schema: "main", table: copy.tableName) + shardTableSQL(copy, schema: "main"))
                    let read = try db.prepare("SELECT id, ts, doc FROM \(qualified(s.tableName))")
                    let write = try archive.prepare("INSERT INTO \"main\".\(SQLText.identifier(copy.tableName))(id, ts, doc) VALUES (?1, ?2, ?3)")
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
            try catalog.change(victims, to: .archived(file: file))
            let rows = victims.reduce(0) { $0 + $1.rows }
            purgeRetired()
            return rows
        }
    }

    /// Archived shards whose table is still in the main database (the drop had to wait).
    func dropArchivedTablesInMain() {
        let archived = catalog.shards.filter { $0.file != nil }
        guard !archived.isEmpty, !transaction.flushing,
              let exists = try? db.prepare("SELECT 1 FROM \(SQLText.identifier(schema)).sqlite_schema WHERE type = 'table' AND name = ?1")
        else { return }
        var sql = ""
        for s in archived {
            guard (try? exists.bind([.text(s.tableName)])) != nil, (try? exists.step()) == true else { exists.reset(); continue }
            exists.reset()
            sql += ShardSchema.drop(schema: schema, table: s.tableName)
        }
        guard !sql.isEmpty else { return }
        statements.forget(shards: archived.map(\.number))
        _ = try? inSavepoint("shards_purge") { try db.exec(sql) }
    }

    /// shard_merge: merges everything finished before `before` now, in one transaction;
    /// returns the rows moved.
    func mergeShards(before: Int64) throws -> Int64 {
        try lifecycle("shards_merge") { try upkeep.mergeAll(before: before) }
    }

    /// Runs `body` in a savepoint: all of it or, on error, none of it.
    func inSavepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try db.exec("SAVEPOINT \(name)")
        do {
            let result = try body()
            try db.exec("RELEASE \(name)")
            return result
        } catch {
            try? db.exec("ROLLBACK TO \(name); RELEASE \(name)")
            transaction.markStale()
            throw error
        }
    }

    // MARK: - indexes

    /// Whether a table has an index on `json_extract(doc, path)`, whatever its name (a
    /// table taken over from a merged shard keeps the names of its indexes).
    func hasIndex(table: String, path: JSONPath) throws -> Bool {
        let stmt = try db.prepare("""
            SELECT 1 FROM \(SQLText.identifier(schema)).sqlite_schema
            WHERE type = 'index' AND tbl_name = ?1 AND instr(sql, ?2) > 0
            """)
        try stmt.bind([.text(table), .text(ShardSchema.pathIndexExpression(path.text))])
        return try stmt.step()
    }

    /// ensure_json_index: creates the index on every shard lacking it and records the
    /// path for future shards. Returns how many shards gained it.
    func ensureIndex(_ path: JSONPath) throws -> Int64 {
        if path.steps.isEmpty {
            throw ShardError("ensure_json_index needs a path below the root, like $.type")
        }
        return try lifecycle("shards_index") { () -> Int64 in
            var gained: Int64 = 0
            for shard in catalog.shards where shard.isLive {
                if try !hasIndex(table: shard.tableName, path: path) {
                    try db.exec(createIndexSQL(shard: shard, path: path))
                    gained += 1
                }
            }
            if !indexedPaths.contains(path) {
                try catalog.recordIndexedPath(path)
                // Summaries cover the new path from now on.
                try upkeep.rebuildSummaries()
            }
            try upkeep.summarizeSealed()
            return gained
        }
    }
}
