/// Partial aggregates of a rollup's buckets, combined across shards in Swift with
/// SQLite's own rules, so the result equals one `GROUP BY` over every document:
/// `count(*)`; `sum` and `avg` as an integer sum while every part is one (an overflow
/// is SQLite's "integer overflow" error), a real one once any part is real; `min` and
/// `max` in SQLite's order of values. Each shard's part comes from SQL run inside
/// SQLite over the shard (`RollupSelect`).

/// A value as SQLite stores it, owned, ordered as SQLite orders values (NULL, then
/// numbers by value, then text byte by byte, then blobs). Integers and reals of equal
/// value are one group key, as in GROUP BY.
public enum RollupValue: Hashable, Comparable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text([UInt8])
    case blob([UInt8])

    private var rank: Int {
        switch self {
        case .null: 0
        case .integer, .real: 1
        case .text: 2
        case .blob: 3
        }
    }

    public static func < (a: RollupValue, b: RollupValue) -> Bool {
        if a.rank != b.rank { return a.rank < b.rank }
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y
        case (.real(let x), .real(let y)): return x < y
        case (.integer(let x), .real(let y)): return SummaryValue.compare(x, y) < 0
        case (.real(let x), .integer(let y)): return SummaryValue.compare(y, x) > 0
        case (.text(let x), .text(let y)), (.blob(let x), .blob(let y)): return x.lexicographicallyPrecedes(y)
        default: return false
        }
    }

    public static func == (a: RollupValue, b: RollupValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.integer(let x), .integer(let y)): return x == y
        case (.real(let x), .real(let y)): return x == y
        case (.integer(let x), .real(let y)), (.real(let y), .integer(let x)): return SummaryValue.compare(x, y) == 0
        case (.text(let x), .text(let y)), (.blob(let x), .blob(let y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: Self.hashNull(into: &h)
        case .integer(let i): Self.hash(integer: i, into: &h)
        case .real(let d): Self.hash(real: d, into: &h)
        case .text(let t): t.withUnsafeBytes { Self.hash(text: $0, into: &h) }
        case .blob(let b): b.withUnsafeBytes { Self.hash(blob: $0, into: &h) }
        }
    }

    // A value's hash from its parts: integers and reals of equal value hash alike.
    @inline(__always) public static func hashNull(into h: inout Hasher) { h.combine(0) }
    @inline(__always) public static func hash(integer i: Int64, into h: inout Hasher) { h.combine(1); h.combine(i) }
    @inline(__always) public static func hash(real d: Double, into h: inout Hasher) {
        h.combine(1)
        // A real equal to an integer hashes as that integer.
        if d >= -9.2233720368547758e18 && d < 9.2233720368547758e18, d == d.rounded(.towardZero) { h.combine(Int64(d)) } else { h.combine(d) }
    }
    // The bytes at once (an array's own hash takes them one by one).
    @inline(__always) public static func hash(text t: UnsafeRawBufferPointer, into h: inout Hasher) {
        h.combine(2); h.combine(t.count); h.combine(bytes: t)
    }
    @inline(__always) public static func hash(blob b: UnsafeRawBufferPointer, into h: inout Hasher) {
        h.combine(3); h.combine(b.count); h.combine(bytes: b)
    }
}

/// A bucket of a rollup and its group values: the key partials combine on.
public struct RollupKey: Hashable, Sendable {
    public let bucket: Int64
    public let groups: [RollupValue]

    public init(bucket: Int64, groups: [RollupValue]) {
        self.bucket = bucket
        self.groups = groups
    }

}

/// One measure's part of a bucket.
public enum RollupPart: Equatable, Sendable {
    /// sum and avg: the non-NULL values counted and their sum (SQL's `sum`: integer,
    /// real, or NULL when there was none).
    case sum(count: Int64, total: RollupValue)
    /// min or max: SQL's `min` / `max` of the part (NULL when every value was NULL).
    case extreme(RollupValue)
    /// distinct and quantile: the part's sketch (from its serialized state).
    case distinct(DistinctSketch)
    case quantile(QuantileSketch)
    /// distinct and quantile as a shard's row gave it: the state's bytes, read only
    /// when the part is combined with another or answered, and handed out unchanged
    /// as the `<measure>_state` column (a month of daily states goes to
    /// `shards_distinct` as stored, which checks and merges each once).
    case stored([UInt8])

