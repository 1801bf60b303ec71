import CShardShim
import ShardCore

// A rollup's *prefix* of a hot shard: the partials of the shard's rows up to an id
// (its bound), written by the connection that fills the shard from its parts in
// memory (RollupHotPartials.swift), in its transaction, and read by every connection.
// Another connection (a dashboard beside a busy writer) then aggregates by SQL only the
// rows after the bound, by rowid range, instead of the whole shard.
//
// Kept in the rollup's shadow tables: the partial rows in `<rollup>_partials` and the
// shard's change stamp at the time in `<rollup>_built` (so every rule of built
// partials holds: a prefix at the shard's current stamp is its whole partials), and
// in `<rollup>_prefix(shard, bound, rows)` the bound and the rows it summed.
//
// When it holds. A shard's stamp moves one step per row inserted, updated or deleted
// (a close-time flush moves it by the rows it wrote, `CatalogStore.addRows`), and
// jumps by 2^32 when a partial rollback makes the shard count again; its row count
// moves one per insert and back one per delete. So `changes - rows` stays as it was
// exactly when every change since was an insert: then the rows at or below the bound
// are those summed, plus any inserted there since (a buffered writer's reserved ids
// can be lower than ids written before them). Those are caught by counting: the rows
// after the bound must be all the rows inserted since (`rows - prefix rows`). A
// rollback of the writer's transaction or savepoint takes the prefix back with its
// rows (both are in the same transaction); a merge, compression, archiving or drop
// leaves a shard that is not live, where a prefix is not used (upkeep builds or
// forgets its partials as for any shard). Checked against memory of the committed
// catalog and this connection's own writes, read in the query's one snapshot.

/// A prefix's bound and the rows it summed.
struct RollupPrefixRow {
    let bound: Int64
    let rows: Int64
}

extension RollupTable {
    /// A prefix is written when the shard's stamp is a multiple of this (about every
    /// that many inserts: see `ShardedCollection.insert`), so readers aggregate at
    /// most about that many rows of the hot shard.
    static let prefixEvery: Int64 = 1_024
    /// ... and when its parts grew by at least this many rows per bucket and group
    /// since the last prefix (writing the prefix rewrites every entry).
    static let prefixRowsPerEntry: Int64 = 4

    var prefixTable: String { "main." + SQLText.identifier(name + "_prefix") }

    /// Whether `<rollup>_prefix` exists (made by the first prefix written).
    private func hasPrefixTable() throws -> Bool { try hasShadowTable("prefix") }

    /// The writer's step (in its transaction, after an insert into `s`): writes the
    /// prefix of shard `s` from its parts in memory when they hold and have grown
    /// enough since the last one. At most `hotEntriesKept` partial rows.
    func persistPrefix(of s: ShardInfo) throws {
        guard s.isLive, !s.key.isMerged, let h = hotShards[s.number], let sums = hotParts(of: s),
              sums.rows - h.persistedRows >= max(1, Self.prefixRowsPerEntry * Int64(sums.count)) else { return }
        try writePrefix(sums, of: s)
    }

    private func writePrefix(_ sums: RollupAccumulator, of s: ShardInfo) throws {
        try makeTables()
        try forget(shard: s.number)
        try writeParts(sums, shard: s.number)
        try markBuilt(s)
        try notePrefix(of: s)
    }

    /// Shard `s`'s partials were just written whole, at its stamp: when it is live (it
    /// may take more inserts), they are its prefix too, up to its highest id.
    func notePrefix(of s: ShardInfo) throws {
        guard s.isLive, !s.key.isMerged, let bound = s.maxId, s.rows > 0 else { return }
        if try !hasPrefixTable() {
            try db.exec("CREATE TABLE \(prefixTable)(shard INTEGER PRIMARY KEY, bound INTEGER NOT NULL, rows INTEGER NOT NULL)")
        }
        let prefix = try statement("INSERT OR REPLACE INTO \(prefixTable)(shard, bound, rows) VALUES (?1, ?2, ?3)")
        prefix.bind(1, s.number)
        prefix.bind(2, bound)
        prefix.bind(3, s.rows)
        try prefix.run()
        if let h = hotShards[s.number], h.shard === s, h.stamp == s.changes { h.persistedRows = h.sums.rows }
    }

    /// Deletes shard `shard`'s prefix row (its partial rows and stamp go with `forget`).
    func forgetPrefix(shard: Int64) throws {
        guard try hasPrefixTable() else { return }
        let stmt = try statement("DELETE FROM \(prefixTable) WHERE shard = ?1")
        stmt.bind(1, shard)
        try stmt.run()
    }

    /// Shard `s`'s prefix when it holds (see the head of this file): it has one, it
    /// is the one `built` (the stamp `<rollup>_built` gives the shard) belongs to, every
    /// change since was an insert, its partial rows count the rows it summed, and the
    /// rows after its bound are all those inserted since. Nil otherwise.
    private func holdingPrefix(_ s: ShardInfo, built: (stamp: Int64, kept: Bool)?,
                               of collection: ShardedCollection) throws -> RollupPrefixRow? {
        guard s.isLive, !s.key.isMerged, let built, !built.kept, try hasPrefixTable() else { return nil }
        let read = try statement("SELECT bound, rows FROM \(prefixTable) WHERE shard = ?1")
        read.bind(1, s.number)
        defer { read.reset() }
        guard try read.step(), valueType(read.value(0)) == SQLITE_INTEGER, valueType(read.value(1)) == SQLITE_INTEGER else {
            return nil
        }
        let prefix = RollupPrefixRow(bound: read.int64(0), rows: read.int64(1))
        // Only inserts since: the stamp moved as much as the rows did.
        let inserted = s.rows &- prefix.rows
        guard prefix.rows > 0, inserted >= 0, DocumentId.range(ofShard: s.number).contains(prefix.bound),
              s.changes &- built.stamp == inserted else { return nil }
        let summed = try statement("SELECT sum(n) FROM \(partialsTable) WHERE shard = ?1")
        summed.bind(1, s.number)
        defer { summed.reset() }
        guard try summed.step(), valueType(summed.value(0)) == SQLITE_INTEGER, summed.int64(0) == prefix.rows else { return nil }
        let after = try collection.statements.checkout("SELECT count(*) FROM \(collection.qualified(s.tableName)) WHERE id > ?1")
        defer { collection.statements.checkin(after) }
        after.bind(1, prefix.bound)
        guard try after.step(), after.int64(0) == inserted else { return nil }
        return prefix
    }

