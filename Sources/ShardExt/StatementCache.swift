import ShardCore

/// Prepared statements kept by SQL text and lent out one user at a time, so that
/// two cursors over the same shard (a self-join) never share a statement. When more
/// than `capacity` wait idle, the least recently used text's are finalized, in O(1):
/// a scan over thousands of shards never pays per cached statement.
final class StatementCache {
    private var idle: [String: [Statement]] = [:]
    private var sqlOf: [ObjectIdentifier: String] = [:]
    /// Texts with idle statements, least recently used first.
    private var order = LRUOrder<String>()
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
        if var list = idle[sql], let stmt = list.popLast() {
            if list.isEmpty {
                idle[sql] = nil
                order.remove(sql)
            } else {
                idle[sql] = list
            }
            count -= 1
            return stmt
        }
        let stmt = try db.prepare(sql, persistent: true)
        sqlOf[ObjectIdentifier(stmt)] = sql
        return stmt
    }

    /// Takes a statement back, reset and unbound.
    func checkin(_ stmt: Statement) {
        stmt.reset()
        stmt.clearBindings()
        guard let sql = sqlOf[ObjectIdentifier(stmt)] else { return }
        while count >= capacity, let victim = order.popOldest() { evict(victim) }
        idle[sql, default: []].append(stmt)
        order.use(sql)
        count += 1
    }

    private func evict(_ sql: String) {
        guard let list = idle.removeValue(forKey: sql) else { return }
        for s in list { sqlOf[ObjectIdentifier(s)] = nil }
        count -= list.count
    }

    func removeAll() {
        idle.removeAll()
        sqlOf.removeAll()
        order.removeAll()
        count = 0
    }
}
