/// A column of a collection's virtual table. In declaration order: id, ts, shard,
/// doc, one per declared index, the hidden `filter`, then one per column added
/// later by ensure_json_index. Their numbers (see `ColumnLayout`) are what SQLite
/// hands to xBestIndex, xColumn and xUpdate, and what `ScanPlan` terms carry; added
/// columns come after `filter` so that adding one renumbers nothing.
public enum Column: Equatable, Sendable {
    case id, ts, shard, doc
    /// The n-th index column (from 0): the declared ones, then the added ones.
    case index(Int)
    /// The query document (`WHERE filter = '{...}'`), hidden.
    case filter
}

/// The columns of one collection: their numbers, names and SQL inside a shard.
public struct ColumnLayout: Equatable, Sendable {
    /// The index columns: those of the `index` option, then those ensure_json_index added.
    public let indexes: [IndexSpec]
    /// How many of `indexes` the `index` option declared.
    public let declaredCount: Int
    /// Documents are stored as JSONB, and read back as text with json().
    public let jsonb: Bool

    public init(indexes: [IndexSpec], added: [IndexSpec] = [], jsonb: Bool) {
        self.indexes = indexes + added
        self.declaredCount = indexes.count
        self.jsonb = jsonb
    }

    public var count: Int { 5 + indexes.count }

    /// Whether `number` is a column of this layout (a statement prepared on a
    /// narrower layout never names a wider one's; a wider one's may name more).
    @inline(__always) public func has(_ number: Int) -> Bool { number < count }

    /// The column of a number; -1 (SQLite's rowid) is `id`.
    @inline(__always) public func column(_ number: Int) -> Column {
        switch number {
        case ...0: .id
        case 1: .ts
        case 2: .shard
        case 3: .doc
        case 4 + declaredCount: .filter
        case ..<(4 + declaredCount): .index(number - 4)
        default: .index(number - 5)
        }
    }

    @inline(__always) public func number(_ column: Column) -> Int {
        switch column {
        case .id: 0
        case .ts: 1
        case .shard: 2
        case .doc: 3
        case .index(let n): n < declaredCount ? 4 + n : 5 + n
        case .filter: 4 + declaredCount
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
        func column(_ spec: IndexSpec) -> String { SQLText.identifier(spec.name) + (spec.type.map { " " + $0.declared } ?? "") }
        var cols = ["id INTEGER", "ts INTEGER", "shard TEXT", "doc TEXT"]
        cols += indexes[..<declaredCount].map(column)
        cols.append("filter HIDDEN")
        cols += indexes[declaredCount...].map(column)
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
