import CShardShim
import ShardCore

/// The upkeep of shards that stopped receiving rows, and its own state: they are
/// merged into fewer tables (docs/collections.md, "Merging finished shards"),
/// summarized for reads to skip them (`ShardSummary`), and rolled up into the partials
/// of rollups over the collection (docs/rollups.md). MergePlan decides; this carries
/// it out, in the caller's transaction, paced by `UpkeepPacer`.
final class Upkeep {
    /// The collection it keeps up (which owns it), set once by `serve`.
    private unowned var collection: ShardedCollection!
    /// Merges and summaries due.
    private var pacer = UpkeepPacer()
    /// The catalog's state when merge planning last found nothing to merge; planning
    /// looks at every shard, and a step that only builds a summary need not plan again
    /// while this holds (see `step`).
    private var nothingToMergeAt: MergeState?
    private struct MergeState: Equatable {
        let generation: Int, shards: Int, deletes: Int, now: Int64
    }
    /// Deletes so far: a shard that shrank may become worth merging.
    private var deletes = 0
    /// Merged shards' tables may still be in the schema.
    private var mergedTablesLeft = true
    /// Those tables (emptied by their merge), when known; see takeSpareTable.
    private var spares: [String]?
    /// The reused row of the summary probe (see widenSummary).
    private var summaryValues: [BlockFilter.Value?] = []

    func serve(_ collection: ShardedCollection) { self.collection = collection }

    private var db: Database { collection.db }
    private var schema: String { collection.schema }
    private var name: String { collection.name }
    private var options: CollectionOptions { collection.options }
    private var catalog: CollectionCatalog { collection.catalog }
    private var store: CatalogStore { collection.catalog.store }
    private var statements: CollectionStatements { collection.statements }
    private var indexedPaths: [JSONPath] { collection.catalog.indexedPaths }
    private func qualified(_ table: String) -> String { collection.qualified(table) }

    // MARK: - pacing

    /// Some upkeep may be left: the next write pays for a step.
    @inline(__always) var pending: Bool { pacer.pending }

    /// A new period or a split (older shards may have stopped receiving rows), or a
    /// catalog read again (another connection may have left merges or summaries to do).
    func due() { pacer.due() }

    /// The catalog was read again: merged tables may be left, and the spares read again.
    func reloaded() {
        pacer.due()
        mergedTablesLeft = true
        spares = nil
    }

    /// A row was deleted.
    func noteDelete() { deletes += 1 }

    /// After a write while upkeep is due: a step when the writes have paid for one.
    /// An error fails the write, and SQLite undoes the statement with what the step did.
    /// `rows`: the rows the statement wrote (a flush of the write buffer writes many).
    func afterWrite(rows: Int = 1) throws {
        pacer.wrote(rows: rows)
        guard pacer.mayStep else { return }
        do {
            let cut = dataCut()
            while pacer.mayStep {
                if let rows = try step(cut: cut, merging: options.autoMerge) {
                    pacer.spent(rows: rows)
                } else {
                    pacer.done()
                }
            }
        } catch {
            collection.transaction.markStale()
            throw error
        }
    }

    /// `merge = auto`'s finish line for each category: the start of its newest period.
    func dataCut() -> (String?) -> Int64? {
        let now = options.partition.period(containing: Clock.nowMilliseconds()).start ?? .max
        let cuts = MergePlan.cutForData(shards: catalog.shards, nowPeriodStart: now)
        return { cuts[$0] }
    }

