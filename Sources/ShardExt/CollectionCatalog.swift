import CShardShim
import ShardCore

/// The collection's catalog in memory and its one owner: the shards (`Catalog`), the
/// generation that moves whenever they change, the next shard number, the indexed
/// paths, and the `data_version` memory was read at. Its statements are
/// `CatalogStore`'s.
///
/// A shard changes state only through `change(_:to:)`, which writes the catalog row,
/// then memory, then moves the generation, all three or (on a failed write) none:
/// the router's remembered shard and merge planning trust the generation, and reads
/// trust memory. A new shard is recorded by `record(_:)`; `reload` replaces memory
/// with what the tables say.
final class CollectionCatalog {
    /// Every statement on the catalog tables.
    let store: CatalogStore
    private let name: String
    private(set) var memory = Catalog()
    /// The shards in memory, in number (id) order.
    var shards: [ShardInfo] { memory.shards }
    /// Moves whenever the shards in memory change state or set (a new shard of a line
    /// appears only once the last is full, so adding one does not move it).
    private(set) var generation = 0
    private(set) var nextNumber: Int64 = 1
    /// Paths indexed on every shard: the declared ones, then those added by ensure_json_index.
    private(set) var indexedPaths: [JSONPath]
    /// The database's `data_version` when memory was last read (-1: never).
    var dataVersion: Int64 = -1
    /// Shards whose counters this transaction changed and that left memory (merged,
    /// purged): if a ROLLBACK TO brings them back, they are counted again like dirty ones.
    private(set) var recountAfterRollback = Set<Int64>()
    /// Picks each document's shard; remembers the last one while the generation holds.
    private var router: Router

    init(store: CatalogStore, name: String, options: CollectionOptions) {
        self.store = store
        self.name = name
        self.indexedPaths = options.indexes.map(\.path)
        self.router = Router(collection: name, options: options)
    }

    // MARK: - reading memory

    @inline(__always) func shard(number n: Int64) -> ShardInfo? { memory.shard(number: n) }
    @inline(__always) func newest(line: ShardKey.Line) -> ShardInfo? { memory.newest(line: line) }
    func isNewestOfLine(_ s: ShardInfo) -> Bool { memory.isNewestOfLine(s) }
    func ended(by ms: Int64) -> [ShardInfo] { memory.ended(by: ms) }
    func liveEnded(by ms: Int64) -> [ShardInfo] { memory.liveEnded(by: ms) }
    var totalRows: Int64 { memory.totalRows }
    var dirtyShards: [ShardInfo] { memory.dirtyShards }

    /// The key a placement routes to now, and the shard if it exists and has room.
    @inline(__always) func route(_ p: Placement) -> (key: ShardKey, shard: ShardInfo?) {
        router.route(p, in: memory, generation: generation)
    }

    func hasRoom(_ s: ShardInfo) -> Bool { router.hasRoom(s) }

    /// The shard whose table holds the ids of shard number `n`: itself, or the table it
    /// was merged into. Shards merged before this connection read the catalog are not
    /// in memory (see `CatalogStore.shards`): the catalog table says where they went.
    func holder(ofShard n: Int64) throws -> ShardInfo? {
        if let s = memory.shard(number: n) { return s }
        guard let into = try store.mergedInto(n) else { return nil }
        return memory.shard(number: into)
    }

    // MARK: - changing it

    /// What a shard becomes.
    enum StateChange {
        /// shard_compress: its rows are in its block table now.
        case compressed
        /// shard_drop, retain: out of the collection; its table waits to be dropped.
        case retired
        /// shard_archive: its rows are in `file`.
        case archived(file: String)
        /// A merge: its rows (and ids) are in `into`'s table from now on.
        case merged(into: ShardInfo)
        /// Its table is dropped: the row goes, and memory forgets it.
        case purged
    }

