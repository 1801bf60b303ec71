import ShardCore

/// Prepared statements kept by SQL text and lent out one user at a time, so that
/// two cursors over the same shard (a self-join) never share a statement. When more
/// than `capacity` wait idle, the least recently used text's are finalized.
final class StatementCache {
    private var idle: [String: [Statement]] = [:]
    private var sqlOf: [ObjectIdentifier: String] = [:]
    private var lastUse: [String: Int] = [:]
    private var clock = 0
    private var count = 0
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    func checkout(_ db: Database, _ sql: String) throws -> Statement {
        clock += 1
        lastUse[sql] = clock
        if var list = idle[sql], let stmt = list.popLast() {
            idle[sql] = list.isEmpty ? nil : list
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
        if count >= capacity { evictLeastRecentlyUsed() }
        idle[sql, default: []].append(stmt)
        count += 1
    }

    private func evictLeastRecentlyUsed() {
        guard let victim = idle.keys.min(by: { lastUse[$0, default: 0] < lastUse[$1, default: 0] }) else { return }
        for s in idle[victim]! { sqlOf[ObjectIdentifier(s)] = nil }
        count -= idle[victim]!.count
        idle[victim] = nil
        lastUse[victim] = nil
    }

    func removeAll() {
        idle.removeAll()
        sqlOf.removeAll()
        lastUse.removeAll()
        count = 0
    }
}