    /// Adds another part of the same measure.
    public mutating func combine(_ other: RollupPart, kind: RollupMeasure.Kind) throws {
        switch (self, other) {
        case (.sum(let c1, let t1), .sum(let c2, let t2)):
            self = .sum(count: c1 + c2, total: try Self.add(t1, t2))
        case (.extreme(let a), .extreme(let b)):
            if case .null = a { self = .extreme(b); return }
            if case .null = b { return }
            let takeB = kind == .min ? b < a : a < b
            if takeB { self = .extreme(b) }
        case (.distinct(var a), .distinct(let b)):
            self = .null
            a.merge(b)
            self = .distinct(a)
        case (.quantile(var a), .quantile(let b)):
            self = .null
            a.merge(b)
            self = .quantile(a)
        case (.stored, _), (_, .stored):
            var read = try self.read(kind: kind)
            try read.combine(try other.read(kind: kind), kind: kind)
            self = read
        default:
            throw ShardError("internal error: rollup parts of different kinds")
        }
    }

    /// SQL's sum of two sums: NULL is none, integers stay integers unless they overflow.
    static func add(_ a: RollupValue, _ b: RollupValue) throws -> RollupValue {
        switch (a, b) {
        case (.null, _): return b
        case (_, .null): return a
        case (.integer(let x), .integer(let y)):
            let (s, overflow) = x.addingReportingOverflow(y)
            if overflow { throw ShardError("integer overflow") }
            return .integer(s)
        default: return .real(a.asDouble + b.asDouble)
        }
    }

    /// A stored state as the sketch of its measure; any other part as it is.
    func read(kind: RollupMeasure.Kind) throws -> RollupPart {
        guard case .stored(let bytes) = self else { return self }
        switch kind {
        case .distinct: return .distinct(try bytes.withUnsafeBytes { try DistinctSketch(serialized: $0) })
        case .quantile: return .quantile(try bytes.withUnsafeBytes { try QuantileSketch(serialized: $0) })
        default: throw ShardError("internal error: a stored state for a measure without one")
        }
    }

    /// Stands in while a sketch is merged in place (no copy of its storage).
    static let null = RollupPart.extreme(.null)

    /// The measure's value: sum (NULL over no value), avg (a real, NULL over none),
    /// min or max, the distinct estimate, the quantile (NULL over no number).
    public func result(kind: RollupMeasure.Kind) throws -> RollupValue {
        switch self {
        case .sum(let count, let total):
            if kind == .avg { return count == 0 ? .null : .real(total.asDouble / Double(count)) }
            return count == 0 ? .null : total
        case .extreme(let v): return v
        case .distinct(let d): return .integer(d.estimate)
        case .quantile(let q):
            guard case .quantile(let at) = kind, let v = try q.quantile(at) else { return .null }
            return .real(v)
        case .stored(let bytes):
            // A distinct state's estimate is read without making its sketch.
            if kind == .distinct { return .integer(try bytes.withUnsafeBytes { try DistinctSketch.estimate(serialized: $0) }) }
            return try read(kind: kind).result(kind: kind)
        }
    }

    /// A sketch measure's state (the hidden `<measure>_state` column).
    public var state: [UInt8]? {
        switch self {
        case .distinct(let d): d.serialized()
        case .quantile(let q): q.serialized()
        case .stored(let bytes): bytes
        default: nil
        }
    }
}

extension RollupValue {
    /// As SQL's sum reads a number it adds (text and blobs count as 0 there already).
    var asDouble: Double {
        switch self {
        case .integer(let i): Double(i)
        case .real(let d): d
        default: 0
        }
    }
}

