/// A rollup's parts of one shard, added up row by row as documents are inserted, so
/// that the shard's partials need not be read back from its table (and a query can
/// take the hot shard's parts from memory). It gives what `RollupSelect` would return
/// over the same rows, or says it cannot (`add` returns false) and is then dropped:
/// the caller falls back on SQL.
///
/// SQLite's rules, followed exactly: `count(x)` counts non-NULL values; `sum(x)` stays
/// an integer while every value is one and adds reals with Kahan-Babuska-Neumaier
/// compensation as SQLite's `sum` does (3.43 on); `min`/`max` in SQLite's order of
/// values. What it does not follow, it refuses: text or blobs in a sum (SQLite reads
/// them as numbers by its own rules), an integer sum that overflows, sketch measures.
public struct RollupAccumulator {
    /// One measure's running part.
    struct Part {
        var count: Int64 = 0
        var integer: Int64 = 0
        var approx = false
        var real = 0.0
        var error = 0.0
        var extreme: RollupValue = .null

        /// Adds an integer to the sum as SQLite's sum does; false when SQLite would
        /// overflow, or split it (2^52 and more, once the sum is real).
        mutating func add(integer x: Int64) -> Bool {
            if approx {
                guard x.magnitude < RollupAccumulator.exactDoubles else { return false }
                add(double: Double(x))
                return true
            }
            let (s, overflow) = integer.addingReportingOverflow(x)
            if overflow { return false }
            integer = s
            return true
        }

        /// Adds a real: the sum is real from then on.
        mutating func add(real x: Double) -> Bool {
            if !approx {
                guard integer.magnitude < RollupAccumulator.exactDoubles else { return false }
                approx = true
                real = Double(integer)
            }
            add(double: x)
            return true
        }

        /// SQLite's kahanBabuskaNeumaierStep.
        @inline(__always) private mutating func add(double x: Double) {
            let s = real, t = s + x
            if abs(s) > abs(x) { error += (s - t) + x } else { error += (x - t) + s }
            real = t
        }

        /// Adds a value to a sum (`count` non-NULL values); false when SQLite would add
        /// it otherwise (text, blobs) or the sum cannot be kept.
        mutating func add(_ v: RollupValue, count n: Int64) -> Bool {
            switch v {
            case .null: return true
            case .integer(let x): guard add(integer: x) else { return false }
            case .real(let x): guard add(real: x) else { return false }
            case .text, .blob: return false
            }
            count += n
            return true
        }

        /// min or max of the values taken, in SQLite's order (NULL is none).
        mutating func take(_ v: RollupValue, min: Bool) {
            if v != .null && (extreme == .null || (min ? v < extreme : extreme < v)) { extreme = v }
        }
    }

    struct Entry {
        var count: Int64 = 0
        var parts: [Part]
    }

    public let measures: [RollupMeasure]
    private var index: [RollupKey: Int] = [:]
    private var keys: [RollupKey] = []
    private var entries: [Entry] = []
    /// Rows added.
    public private(set) var rows: Int64 = 0
    static let exactDoubles: UInt64 = 1 << 52

    /// Whether a rollup with these measures can be accumulated (no sketches).
    public static func supports(_ measures: [RollupMeasure]) -> Bool {
        !measures.contains { $0.kind.isSketch }
    }

    public init(measures: [RollupMeasure]) { self.measures = measures }

    /// Buckets and groups held.
    public var count: Int { entries.count }

    /// Adds one row: its bucket key and the value of each measure's path (ignored for
    /// count). Returns false, leaving the accumulator unusable, when SQLite's answer
    /// could differ from what it would keep.
    public mutating func add(_ key: RollupKey, values: [RollupValue]) -> Bool {
        let i = entry(key)
        rows += 1
        entries[i].count += 1
        for m in measures.indices {
            switch measures[m].kind {
            case .count: continue
            case .sum, .avg: guard entries[i].parts[m].add(values[m], count: 1) else { return false }
            case .min: entries[i].parts[m].take(values[m], min: true)
            case .max: entries[i].parts[m].take(values[m], min: false)
            case .distinct, .quantile: return false
            }
        }
        return true
    }

    /// Adds a bucket's row as `RollupSelect` returns it (after the bucket and group
    /// values: count(*), then each measure's part), read from a shard by SQL: the parts
    /// of rows already in it. Returns false, leaving the accumulator unusable, when it
    /// cannot hold them.
    public mutating func seed(_ key: RollupKey, row: [RollupValue]) -> Bool {
        guard case .integer(let n) = row.first else { return false }
        let i = entry(key)
        rows += n
        entries[i].count += n
        var c = 1
        for m in measures.indices {
            switch measures[m].kind {
            case .count: continue
            case .sum, .avg:
                guard case .integer(let count) = row[c], entries[i].parts[m].add(row[c + 1], count: count) else { return false }
                c += 2
            case .min, .max:
                entries[i].parts[m].take(row[c], min: measures[m].kind == .min)
                c += 1
            case .distinct, .quantile: return false
            }
        }
        return true
    }

    private mutating func entry(_ key: RollupKey) -> Int {
        if let found = index[key] { return found }
        index[key] = entries.count
        keys.append(key)
        entries.append(Entry(parts: Array(repeating: Part(), count: measures.count)))
        return entries.count - 1
    }

    /// Each bucket and group with its count and parts, as `RollupBuckets.add` takes them.
    public func parts() -> [(key: RollupKey, count: Int64, parts: [RollupPart])] {
        entries.indices.map { i in
            (keys[i], entries[i].count, measures.indices.map { m in
                switch measures[m].kind {
                case .min, .max: return .extreme(entries[i].parts[m].extreme)
                default:
                    let (count, total) = sum(entries[i].parts[m])
                    return .sum(count: count, total: total)
                }
            })
        }
    }

    /// Each bucket and group as `RollupSelect`'s row after the bucket and group values:
    /// count(*), then per measure `count(x), sum(x)` (sum, avg), `min(x)` or `max(x)`.
    public func rows(_ body: (RollupKey, [RollupValue]) throws -> Void) rethrows {
        for i in entries.indices {
            var row: [RollupValue] = [.integer(entries[i].count)]
            for m in measures.indices {
                let p = entries[i].parts[m]
                switch measures[m].kind {
                case .count: continue
                case .sum, .avg:
                    let (count, total) = sum(p)
                    row += [.integer(count), total]
                default: row.append(p.extreme)
                }
            }
            try body(keys[i], row)
        }
    }

    /// count(x) and SQL's sum(x): NULL over no value.
    private func sum(_ p: Part) -> (Int64, RollupValue) {
        guard p.count > 0 else { return (0, .null) }
        guard p.approx else { return (p.count, .integer(p.integer)) }
        return (p.count, .real(p.error.isFinite ? p.real + p.error : p.real))
    }
}