    /// One unit of upkeep: one table merged, else one summary built. Returns the rows
    /// it worked on; nil when nothing is left.
    private func step(cut: (String?) -> Int64?, merging: Bool) throws -> Int64? {
        // What planning reads changes only with these: shards made, merged, dropped or
        // reloaded (their count, the generation), rows deleted, the wall clock's period
        // (the cut's guard). Rows inserted only make a shard less worth merging.
        let state = MergeState(generation: catalog.generation, shards: catalog.shards.count, deletes: deletes,
                               now: options.partition.period(containing: Clock.nowMilliseconds()).start ?? .max)
        if merging, nothingToMergeAt != state,
           let group = MergePlan.plan(shards: catalog.shards, collection: name, mergeRows: options.mergeRows,
                                      isOpen: { self.catalog.isNewestOfLine($0) && self.catalog.hasRoom($0) },
                                      cut: cut).first {
            // One plan serves its group: its sources go in turn (planning looks at every
            // shard) while the step stays within its rows; the first goes whole.
            var target = group.target
            var moved: Int64 = 0
            for source in group.sources {
                if moved > 0 && moved + source.rows > UpkeepPacer.stepRows { break }
                let (rows, holder) = try move(source, into: target, reuse: true)
                moved += rows
                target = .existing(holder)
            }
            return moved
        }
        if merging { nothingToMergeAt = state }
        if let s = unsummarized(cut: cut) {
            try buildSummary(s)
            return s.rows
        }
        // Then the partials of rollups over the collection (RollupTable).
        for rollup in try collection.rollups() {
            if let rows = try rollup.upkeepStep(collection, cut: cut) { return rows }
        }
        return nil
    }

    // MARK: - merging

    /// shard_merge (in its transaction): merges everything finished before `before`;
    /// returns the rows moved.
    func mergeAll(before: Int64) throws -> Int64 {
        let cut: (String?) -> Int64? = { _ in before }
        var moved: Int64 = 0
        while let group = MergePlan.plan(shards: catalog.shards, collection: name,
                                         mergeRows: options.mergeRows, cut: cut).first {
            // Emptied tables are dropped at the end, so new merged tables get their own.
            var target = group.target
            for source in group.sources {
                let (rows, holder) = try move(source, into: target, reuse: false)
                moved += rows
                target = .existing(holder)
            }
        }
        // Then what the merges left unsummarized.
        while let s = unsummarized(cut: cut) { try buildSummary(s) }
        dropMergedTables()
        return moved
    }

    /// Moves a shard's rows into a merged table (made first when new), keeping their
    /// ids; the catalog maps the shard's number to that table from now on. The shard's
    /// own table is dropped by `dropMergedTables` when SQLite allows. Returns the rows
    /// moved and the table that holds them.
    private func move(_ source: ShardInfo, into target: MergePlan.Target, reuse: Bool) throws -> (Int64, ShardInfo) {
        let t: ShardInfo
        switch target {
        case .existing(let existing): t = existing
        case .new(let key, let period): t = try collection.makeShard(key, period: period, reuse: reuse)
        }
        collection.writer.noteMove()
        let targetStamp = t.changes, targetWasEmpty = t.rows == 0
        try db.exec("INSERT INTO \(qualified(t.tableName))(id, ts, doc) SELECT id, ts, doc FROM \(qualified(source.tableName))")
        let moved = Int64(db.changes)
        // Emptied, the table waits to be dropped or to serve as a new shard's (spareTable).
        try db.exec("DELETE FROM \(qualified(source.tableName))")
        if t.summary != nil { try store.setSummary(shard: t.number, nil) }
        // Memory follows once the database has it all.
        t.rows += moved
        for id in [source.minId, source.maxId].compactMap({ $0 }) {
            t.minId = min(t.minId ?? id, id)
            t.maxId = max(t.maxId ?? id, id)
        }
        for ts in [source.minTs, source.maxTs].compactMap({ $0 }) { t.noteTime(ts) }
        try store.writeCounters(t)
        t.summary = nil
        try catalog.change([source], to: .merged(into: t))
        // Rollups' partials of both follow the rows (RollupTable.carry): nothing is aggregated again.
        for rollup in try collection.rollups() {
            try rollup.carry(source, into: t, targetStamp: targetStamp, targetWasEmpty: targetWasEmpty)
        }
        statements.forgetInsert(shard: source.number)
        mergedTablesLeft = true
        spares?.append(source.tableName)
        return (moved, t)
    }

