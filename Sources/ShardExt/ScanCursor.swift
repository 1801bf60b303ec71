import CShardShim
import ShardCore

/// A scan over the shards a plan selects, one shard statement at a time.
final class ScanCursor {
    let collection: Collection
    private var plan = ScanPlan()
    /// The xFilter arguments, copied: SQLite's own live only during xFilter.
    private var args: [OpaquePointer?] = []
    private var shards: [ShardInfo] = []
    private var position = 0
    private var stmt: Statement?
    private(set) var eof = true
    /// Statement column of each collection column, -1 when not selected.
    private var columnMap: [Int32] = []
    private var template = (head: "", tail: "")
    /// Shards each scan visited, for tests and plans (`shards_debug` does not show it).
    private(set) var visited = 0

    init(collection: Collection) { self.collection = collection }

    deinit { release() }

    /// xFilter: picks the shards and starts on the first one with a row.
    func filter(plan: ScanPlan, argv: ValueArray?, argc: Int32) throws {
        release()
        self.plan = plan
        try collection.refresh()
        for i in 0..<Int(argc) { args.append(api.pointee.value_dup(argv![i])) }

        var pruning = ShardFilter()
        var argIndex = 0
        for term in plan.terms {
            guard term.op.takesArgument else {
                pruning.add(column: term.column, op: term.op, value: .other)
                continue
            }
            pruning.add(column: term.column, op: term.op, value: pruneValue(args[argIndex]))
            argIndex += 1
        }
        shards = collection.catalog.shards.filter { $0.file == nil && pruning.mayContain($0) }
        if plan.order == .idDescending { shards.reverse() }
        columnMap = makeColumnMap()
        template = sqlTemplate()
        position = -1
        eof = false
        try advanceShard()
    }

    private func pruneValue(_ v: OpaquePointer?) -> PruneValue {
        switch valueType(v) {
        case SQLITE_INTEGER: return .integer(valueInt64(v))
        case SQLITE_FLOAT: return .real(valueDouble(v))
        case SQLITE_TEXT: return .text(valueText(v) ?? "")
        default: return .other
        }
    }

    /// Statement columns: id always (it is the rowid), then what the query uses.
    private func makeColumnMap() -> [Int32] {
        let n = collection.columnCount
        var map = [Int32](repeating: -1, count: n)
        map[0] = 0
        var next: Int32 = 1
        for c in 1..<n where c != 2 && c != collection.filterColumn && plan.uses(column: c) {
            map[c] = next
            next += 1
        }
        return map
    }

    /// The SELECT run in each shard, around its table name: the used columns, the
    /// pushed-down terms, the order. Built once per xFilter, not per shard or row.
    private func sqlTemplate() -> (head: String, tail: String) {
        var cols = ["id"]
        for c in 1..<columnMap.count where columnMap[c] >= 0 {
            cols.append(collection.columnExpression(c))
        }
        var conds: [String] = []
        var argNo = 0
        for term in plan.terms {
            if term.op.takesArgument { argNo += 1 }
            // `shard` terms were settled by pruning; arguments keep their xFilter numbers.
            guard term.column != 2 else { continue }
            let lhs = collection.columnExpression(term.column)
            conds.append(term.op.takesArgument ? "\(lhs) \(term.op.sql) ?\(argNo)" : "\(lhs) IS NULL")
        }
        var tail = conds.isEmpty ? "" : " WHERE " + conds.joined(separator: " AND ")
        switch plan.order {
        case .idAscending: tail += " ORDER BY id"
        case .idDescending: tail += " ORDER BY id DESC"
        case .none: break
        }
        return ("SELECT " + cols.joined(separator: ", ") + " FROM ", tail)
    }

    /// Moves to the next shard that has a row; sets eof when there is none.
    private func advanceShard() throws {
        while true {
            if let stmt { collection.statements.checkin(stmt) }
            stmt = nil
            position += 1
            guard position < shards.count else {
                eof = true
                return
            }
            let sql = template.head + collection.qualified(shards[position].tableName) + template.tail
            let s = try collection.statements.checkout(collection.db, sql)
            for i in 0..<args.count { s.bind(Int32(i + 1), args[i]) }
            stmt = s
            visited += 1
            if try s.step() { return }
        }
    }

    /// xNext.
    func next() throws {
        guard let stmt else { eof = true; return }
        if try stmt.step() { return }
        try advanceShard()
    }

    var rowid: Int64 { stmt?.int64(0) ?? 0 }

    /// xColumn.
    func column(_ ctx: OpaquePointer?, _ i: Int) {
        guard let stmt else { return }
        if i == 2 {
            resultText(ctx, shards[position].key.text)
            return
        }
        let c = i < columnMap.count ? columnMap[i] : -1
        if c < 0 {
            api.pointee.result_null(ctx)
        } else {
            api.pointee.result_value(ctx, stmt.value(c))
        }
    }

    private func release() {
        if let stmt { collection.statements.checkin(stmt) }
        stmt = nil
        for a in args { api.pointee.value_free(a) }
        args.removeAll()
        eof = true
    }
}
