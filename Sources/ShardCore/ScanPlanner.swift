/// xBestIndex's decision, without SQLite: which of the constraints SQLite offers the
/// shards answer, the plan xFilter gets (`ScanPlan`, as idxStr), and its estimate.
///
/// - `id`, `ts` and indexed columns: =, <, <=, >, >=, IS NULL and IN (handed over
///   whole) run inside each shard with the same comparison rules, so SQLite does not
///   test them again. Indexed columns need the BINARY collation for that.
/// - `shard`: =, IN, LIKE and GLOB prune shards in memory; SQLite still tests them,
///   so LIMIT and OFFSET are not pushed down with them.
/// - `filter`: a query document (`=` only), compiled to SQL for each shard.
/// - ORDER BY id or ts (then id), either direction, is consumed; LIMIT and OFFSET
///   then cap the rows read.
public struct ScanPlanner {
    /// A constraint's operator, as far as the planner tells them apart.
    public enum Op: Sendable { case eq, gt, ge, lt, le, isnull, like, glob, ne, `is`, isnot, limit, offset, other }

    /// One constraint SQLite offers (`sqlite3_index_info.aConstraint`).
    public struct Constraint: Sendable {
        /// SQLite's column number: -1 for the rowid.
        public let column: Int
        public let op: Op
        public let usable: Bool
        /// Compared with the BINARY collation.
        public let binary: Bool
        /// An `=` that is an IN list SQLite can hand over whole (sqlite3_vtab_in).
        public let wholeIn: Bool

        public init(column: Int, op: Op, usable: Bool = true, binary: Bool = true, wholeIn: Bool = false) {
            self.column = column
            self.op = op
            self.usable = usable
            self.binary = binary
            self.wholeIn = wholeIn
        }
    }

    /// What the planner does with one constraint (`aConstraintUsage`).
    public struct Usage: Equatable, Sendable {
        /// The xFilter argument it becomes, from 1; 0 for none.
        public var argvIndex: Int32 = 0
        /// SQLite need not test it again.
        public var omit = false
        /// Its IN list is handed over whole (sqlite3_vtab_in with 1).
        public var wholeIn = false
    }

    public struct OrderTerm: Sendable {
        public let column: Int
        public let descending: Bool
        public init(column: Int, descending: Bool) {
            self.column = column
            self.descending = descending
        }
    }

    public private(set) var plan: ScanPlan
    public private(set) var usage: [Usage]
    public private(set) var estimate: ScanEstimate
    private var argumentCount: Int32 = 0

    public init(columns: ColumnLayout, columnsUsed: UInt64, totalRows: Int64,
                constraints: [Constraint], orderBy: [OrderTerm]) throws {
        plan = ScanPlan(columnsUsed: columnsUsed)
        usage = Array(repeating: Usage(), count: constraints.count)
        estimate = ScanEstimate(totalRows: totalRows)
        var limitTerms: [(Int, ScanPlan.Op)] = []
        var allUsed = true
        for (i, c) in constraints.enumerated() {
            // `filter != D` and `filter IS [NOT] D` mean a test of D, which only `=` hands
            // over; read as NULL they would silently match nothing.
            if c.column >= 0 && columns.column(c.column) == .filter && [.ne, .is, .isnot].contains(c.op) {
                throw ShardError("filter takes a query document with '=': WHERE filter = '{...}'; "
                    + "for a negation put $ne or $nin inside the document")
            }
            let column = max(c.column, 0)
            // (An instance declared before a rolled-back ensure_json_index may name a
            // column the collection no longer has; SQLite tests that constraint itself.)
            guard columns.has(column) else { allUsed = false; continue }
            let kind = columns.column(column)
            guard c.usable else {
                if c.op != .limit && c.op != .offset { allUsed = false }
                continue
            }
            if c.op == .limit || c.op == .offset {
                limitTerms.append((i, c.op == .limit ? .limit : .offset))
                continue
            }
            if kind == .filter {
                guard c.op == .eq else { allUsed = false; continue }
                use(i, column, .match, omit: true)
                estimate.applyFilter()
                continue
            }
            guard kind != .doc, c.binary || kind == .id || kind == .ts, var op = Self.scanOp(c.op, shard: kind == .shard) else {
                allUsed = false
                continue
            }
            if op == .eq && c.wholeIn {
                usage[i].wholeIn = true
                op = .in
            }
            // `shard` terms only prune (a LIKE or GLOB pattern by its prefix): SQLite tests
            // them again, so the scan's rows are not the query's rows and LIMIT stays up.
            use(i, column, op, omit: kind != .shard)
            if kind == .shard { allUsed = false }
            estimate.apply(kind, op)
        }
        plan.order = Self.order(orderBy, columns: columns)
        // LIMIT/OFFSET count rows only when every term is handled by the shards (none is
        // left for SQLite to test) and the rows come out in the order the query asks for.
        if allUsed && (orderBy.isEmpty || plan.order != .none) {
            for (i, op) in limitTerms { use(i, -1, op, omit: false) }
        }
        if plan.uses(column: columns.number(.filter)) && !plan.terms.contains(where: { $0.op == .match }) {
            estimate.readFilterWithoutDocument()
        }
    }

    /// Whether the plan returns rows in the ORDER BY's order (SQLite need not sort).
    public var orderConsumed: Bool { plan.order != .none }

    private mutating func use(_ i: Int, _ column: Int, _ op: ScanPlan.Op, omit: Bool) {
        plan.terms.append(ScanPlan.Term(column: column, op: op))
        if op.takesArgument {
            argumentCount += 1
            usage[i].argvIndex = argumentCount
        }
        if omit { usage[i].omit = true }
    }

    /// ORDER BY id, or ts then id, in one direction; anything else is SQLite's to sort.
    private static func order(_ orderBy: [OrderTerm], columns: ColumnLayout) -> ScanPlan.Order {
        guard let o = orderBy.first else { return .none }
        let first = columns.column(max(o.column, 0))
        let thenId = orderBy.count == 1 || (orderBy.count == 2 && orderBy[1].column <= 0 && orderBy[1].descending == o.descending)
        if first == .id && orderBy.count == 1 { return o.descending ? .idDescending : .idAscending }
        if first == .ts && thenId { return o.descending ? .tsDescending : .tsAscending }
        return .none
    }

    private static func scanOp(_ op: Op, shard: Bool) -> ScanPlan.Op? {
        switch op {
        case .eq: .eq
        case .like where shard: .like
        case .glob where shard: .glob
        case _ where shard: nil
        case .gt: .gt
        case .ge: .ge
        case .lt: .lt
        case .le: .le
        case .isnull: .isnull
        default: nil
        }
    }
}
