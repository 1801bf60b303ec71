/// The plan xBestIndex hands to xFilter, and what xFilter derives from it:
/// which shards to visit and the SQL to run in each.
///
/// The plan travels as idxStr; its grammar is written down once, in ARCHITECTURE.md
/// ("idxNum / idxStr"), and `encoded` / `init?(encoded:)` are its only implementation.
public struct ScanPlan: Equatable, Sendable {
    public enum Op: String, Sendable {
        case eq, gt, ge, lt, le, isnull
        /// `IN (...)` handed over whole (sqlite3_vtab_in): the argument is a value list.
        case `in`
        /// Prefix pruning on `shard` only; SQLite still checks the pattern.
        case like, glob
        /// A query document on the `filter` column.
        case match
        case limit, offset

        public var sql: String {
            switch self {
            case .eq: "="
            case .gt: ">"
            case .ge: ">="
            case .lt: "<"
            case .le: "<="
            case .isnull: "IS NULL"
            case .in: "IN"
            case .like: "LIKE"
            case .glob: "GLOB"
            case .match: "MATCH"
            case .limit: "LIMIT"
            case .offset: "OFFSET"
            }
        }

        public var takesArgument: Bool { self != .isnull }
    }

    public enum Order: Character, Sendable {
        case none = "-", idAscending = "a", idDescending = "d", tsAscending = "t", tsDescending = "u"

        public var isDescending: Bool { self == .idDescending || self == .tsDescending }
        public var byTime: Bool { self == .tsAscending || self == .tsDescending }
    }

    public struct Term: Equatable, Sendable {
        public let column: Int
        public let op: Op
        public init(column: Int, op: Op) {
            self.column = column
            self.op = op
        }
    }

    public var columnsUsed: UInt64
    public var order: Order
    public var terms: [Term]

    public init(columnsUsed: UInt64 = ~0, order: Order = .none, terms: [Term] = []) {
        self.columnsUsed = columnsUsed
        self.order = order
        self.terms = terms
    }

    public var encoded: String {
        let t = terms.map { "\($0.column):\($0.op.rawValue)" }.joined(separator: ",")
        return String(columnsUsed, radix: 16) + "|" + String(order.rawValue) + "|" + t
    }

    public init?(encoded: String) {
        let parts = encoded.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3, let used = UInt64(parts[0], radix: 16),
              parts[1].count == 1, let order = Order(rawValue: parts[1].first!) else { return nil }
        var terms: [Term] = []
        for t in parts[2].split(separator: ",") {
            let cv = t.split(separator: ":")
            guard cv.count == 2, let c = Int(cv[0]), let op = Op(rawValue: String(cv[1])) else { return nil }
            terms.append(Term(column: c, op: op))
        }
        self.init(columnsUsed: used, order: order, terms: terms)
    }

    /// A scan that reads no column, keeps no order and tests nothing (`count(*)`):
    /// its rows can be counted from the catalog instead of read. (The rowid is not in
    /// colUsed: a cursor that counts still reads the rows if SQLite asks for one.)
    public var onlyCounts: Bool { columnsUsed == 0 && order == .none && terms.isEmpty }

    /// colUsed: bit N for column N, bit 63 for every column past 62.
    public func uses(column: Int) -> Bool {
        columnsUsed & (1 << UInt64(min(column, 63))) != 0
    }
}

/// A constraint value as far as pruning cares: numbers and text; anything else
/// (NULL, blobs, text against a numeric column) never prunes.
public enum PruneValue: Sendable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case other
}

/// Inclusive bounds on an integer column, narrowed term by term.
public struct IntBounds: Equatable, Sendable {
    public var lo: Int64 = .min
    public var hi: Int64 = .max
    public var isEmpty = false

    public init() {}

    /// Narrows by `column op value`; values that are not numbers leave the bounds alone
    /// (SQLite's comparison rules for them are left to the shard's own SQL).
    public mutating func narrow(_ op: ScanPlan.Op, _ value: PruneValue) {
        switch value {
        case .integer(let v):
            switch op {
            case .eq: raiseLo(v); lowerHi(v)
            case .gt: if v == .max { isEmpty = true } else { raiseLo(v + 1) }
            case .ge: raiseLo(v)
            case .lt: if v == .min { isEmpty = true } else { lowerHi(v - 1) }
            case .le: lowerHi(v)
            case .isnull: isEmpty = true   // ids and times are never NULL
            default: return
            }
        case .real(let d):
            guard !d.isNaN else { return }
            switch op {
            case .eq:
                if d.rounded(.down) != d { isEmpty = true; return }
                raiseLo(Self.clamp(d)); lowerHi(Self.clamp(d))
            case .gt: raiseLo(Self.clamp(d.rounded(.down)), plusOne: true)
            case .ge: raiseLo(Self.clamp(d.rounded(.up)))
            case .lt: lowerHi(Self.clamp(d.rounded(.up)), minusOne: true)
            case .le: lowerHi(Self.clamp(d.rounded(.down)))
            case .isnull: isEmpty = true
            default: return
            }
        case .text, .other:
            if op == .isnull { isEmpty = true }
        }
    }

