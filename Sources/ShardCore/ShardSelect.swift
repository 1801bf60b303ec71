/// The SELECT a scan runs in every shard it visits, built once per xFilter and
/// split around the shard's table name: `head + <table> + tail`.
///
/// Statement columns: id first (the rowid), ts when the query uses it or the scan
/// merges shards on it, then every other column the query uses; `columnMap` gives
/// each collection column's statement column, -1 when not selected.
///
/// Its parameters are numbered as `ScanNumbering` says (`ScanRequest` binds them).
public struct ShardSelect: Equatable, Sendable {
    /// One term of the WHERE clause, and which end of the scan's ts range it bounds
    /// (a numeric ts comparison): implied in a shard whose whole span lies inside that
    /// end, and left out of that shard's SQL.
    public struct Condition: Equatable, Sendable {
        public let sql: String
        public let timeBound: TimeBound

        public init(_ sql: String, timeBound: TimeBound = []) {
            self.sql = sql
            self.timeBound = timeBound
        }
    }

    /// The first equality on an indexed path: its path's hash and its parameter, the
    /// probe that lets a compressed block's filter skip the block.
    public struct BlockProbe: Equatable, Sendable {
        public let pathHash: UInt64
        public let parameter: Int

        public init(pathHash: UInt64, parameter: Int) {
            self.pathHash = pathHash
            self.parameter = parameter
        }
    }

    public private(set) var columnMap: [Int32] = []
    /// `SELECT <columns> FROM `.
    public private(set) var head = ""
    /// WHERE, ORDER BY and LIMIT of a shard's own table, by the ends of the ts range
    /// the shard's span lies inside (`TimeBound.rawValue`): without the terms of those ends.
    private var tails: [String] = ["", "", "", ""]
    public var tail: String { tails[0] }
    public func tail(covering covered: TimeBound) -> String { tails[covered.rawValue] }
    /// For a compressed shard's block table: its blocks, joined with their rows,
    /// skipping blocks outside the id and ts bounds.
    public private(set) var compressedTail = ""
    /// For a compressed shard read block by block (an ordered scan, or one with a block
    /// probe): each block within the bounds, its range in the scan's order (ts, or id)
    /// and its rowid, by the range's lower end, as `blockRangesHead + <table> +
    /// blockRangesTail`; with a probe, then the block's keys and the probe's value, so
    /// the scan skips the blocks the filter rules out without loading their data. The
    /// scan reads each remaining block alone with `blockTail`, given its rowid.
    public private(set) var blockRangesHead = ""
    public private(set) var blockRangesTail = ""
    /// `compressedTail` for one block, by its rowid.
    public private(set) var blockTail = ""

    public init() {}

    public init(plan: ScanPlan, columns: ColumnLayout, conditions: [Condition], numbering: ScanNumbering,
                blockProbe: BlockProbe?) {
        columnMap = Self.columnMap(plan: plan, columns: columns)
        var cols = ["id"]
        for c in 1..<columnMap.count where columnMap[c] >= 0 {
            cols.append(columns.expression(columns.column(c), reading: true))
        }
        head = "SELECT " + cols.joined(separator: ", ") + " FROM "
        let order: String
        switch plan.order {
        case .idAscending: order = " ORDER BY id"
        case .idDescending: order = " ORDER BY id DESC"
        case .tsAscending: order = " ORDER BY ts, id"
        case .tsDescending: order = " ORDER BY ts DESC, id DESC"
        case .none: order = ""
        }
        func whereClause(_ conds: [String]) -> String {
            conds.isEmpty ? "" : " WHERE " + conds.joined(separator: " AND ")
        }
        // No shard gives more than LIMIT + OFFSET rows: a shard that must sort (no
        // index in that order, or a compressed one) keeps only the first ones. The
        // limit is bound, not written into the SQL: one statement per shard serves
        // every LIMIT, instead of one more in the statement cache per value.
        let orderAndLimit = order + (numbering.cap.map { " LIMIT " + SQLText.parameter($0) } ?? "")
        for covered in 0..<tails.count {
            let implied = TimeBound(rawValue: covered)
            let kept = conditions.filter { $0.timeBound.isEmpty || !implied.isSuperset(of: $0.timeBound) }
            tails[covered] = whereClause(kept.map(\.sql)) + orderAndLimit
        }
        let p = SQLText.parameter
        let n = numbering
        let blocks = "z.last_id >= \(p(n.lowestId)) AND z.first_id <= \(p(n.highestId)) AND z.max_ts >= \(p(n.lowestTs)) AND z.min_ts <= \(p(n.highestTs))"
        let rows = blockProbe.map { "shards_block(z.data, z.keys, \(Int64(bitPattern: $0.pathHash)), \(p($0.parameter)))" }
            ?? "shards_block(z.data)"
        compressedTail = " AS z, \(rows)" + whereClause([blocks] + conditions.map(\.sql)) + orderAndLimit
        blockTail = " AS z, \(rows)" + whereClause(["z.block = \(p(n.block))"] + conditions.map(\.sql)) + orderAndLimit
        // Without a probe, the index on (min_ts, max_ts, first_id, last_id), when the
        // table has it, covers this.
        blockRangesHead = "SELECT " + (plan.order.byTime ? "min_ts, max_ts" : "first_id, last_id") + ", block"
            + (blockProbe.map { ", keys, \(p($0.parameter))" } ?? "") + " FROM "
        blockRangesTail = " AS z WHERE " + blocks + " ORDER BY 1"
    }

    /// Statement column of each collection column, -1 when not selected.
    static func columnMap(plan: ScanPlan, columns: ColumnLayout) -> [Int32] {
        var map = [Int32](repeating: -1, count: columns.count)
        map[0] = 0
        var next: Int32 = 1
        for c in 1..<columns.count {
            switch columns.column(c) {
            case .shard, .filter: continue
            case .ts where plan.order.byTime: break
            default: guard plan.uses(column: c) else { continue }
            }
            map[c] = next
            next += 1
        }
        return map
    }
}

/// The ends of a scan's ts range: those a condition bounds, or those a shard's span
/// lies inside.
public struct TimeBound: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// `ts > ?`, `ts >= ?` (and `ts = ?`).
    public static let lower = TimeBound(rawValue: 1)
    /// `ts < ?`, `ts <= ?` (and `ts = ?`).
    public static let upper = TimeBound(rawValue: 2)
}
