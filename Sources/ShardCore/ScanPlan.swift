/// The plan xBestIndex hands to xFilter, and what xFilter derives from it:
/// which shards to visit and the SQL to run in each.
///
/// idxStr encoding (the only place it is written down):
///
///     <columns used, hex> "|" <order: "-" none, "a" id ascending, "d" id descending> "|" <terms>
///
/// where <terms> is a comma-separated list of `<column>:<op>`; every term except
/// `isnull` takes the next xFilter argument, in order. Columns are the collection's
/// column numbers (0 id, 1 ts, 2 shard, 3 doc, 4... indexed paths).
public struct ScanPlan: Equatable, Sendable {
    public enum Op: String, Sendable {
        case eq, gt, ge, lt, le, isnull

        public var sql: String {
            switch self {
            case .eq: "="
            case .gt: ">"
            case .ge: ">="
            case .lt: "<"
            case .le: "<="
            case .isnull: "IS NULL"
            }
        }

        public var takesArgument: Bool { self != .isnull }
    }

    public enum Order: Character, Sendable { case none = "-", idAscending = "a", idDescending = "d" }

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

    public func uses(column: Int) -> Bool {
        column >= 63 || columnsUsed & (1 << UInt64(column)) != 0
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
            }
        case .text, .other:
            if op == .isnull { isEmpty = true }
        }
    }

    public func overlaps(_ lo: Int64, _ hi: Int64) -> Bool {
        !isEmpty && lo <= self.hi && hi >= self.lo
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
    /// Exact shard keys asked for (`shard = ?`); nil when unconstrained.
    public var keys: Set<String>?

    public init() {}

    public mutating func add(column: Int, op: ScanPlan.Op, value: PruneValue) {
        switch column {
        case 0: ids.narrow(op, value)
        case 1: times.narrow(op, value)
        case 2:
            guard op == .eq else { return }
            if case .text(let k) = value {
                keys = (keys ?? [k]).intersection([k])
            } else if case .other = value {
                return
            } else {
                keys = []   // a number never equals a shard key
            }
        default: return
        }
    }

    public var isEmpty: Bool { ids.isEmpty || times.isEmpty || keys?.isEmpty == true }

    public func mayContain(_ shard: ShardInfo) -> Bool {
        if isEmpty { return false }
        let r = shard.ids
        if !ids.overlaps(r.lowerBound, r.upperBound) { return false }
        if let s = shard.period.start, let e = shard.period.end, !times.overlaps(s, e - 1) { return false }
        if let keys, !keys.contains(shard.key.text) { return false }
        return true
    }
}
