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
/// period) while that one has room, else the key of the shard to create next.
public struct Router {
    public let collection: String
    public let partition: Partition
    public let maxRows: Int64
    /// The shard the last routed document went to, valid while the catalog is the
    /// one it came from (`generation`; a newer shard of its line appears only once it is full).
    private var last: ShardInfo?
    private var lastGeneration = 0

    public init(collection: String, options: CollectionOptions) {
        self.collection = collection
        self.partition = options.partition
        self.maxRows = options.maxRows
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
        guard let newest = catalog.newest(line: first.lineKey) else { return (first, nil) }
        if !hasRoom(newest) {
            return (newest.key.next, nil)
        }
        last = newest
        lastGeneration = generation
        return (newest.key, newest)
    }

    /// A shard splits once it has handed out max_rows ids (reserved ones included;
    /// deletes do not make room), so concurrent writers agree on where rows go.
    @inline(__always) public func hasRoom(_ s: ShardInfo) -> Bool {
        s.lastLocal < maxRows && s.lastLocal < DocumentId.maxLocal && s.state == .hot && !s.key.isMerged
    }
}
