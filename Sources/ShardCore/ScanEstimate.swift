/// xBestIndex's estimate of one plan: the rows it returns and what it costs. Only
/// the order between plans matters to SQLite; the constants say how selective each
/// kind of term is taken to be.
public struct ScanEstimate: Equatable, Sendable {
    /// An unconstrained scan is taken to read at least this many rows, so that even a
    /// small collection prefers the plans that push terms into the shards.
    public static let minimumRows: Int64 = 100_000
    /// A query document on `filter`, or a term on `shard`, keeps one row in ten.
    public static let filterSelectivity = 10.0
    public static let shardSelectivity = 10.0
    /// `=`, `IS NULL` or `IN` on ts or an indexed column keeps one row in a hundred.
    public static let equalitySelectivity = 100.0
    /// A range term keeps one row in four.
    public static let rangeSelectivity = 4.0
    /// `id IN (...)` reads at most this many rows.
    public static let idListRows = 10.0

    public private(set) var rows: Double
    /// `id = ?`: at most one row (SQLITE_INDEX_SCAN_UNIQUE).
    public private(set) var unique = false

    /// A full scan of a collection holding `totalRows` rows.
    public init(totalRows: Int64) {
        rows = Double(max(totalRows, Self.minimumRows))
    }

    /// A query document on `filter`.
    public mutating func applyFilter() {
        rows = max(rows / Self.filterSelectivity, 1)
    }

    /// A term the shards answer (or, on `shard`, that prunes them).
    public mutating func apply(_ column: Column, _ op: ScanPlan.Op) {
        switch (column, op) {
        case (.id, .eq): rows = 1; unique = true
        case (.id, .in): rows = min(rows, Self.idListRows)
        case (.shard, _): rows = max(rows / Self.shardSelectivity, 1)
        case (_, .eq), (_, .isnull), (_, .in): rows = max(rows / Self.equalitySelectivity, 1)
        default: rows = max(rows / Self.rangeSelectivity, 1)
        }
    }

    /// `filter` reads NULL where no document was applied, which drops the rows a
    /// document under OR would match. So a plan that reads it without applying one
    /// costs this many times more than any other: SQLite then splits such an OR into
    /// one scan per branch (MULTI-INDEX OR), each handing its document over, whenever
    /// it can.
    public static let unappliedFilterPenalty = 1e6
    public private(set) var readsFilterWithoutDocument = false

    public mutating func readFilterWithoutDocument() {
        readsFilterWithoutDocument = true
    }

    public var estimatedRows: Int64 { Int64(rows) }
    /// Two per row read, plus a fixed cost of opening the scan.
    public var cost: Double { (rows * 2 + 10) * (readsFilterWithoutDocument ? Self.unappliedFilterPenalty : 1) }
}
