import ShardCore

/// Prepared statements kept by SQL text and lent out one user at a time, so that
/// two cursors over the same shard (a self-join) never share a statement.
final class StatementCache {
    private var idle: [String: [Statement]] = [:]
    private var sqlOf: [ObjectIdentifier: String] = [:]
    private var count = 0
    /// Past this many idle statements the oldest text's are finalized.
    let capacity: Int

    init(capacity: Int = 512) { self.capacity = capacity }

    func checkout(_ db: Database, _ sql: String) throws -> Statement {
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
        if count >= capacity, let victim = idle.keys.first {
            for s in idle[victim]! { sqlOf[ObjectIdentifier(s)] = nil }
            count -= idle[victim]!.count
            idle[victim] = nil
        }
        idle[sql, default: []].append(stmt)
        count += 1
    }

    func removeAll() {
        idle.removeAll()
        sqlOf.removeAll()
        count = 0
    }
}
