/// Where a document goes: its time and its (encoded) category.
public struct Placement: Equatable, Sendable {
    public let ts: Int64
    public let category: String?

    public init(ts: Int64, category: String?) {
        self.ts = ts
        self.category = category
    }
}

/// Picks a document's shard: the newest shard of its line (collection, category,
/// period) while that one has room, else the merged table that holds the period (a
/// late document, below), else the key of the shard to create next.
///
/// Late documents: a document whose period was merged away (its line has no shard
/// that takes rows) goes into the merged table of its category whose period holds
/// its time (`events:2025:01:000` for any day of a merged January), while that table
/// has room. So late rows gather in the few tables that already hold their periods:
/// no table per late document, no merge to wait for, and pruning by time as sharp
/// as the merged table's period and recorded bounds were. Only a period no merged
/// table holds (never merged, or its tables compressed, archived or full) makes a
/// shard of its own, which merging folds in later.
public struct Router {
    public let collection: String
    public let partition: Partition
    public let maxRows: Int64
    public let mergeRows: Int64
    /// Merged tables that may take late documents, by category, as of `homesGeneration`.
    private var lateHomes: [String?: [ShardInfo]] = [:]
    private var homesGeneration = -1
    /// The shard the last routed document went to, valid while the catalog is the
    /// one it came from (`generation`; a newer shard of its line appears only once it is full).
    private var last: ShardInfo?
    private var lastGeneration = 0

    public init(collection: String, options: CollectionOptions) {
        self.collection = collection
        self.partition = options.partition
        self.maxRows = options.maxRows
        self.mergeRows = options.mergeRows
    }

    /// The key a placement routes to now, and the shard if it exists and has room.
    /// `generation` changes whenever the catalog in memory does.
    public mutating func route(_ p: Placement, in catalog: Catalog, generation: Int) -> (key: ShardKey, shard: ShardInfo?) {
        // Most inserts go where the previous one went: no key to build, no lookup.
        if let s = last, lastGeneration == generation, hasRoom(s),
           s.period.contains(p.ts), s.key.category == p.category {
            return (s.key, s)
        }
        let period = partition.period(containing: p.ts)
        let first = ShardKey(collection: collection, category: p.category, period: period.label, seq: 1)
        let newest = catalog.newest(line: first.lineKey)
        guard let newest, hasRoom(newest) else {
            if let home = lateHome(p, in: catalog, generation: generation) { return (home.key, home) }
            return (newest?.key.next ?? first, nil)
        }
        last = newest
        lastGeneration = generation
        return (newest.key, newest)
    }

    /// The merged table that takes a late document at `p`, if one holds its period and has room.
    public mutating func lateHome(_ p: Placement, in catalog: Catalog, generation: Int) -> ShardInfo? {
        if homesGeneration != generation {
            lateHomes = [:]
            for s in catalog.shards where s.key.isMerged && s.isLive && s.state == .hot {
                lateHomes[s.key.category, default: []].append(s)
            }
            homesGeneration = generation
        }
        guard let homes = lateHomes[p.category] else { return nil }
        // State is checked again: a lifecycle call may change it without a new generation.
        for s in homes where s.period.contains(p.ts) && takesLateRows(s) && s.isLive && s.state == .hot { return s }
        return nil
    }

    /// A merged table takes late rows while it is under `merge_rows` and has ids left
    /// below `max_rows` (its own ids: the rows merged into it keep theirs).
    @inline(__always) public func takesLateRows(_ s: ShardInfo) -> Bool {
        s.rows < mergeRows && s.lastLocal < maxRows && s.lastLocal < DocumentId.maxLocal
    }

    /// A shard splits once it has handed out max_rows ids (reserved ones included;
    /// deletes do not make room), so concurrent writers agree on where rows go.
    @inline(__always) public func hasRoom(_ s: ShardInfo) -> Bool {
        s.lastLocal < maxRows && s.lastLocal < DocumentId.maxLocal && s.state == .hot && !s.key.isMerged
    }
}