    /// The rows of shard `s` after `prefix`'s bound aggregated by `RollupSelect` with the
    /// query's `conditions` (parameters ?3 on), by a rowid range (BETWEEN: one bound
    /// alone would lose to the two of the ts index), from parameter `k` on.
    private func tailStatement(_ s: ShardInfo, after prefix: RollupPrefixRow, of collection: ShardedCollection,
                               conditions: [String], k: Int32, around: (String) -> String = { $0 }) throws -> Statement {
        let tail = RollupSelect(options: options, conditions: conditions + ["id BETWEEN ?\(k) AND ?\(k + 1)"])
        let stmt = try collection.statements.checkout(around(tail.head + collection.qualified(s.tableName) + tail.tail))
        stmt.bind(k, prefix.bound + 1)
        stmt.bind(k + 1, DocumentId.range(ofShard: s.number).upperBound)
        return stmt
    }

    /// The reader's side: live shard `s`, not built at its stamp, answered from its
    /// prefix (whose partial rows the caller then reads with the built ones) and its
    /// rows after the bound, aggregated here by SQL into `buckets`. False, having
    /// added nothing, when it has no prefix that holds. `conditions` and `parameters`:
    /// the query's, on group values (?3 on).
    func addAfterPrefix(_ s: ShardInfo, built: (stamp: Int64, kept: Bool)?, of collection: ShardedCollection,
                        conditions: [String], parameters: [ValueCopy], _ tsLo: Int64, _ tsHi: Int64,
                        into buckets: inout RollupBuckets) throws -> Bool {
        guard let prefix = try holdingPrefix(s, built: built, of: collection) else { return false }
        guard s.rows > prefix.rows else { return true }
        let stmt = try tailStatement(s, after: prefix, of: collection, conditions: conditions, k: Int32(3 + parameters.count))
        defer { collection.statements.checkin(stmt) }
        stmt.bind(1, tsLo)
        stmt.bind(2, tsHi)
        for (i, p) in parameters.enumerated() { stmt.bind(Int32(i + 3), p) }
        while try stmt.step() { try addRow(stmt, offset: 0, reads: allRead, into: &buckets) }
        return true
    }

    /// The writer's side when it holds no parts of shard `s` (it began writing after
    /// the shard's first row: a restart, another connection's write): they are made
    /// from the shard's prefix and its rows after the bound (at most `resumeRows` of
    /// them), so that inserts extend them and prefixes go on. False when they cannot be.
    func resumeFromPrefix(_ s: ShardInfo, of collection: ShardedCollection) throws -> Bool {
        // Once per shard as this connection's catalog holds it (a document the parts
        // refuse would otherwise have it aggregate the rows after the bound again and again).
        guard scanPaths != nil, s.isLive, !s.key.isMerged, resumed[s.number] != ObjectIdentifier(s) else { return false }
        resumed[s.number] = ObjectIdentifier(s)
        guard try hasPrefixTable() else { return false }
        let stamp = try statement("SELECT stamp, kept FROM \(builtTable) WHERE shard = ?1")
        stamp.bind(1, s.number)
        let built = try stamp.step() ? (stamp: stamp.int64(0), kept: stamp.int64(1) != 0) : nil
        stamp.reset()
        guard let prefix = try holdingPrefix(s, built: built, of: collection),
              s.rows - prefix.rows <= Self.resumeRows else { return false }
        // The prefix's partial rows, then the rows after it, laid out alike.
        let partials = "SELECT \(partialColumns) FROM \(partialsTable) WHERE shard = ?5"
        let stmt = try tailStatement(s, after: prefix, of: collection, conditions: [], k: 3) { partials + " UNION ALL " + $0 }
        defer { collection.statements.checkin(stmt) }
        stmt.bind(1, Time.minimum)
        stmt.bind(2, Time.maximum)
        stmt.bind(5, s.number)
        guard try keepHotParts(s, rows: stmt, offset: 0) != nil, let h = hotShards[s.number] else { return false }
        h.persistedRows = prefix.rows
        return true
    }

    /// At most this many rows after a prefix are aggregated to resume from it (an
    /// upkeep step's rows).
    static let resumeRows: Int64 = UpkeepPacer.stepRows
}

extension ShardedCollection {
    /// After an insert into `shard`, every `RollupTable.prefixEvery` changes of it:
    /// the rollups fed by this connection write the shard's prefix (RollupPrefix.swift).
    func persistRollupPrefixes(_ shard: ShardInfo) throws {
        guard schema == "main", let connection else { return }
        for rollup in connection.rollupsFed(by: name) {
            if rollup.hotParts(of: shard) == nil, try !rollup.resumeFromPrefix(shard, of: self) { continue }
            try rollup.persistPrefix(of: shard)
        }
    }

    /// Before the first row of a new shard goes in: the rollups over the collection are
    /// connected, so that they keep its parts from that row on (and can write prefixes).
    func connectRollups() throws {
        _ = try rollups()
    }
}
