import ShardCore

/// Prepared statements kept by SQL text and lent out one user at a time, so that
/// two cursors over the same shard (a self-join) never share a statement. When more
/// than `capacity` wait idle, the least recently used text's are finalized, in O(1):
/// a scan over thousands of shards never pays per cached statement.
///
/// A lending hashes the text once; the return finds the text's entry by the
/// statement's identity, not by hashing the text again.
final class StatementCache {
    /// The statements of one SQL text: idle ones, and how many are lent out.
    private final class Entry: Hashable {
        let sql: String
        var idle: [Statement] = []
        var out = 0
        init(sql: String) { self.sql = sql }
        static func == (a: Entry, b: Entry) -> Bool { a === b }
        func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
    }
    private var entries: [String: Entry] = [:]
    private var entryOf: [ObjectIdentifier: Entry] = [:]
    /// Entries with idle statements, least recently used first.
    private var order = LRUOrder<Entry>()
    private var count = 0
    /// At least `minimumCapacity`; the collection raises it with its shard count
    /// (`fit(shards:)`), so one scan of every shard does not evict its own statements.
    private(set) var capacity: Int
    let minimumCapacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
        minimumCapacity = capacity
    }

    /// Room for a few statements per shard: the scans of a handful of query shapes.
    func fit(shards: Int) {
        capacity = max(minimumCapacity, shards * 8)
    }

    func checkout(_ db: Database, _ sql: String) throws -> Statement {
        if let entry = entries[sql], let stmt = entry.idle.popLast() {
            if entry.idle.isEmpty { order.remove(entry) }
            entry.out += 1
            count -= 1
            return stmt
        }
        let stmt = try db.prepare(sql, persistent: true)
        let entry = entries[sql] ?? Entry(sql: sql)
        entries[sql] = entry
        entry.out += 1
        entryOf[ObjectIdentifier(stmt)] = entry
        return stmt
    }

    /// Takes a statement back, reset and unbound.
    func checkin(_ stmt: Statement) {
        stmt.reset()
        stmt.clearBindings()
        guard let entry = entryOf[ObjectIdentifier(stmt)] else { return }
        entry.out -= 1
        while count >= capacity, let victim = order.popOldest() { evict(victim) }
        entry.idle.append(stmt)
        order.use(entry)
        count += 1
    }

    private func evict(_ entry: Entry) {
        for s in entry.idle { entryOf[ObjectIdentifier(s)] = nil }
        count -= entry.idle.count
        entry.idle.removeAll()
        // One with statements out stays, to take them back.
        if entry.out == 0 { entries[entry.sql] = nil }
    }

    func removeAll() {
        entries.removeAll()
        entryOf.removeAll()
        order.removeAll()
        count = 0
    }
}