    public func overlaps(_ lo: Int64, _ hi: Int64) -> Bool {
        !isEmpty && lo <= self.hi && hi >= self.lo
    }

    /// The ends of the bounds that every value of lo...hi lies inside.
    public func covered(_ range: (lo: Int64, hi: Int64)) -> TimeBound {
        var ends: TimeBound = []
        if range.lo >= lo { ends.insert(.lower) }
        if range.hi <= hi { ends.insert(.upper) }
        return ends
    }

    private mutating func raiseLo(_ v: Int64, plusOne: Bool = false) {
        var v = v
        if plusOne {
            if v == .max { isEmpty = true; return }
            v += 1
        }
        if v > lo { lo = v }
        if lo > hi { isEmpty = true }
    }

    private mutating func lowerHi(_ v: Int64, minusOne: Bool = false) {
        var v = v
        if minusOne {
            if v == .min { isEmpty = true; return }
            v -= 1
        }
        if v < hi { hi = v }
        if lo > hi { isEmpty = true }
    }

    private static func clamp(_ d: Double) -> Int64 {
        if d >= 9.2233720368547758e18 { return .max }
        if d <= -9.2233720368547758e18 { return .min }
        return Int64(d)
    }
}

/// Which shards a scan must visit, from its id, ts and shard terms.
public struct ShardFilter: Sendable {
    public var ids = IntBounds()
    public var times = IntBounds()
    /// Exact shard keys allowed (`shard = ?`, `shard IN (...)`); nil when unconstrained.
    public var keys: Set<String>?
    /// Key prefixes that must all match (`LIKE 'p%'` case-insensitively, `GLOB 'p*'` exactly).
    public var prefixes: [(prefix: String, caseSensitive: Bool)] = []
    /// Shard numbers allowed by `id IN (...)`; nil when unconstrained.
    public var numbers: Set<Int64>?
    /// Times listed by `ts IN (...)`, sorted and distinct; nil when unconstrained.
    public var timeList: [Int64]?

    public init() {}

    public mutating func add(_ column: Column, op: ScanPlan.Op, value: PruneValue) {
        switch column {
        case .id: ids.narrow(op, value)
        case .ts: times.narrow(op, value)
        case .shard:
            switch op {
            case .eq:
                switch value {
                case .text(let k): keys = (keys ?? [k]).intersection([k])
                case .other: return
                default: keys = []   // a number never equals a shard key
                }
            case .like:
                if case .text(let p) = value { prefixes.append((Self.prefix(p, wildcards: "%_").lowercased(), false)) }
            case .glob:
                if case .text(let p) = value { prefixes.append((Self.prefix(p, wildcards: "*?["), true)) }
            default: return
            }
        default: return
        }
    }

    /// `column IN (values)`: only integer ids/times and text keys narrow; a list
    /// with anything else in it leaves the filter alone.
    public mutating func add(_ column: Column, inList values: [PruneValue]) {
        switch column {
        case .id:
            var numbers = Set<Int64>()
            for v in values {
                guard case .integer(let id) = v else { return }
                numbers.insert(DocumentId.shardNumber(of: id))
            }
            self.numbers = self.numbers.map { $0.intersection(numbers) } ?? numbers
        case .ts:
            var times = Set<Int64>()
            for v in values {
                guard case .integer(let t) = v else { return }
                times.insert(t)
            }
            // Linear in the list (a set and one sort), however long it is.
            timeList = (timeList.map { Set($0).intersection(times) } ?? times).sorted()
        case .shard:
            var set = Set<String>()
            for v in values {
                switch v {
                case .text(let k): set.insert(k)
                case .integer, .real: continue
                case .other: return
                }
            }
            keys = keys.map { $0.intersection(set) } ?? set
        default: return
        }
    }

    /// Whether a sorted list holds a value in lo...hi: a binary search.
    static func anyValue(of sorted: [Int64], in lo: Int64, _ hi: Int64) -> Bool {
        var low = 0, high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < lo { low = mid + 1 } else { high = mid }
        }
        return low < sorted.count && sorted[low] <= hi
    }

    private static func prefix(_ pattern: String, wildcards: String) -> String {
        String(pattern.prefix { !wildcards.contains($0) })
    }

    public var isEmpty: Bool {
        ids.isEmpty || times.isEmpty || keys?.isEmpty == true || numbers?.isEmpty == true || timeList?.isEmpty == true
    }

    public func mayContain(_ shard: ShardInfo) -> Bool {
        if isEmpty { return false }
        let r = shard.ids
        if !ids.overlaps(r.lowerBound, r.upperBound) { return false }
        if let numbers, !numbers.contains(shard.number), !shard.sources.contains(where: numbers.contains) { return false }
        let (lo, hi) = shard.timeBounds
        if !times.overlaps(lo, hi) { return false }
        if let timeList, !ShardFilter.anyValue(of: timeList, in: lo, hi) { return false }
        if let keys, !keys.contains(shard.keyText) { return false }
        for p in prefixes {
            let key = p.caseSensitive ? shard.keyText : shard.keyText.lowercased()
            if !key.hasPrefix(p.prefix) { return false }
        }
        return true
    }
}
