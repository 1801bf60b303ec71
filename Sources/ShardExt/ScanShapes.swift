import ShardCore

/// The SQL a scan of one shape runs in the shards it visits, kept across scans. A
/// query run again (a statement stepped in a loop, a host repeating its query) then
/// neither decodes its plan, nor rebuilds its SELECT, nor the text of each shard's
/// statement: on a lookup that visits two shards, that text was most of the cost of
/// the visit.
final class ScanShape {
    let select: ShardSelect
    /// The statement text for each stored table, one map per tail kind.
    private var sqlOf: [[String: String]] = Array(repeating: [:], count: 7)

    init(select: ShardSelect) { self.select = select }

    /// The first four: a shard's own table, by the ends of the scan's ts range its span
    /// lies inside (`TimeBound`). `blockRanges` is the query of a compressed shard's
    /// block ranges, not a SELECT of rows.
    enum Tail: Int {
        case plain = 0, insideLowerTime, insideUpperTime, insideTime, compressed, block, blockRanges

        static func rows(inside covered: TimeBound) -> Tail { Tail(rawValue: covered.rawValue)! }
    }

    /// The statement for one of the collection's own tables.
    func sql(table: String, tail: Tail, in collection: ShardedCollection) -> String {
        if let sql = sqlOf[tail.rawValue][table] { return sql }
        let sql = head(of: tail) + collection.qualified(table) + text(of: tail)
        // Tables come and go with merges and retention; a map that outgrew the
        // collection starts again.
        if sqlOf[tail.rawValue].count >= 4 * collection.catalog.shards.count + 64 { sqlOf[tail.rawValue].removeAll() }
        sqlOf[tail.rawValue][table] = sql
        return sql
    }

    /// The statement for a table given by its qualified name (an archive's), not kept.
    func sql(qualifiedTable: String, tail: Tail) -> String {
        head(of: tail) + qualifiedTable + text(of: tail)
    }

    private func head(of tail: Tail) -> String {
        tail == .blockRanges ? select.blockRangesHead : select.head
    }

    private func text(of tail: Tail) -> String {
        switch tail {
        case .plain, .insideLowerTime, .insideUpperTime, .insideTime: select.tail(covering: TimeBound(rawValue: tail.rawValue))
        case .compressed: select.compressedTail
        case .block: select.blockTail
        case .blockRanges: select.blockRangesTail
        }
    }
}

/// A collection's decoded plans (by idxStr) and scan shapes (by a key naming all that
/// shapes the SELECT). Both stay small: a connection runs a handful of query shapes;
/// past `limit` distinct ones, each map starts again.
final class ScanShapes {
    private var plans: [String: ScanPlan] = [:]
    private var shapes: [String: ScanShape] = [:]
    static let limit = 256

    /// The plan xBestIndex encoded in `idxStr`, and that text (the start of a shape's key).
    func plan(_ idxStr: UnsafePointer<CChar>) -> (plan: ScanPlan, encoded: String)? {
        let encoded = String(cString: idxStr)
        if let plan = plans[encoded] { return (plan, encoded) }
        guard let plan = ScanPlan(encoded: encoded) else { return nil }
        if plans.count >= Self.limit { plans.removeAll() }
        plans[encoded] = plan
        return (plan, encoded)
    }

    /// Forgets every shape: the columns or the storage they were built for changed.
    func removeShapes() { shapes.removeAll() }

    func shape(key: String, make: () -> ShardSelect) -> ScanShape {
        if let shape = shapes[key] { return shape }
        let shape = ScanShape(select: make())
        if shapes.count >= Self.limit { shapes.removeAll() }
        shapes[key] = shape
        return shape
    }
}