    /// An emptied table of a merged shard, for a new shard to take over: SQLite drops a
    /// table only while no other statement of the connection reads (so never during a
    /// write), and a collection that merges as it goes then keeps about as many tables
    /// as it needs instead of one per period lived through.
    func takeSpareTable() throws -> String? {
        if spares == nil { spares = try store.mergedTablesLeft().filter { ShardTableName.isShardTable($0, collection: name) } }
        return spares!.popLast()
    }

    /// Drops the tables of merged shards, when SQLite allows: from a function run as a
    /// statement of its own (shard_merge, shard_drop, ...), never during a write or a
    /// read (another statement of the connection reads then). Until then they are
    /// empty, no read looks at them, and new shards take them over (takeSpareTable).
    ///
    /// The list is read in the transaction that drops them (a lifecycle function's,
    /// which holds the write lock): a table that another connection's new shard took
    /// over is off the list by then. Read in one transaction and dropped in another, a
    /// name could belong to a hot shard by the time of the drop.
    func dropMergedTables() {
        guard mergedTablesLeft, !collection.transaction.flushing else { return }
        _ = try? collection.inSavepoint("shards_purge") {
            // Only tables named as the collection's shard tables: never another table.
            let names = try store.mergedTablesLeft().filter { ShardTableName.isShardTable($0, collection: name) }
            spares = names
            for table in names {
                // SQLite refuses while another statement reads: the rest wait.
                guard (try? db.exec(ShardSchema.dropIfExists(schema: schema, table: table))) != nil else { return }
                spares?.removeAll { $0 == table }
            }
            mergedTablesLeft = false
        }
    }

    // MARK: - summaries

    /// A table that stopped receiving rows and has no summary yet: a split with a
    /// newer shard in its line, a merged table, or a table of a finished period.
    private func unsummarized(cut: (String?) -> Int64?) -> ShardInfo? {
        guard !indexedPaths.isEmpty else { return nil }
        return catalog.shards.first { s in
            guard s.isLive, s.summary == nil else { return false }
            if s.key.isMerged || !catalog.isNewestOfLine(s) { return true }
            guard let end = s.period.end, let c = cut(s.key.category) else { return false }
            return end <= c
        }
    }

    /// Reads the values of every indexed path in a table (from its indexes) into its summary.
    func buildSummary(_ s: ShardInfo) throws {
        let paths = indexedPaths.map(\.text)
        var builder = ShardSummary.Builder(paths: paths)
        for (i, path) in paths.enumerated() {
            let stmt = try db.prepare("SELECT DISTINCT json_extract(doc, \(SQLText.literal(path))) FROM \(qualified(s.tableName))")
            while try stmt.step() { builder.add(pathIndex: i, filterValue(stmt.value(0))) }
        }
        let summary = builder.build()
        try store.setSummary(shard: s.number, summary)
        s.summary = summary
    }

    /// A row came into a summarized table (a late document, an update): the summary
    /// is widened to cover it, from the document itself (no read of the table). It is
    /// written at once, in the statement that wrote the row, so that a statement
    /// rolled back takes both back; once the table has seen a row's values the
    /// summary does not change and nothing is written.
    func widenSummary(_ s: ShardInfo, doc: OpaquePointer?) throws {
        guard let summary = s.summary else { return }
        let probe = try statements.summaryProbe(paths: indexedPaths)
        probe.bind(1, doc)
        defer { probe.reset() }
        guard try probe.step() else { return }
        summaryValues.removeAll(keepingCapacity: true)
        for i in 0..<Int32(indexedPaths.count) { summaryValues.append(filterValue(probe.value(i))) }
        guard let wider = summary.widened(pathHashes: statements.summaryHashes, values: summaryValues) else { return }
        try store.setSummary(shard: s.number, wider)
        s.summary = wider
    }

    /// Builds the summaries that ensure_json_index's new path makes incomplete.
    func rebuildSummaries() throws {
        for s in catalog.shards where s.isLive && s.summary != nil { try buildSummary(s) }
    }

    /// Summarizes every table that stopped receiving rows and has no summary yet.
    func summarizeSealed() throws {
        let cut = dataCut()
        while let s = unsummarized(cut: cut) { try buildSummary(s) }
    }
}