    /// Changes the state of `shards`: their catalog rows first (an error leaves memory
    /// as it was), then memory, then the generation. The one place a shard's state
    /// changes after it was made.
    func change(_ changed: [ShardInfo], to change: StateChange) throws {
        guard !changed.isEmpty else { return }
        for s in changed {
            switch change {
            case .compressed: try store.setState(.compressed, shard: s.number)
            case .retired: try store.setState(s.isCompressed ? .retiredCompressed : .retired, shard: s.number)
            case .archived(let file): try store.setArchived(shard: s.number, file: file)
            case .merged(let into): try store.markMerged(shard: s.number, into: into.number)
            case .purged: try store.deleteShard(s.number)
            }
        }
        switch change {
        case .compressed:
            for s in changed { s.state = .compressed }
        case .retired:
            // (Dirty counters stay dirty: a ROLLBACK TO that brings the shards back counts them again.)
            for s in changed { s.state = s.isCompressed ? .retiredCompressed : .retired }
        case .archived(let file):
            for s in changed {
                s.state = .archived
                s.file = file
            }
        case .merged(let into):
            // A statement that fails after this merge undoes it: the shard is live again,
            // and its counters must then be counted again (see reload).
            for s in changed where s.dirty { recountAfterRollback.insert(s.number) }
            for s in changed { s.dirty = false }
            memory.merge(changed, into: into)
        case .purged:
            // A ROLLBACK TO may bring them back, with counters this transaction changed.
            recountAfterRollback.formUnion(changed.filter(\.dirty).map(\.number))
            memory.remove(numbers: Set(changed.map(\.number)))
        }
        generation += 1
    }

    /// The number the next new shard takes; refused once none is left.
    func numberForNewShard() throws -> Int64 {
        guard nextNumber <= DocumentId.maxShardNumber else {
            throw ShardError("collection '\(name)' has used all \(DocumentId.maxShardNumber) shard numbers")
        }
        return nextNumber
    }

    /// A new shard (its table made): its row and the next number in the catalog, then memory.
    func record(_ shard: ShardInfo) throws {
        try store.insertShard(shard)
        try store.setNextNumber(shard.number + 1)
        nextNumber = shard.number + 1
        memory.add(shard)
    }

    /// ensure_json_index's new path: recorded for future shards.
    func recordIndexedPath(_ path: JSONPath) throws {
        guard !indexedPaths.contains(path) else { return }
        try store.recordIndexedPath(path.text)
        indexedPaths.append(path)
    }

    /// Replaces memory with what the catalog tables say, after checking every row.
    /// Returns the shards whose counters this connection had changed and not written
    /// (dirty, or taken out of memory since): their rows must be counted again.
    func reload(declared: [JSONPath]) throws -> [ShardInfo] {
        let dirty = Set(memory.dirtyShards.map(\.number)).union(recountAfterRollback)
        var loaded: [ShardInfo] = []
        let rows = try store.shards()
        for row in rows {
            // Merged tables carry coarser periods than the partition's.
            guard let period = Partition.level(ofLabel: row.period).period(label: row.period) else {
                throw ShardError("catalog of '\(name)' holds a bad period '\(row.period)'")
            }
            guard let state = row.state else {
                throw ShardError("catalog of '\(name)' holds a bad state for shard \(row.number)")
            }
            let key = ShardKey(collection: name, category: row.category, period: row.period, seq: row.seq, part: row.part)
            let shard = ShardInfo(
                key: key, number: row.number, period: period, rows: row.rows, lastLocal: row.lastLocal,
                minId: row.minId, maxId: row.maxId, minTs: row.minTs, maxTs: row.maxTs, state: state, file: row.file,
                mergedInto: row.mergedInto, tableName: row.table)
            shard.summary = row.summary.flatMap { ShardSummary(encoded: $0, shard: row.number) }
            shard.changes = row.changes
            try CatalogCheck.check(collection: name, shard)
            loaded.append(shard)
        }
        let next = try store.nextNumber()
        try CatalogCheck.check(collection: name, nextNumber: next, highest: try store.highestNumber())
        let catalog = Catalog(loaded)
        try CatalogCheck.check(collection: name, mergeTargets: try store.mergeTargets(), in: catalog)
        var paths = declared
        for text in try store.indexedPaths() {
            if let p = try? JSONPath(parsing: text), !paths.contains(p) { paths.append(p) }
        }
        memory = catalog
        generation += 1
        nextNumber = next
        indexedPaths = paths
        return memory.shards.filter { dirty.contains($0.number) }
    }

    /// The shards `reload` returned were counted again.
    func recounted() { recountAfterRollback.removeAll() }

    /// xCommit, xRollback: memory and database agree (or memory is stale and will be
    /// read again): nothing is left to write back.
    func settled() {
        for s in memory.dirtyShards { s.dirty = false }
        recountAfterRollback.removeAll()
    }
}
