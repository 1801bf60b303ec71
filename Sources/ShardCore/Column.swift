/// A column of a collection's virtual table. In declaration order: id, ts, shard,
/// doc, one per declared index, then the hidden `filter`. Their numbers (see
/// `ColumnLayout`) are what SQLite hands to xBestIndex, xColumn and xUpdate, and
/// what `ScanPlan` terms carry.
public enum Column: Equatable, Sendable {
    case id, ts, shard, doc
    /// The n-th declared index (from 0).
    case index(Int)
    /// The query document (`WHERE filter = '{...}'`), hidden.
    case filter
}

/// The columns of one collection: their numbers, names and SQL inside a shard.
public struct ColumnLayout: Sendable {
    public let indexes: [IndexSpec]
    /// Documents are stored as JSONB, and read back as text with json().
    public let jsonb: Bool

    public init(indexes: [IndexSpec], jsonb: Bool) {
        self.indexes = indexes
        self.jsonb = jsonb
    }

    public var count: Int { 5 + indexes.count }

    /// The column of a number; -1 (SQLite's rowid) is `id`.
    @inline(__always) public func column(_ number: Int) -> Column {
        switch number {
        case ...0: .id
        case 1: .ts
        case 2: .shard
        case 3: .doc
        case 4 + indexes.count: .filter
        default: .index(number - 4)
        }
    }

    @inline(__always) public func number(_ column: Column) -> Int {
        switch column {
        case .id: 0
        case .ts: 1
        case .shard: 2
        case .doc: 3
        case .index(let n): 4 + n
        case .filter: 4 + indexes.count
        }
    }

    public func name(_ column: Column) -> String {
        switch column {
        case .id: "id"
        case .ts: "ts"
        case .shard: "shard"
        case .doc: "doc"
        case .index(let n): indexes[n].name
        case .filter: "filter"
        }
    }

    /// The CREATE TABLE that declares the columns to SQLite.
    public var declaration: String {
        var cols = ["id INTEGER", "ts INTEGER", "shard TEXT", "doc TEXT"]
        cols += indexes.map { SQLText.identifier($0.name) + ($0.type.map { " " + $0.declared } ?? "") }
        cols.append("filter HIDDEN")
        return "CREATE TABLE x(" + cols.joined(separator: ", ") + ")"
    }

    /// The SQL for a column inside a shard. Indexed columns use exactly the
    /// expression of their index, so the shard's planner can match it; `doc` reads
    /// back as text (`reading`) even when stored as JSONB. `shard` and `filter` are
    /// not shard columns: they have none.
    public func expression(_ column: Column, reading: Bool = false) -> String {
        switch column {
        case .id: "id"
        case .ts: "ts"
        case .doc: reading && jsonb ? "json(doc)" : "doc"
        case .index(let n): "json_extract(doc, \(SQLText.literal(indexes[n].path.text)))"
        case .shard, .filter: preconditionFailure("shards: column \(name(column)) has no SQL inside a shard")
        }
    }
}