/// The SQL a rollup runs inside one shard: its documents grouped by bucket and group
/// values, with each measure's part, split around the shard's table as
/// `head + <table> + tail` (`compressedTail` for a compressed shard's blocks).
///
/// Columns: the bucket start (ms; for month buckets the day's, folded into months by
/// `RollupBucket.start`), each group value, count(*), then per measure: `count(x),
/// sum(x)` for sum and avg, `min(x)` or `max(x)`, the state of a distinct or quantile
/// sketch (`shards_distinct_state(x)`, `shards_quantile_state(x)`). Parameters: ?1 and ?2 the lowest and
/// highest ts (inclusive), then those of `conditions`.
///
/// An inner SELECT reads each row's bucket, group values and each measure path once
/// (`b`, `g0..`, `x0..`); its `LIMIT -1` keeps SQLite from flattening it into the
/// GROUP BY, which would extract a path again for every aggregate that names it (and
/// sort whole documents).
public struct RollupSelect: Equatable, Sendable {
    /// The select list and the inner SELECT up to its table: `head` without its "SELECT ".
    public let columns: String
    public let head: String
    public let tail: String
    public let compressedTail: String

    /// `doc`: how a shard's document is read (`doc`); `conditions`: SQL on the group
    /// expressions (see `groupExpression`), parameters from ?3 on.
    public init(options: RollupOptions, conditions: [String]) {
        let bucketExpr: String
        if let (w, o) = options.bucket.fixedWidth {
            bucketExpr = o == 0 ? "ts - ((ts % \(w)) + \(w)) % \(w)" : "ts - ((ts - (\(o))) % \(w) + \(w)) % \(w)"
        } else {
            let d = Civil.msPerDay
            bucketExpr = "ts - ((ts % \(d)) + \(d)) % \(d)"
        }
        var inner = [bucketExpr + " AS b"]
        inner += options.groups.indices.map { Self.groupExpression(options, $0) + " AS g\($0)" }
        var paths: [String] = []
        var columns = ["b"] + options.groups.indices.map { "g\($0)" }
        columns.append("count(*)")
        for m in options.measures {
            var x = "NULL"
            if let path = m.path?.text {
                if !paths.contains(path) {
                    inner.append("json_extract(doc, \(SQLText.literal(path))) AS x\(paths.count)")
                    paths.append(path)
                }
                x = "x\(paths.firstIndex(of: path)!)"
            }
            switch m.kind {
            case .count: continue
            case .sum, .avg: columns += ["count(\(x))", "sum(\(x))"]
            case .min: columns.append("min(\(x))")
            case .max: columns.append("max(\(x))")
            case .distinct: columns.append("shards_distinct_state(\(x))")
            case .quantile: columns.append("shards_quantile_state(\(x))")
            }
        }
        self.columns = columns.joined(separator: ", ") + " FROM (SELECT " + inner.joined(separator: ", ") + " FROM "
        head = "SELECT " + self.columns
        let groupBy = ") GROUP BY " + (["b"] + options.groups.indices.map { "g\($0)" }).joined(separator: ", ")
        let conds = ["ts >= ?1", "ts <= ?2"] + conditions
        tail = " WHERE " + conds.joined(separator: " AND ") + " LIMIT -1" + groupBy
        compressedTail = " AS z, shards_block(z.data) WHERE z.max_ts >= ?1 AND z.min_ts <= ?2 AND "
            + conds.joined(separator: " AND ") + " LIMIT -1" + groupBy
    }

    /// The SQL of group `i`'s value in a shard.
    public static func groupExpression(_ options: RollupOptions, _ i: Int) -> String {
        "json_extract(doc, \(SQLText.literal(options.groups[i].path.text)))"
    }

    /// How many statement columns the measures take after count(*).
    public static func width(_ options: RollupOptions) -> Int {
        options.measures.reduce(0) { $0 + width($1.kind) }
    }

    /// How many statement columns measure `m` takes.
    public static func width(_ kind: RollupMeasure.Kind) -> Int {
        switch kind {
        case .count: 0
        case .sum, .avg: 2
        case .distinct, .quantile: 1
        default: 1
        }
    }
}
