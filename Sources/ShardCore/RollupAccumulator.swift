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

        /// Adds a value read from a document; false for text, an object or an array
        /// (SQLite reads text as a number by its own rules), or when the sum cannot be kept.
        mutating func add(read v: ScannedValue) -> Bool {
            switch v {
            case .missing, .null: return true
            case .integer(let x): guard add(integer: x) else { return false }
            case .real(let x): guard add(real: x) else { return false }
            case .bool(let b): guard add(integer: b ? 1 : 0) else { return false }
            case .text, .complex: return false
            }
            count += 1
            return true
        }

        /// min or max of the values taken, a value read from a document; false for an
        /// object or an array.
        mutating func take(read v: ScannedValue, min: Bool) -> Bool {
            switch (v, extreme) {
            case (.missing, _), (.null, _): return true
            case (.real(let x), .real(let e)): if min ? x < e : e < x { extreme = .real(x) }
            case (.integer(let x), .integer(let e)): if min ? x < e : e < x { extreme = .integer(x) }
            default:
                guard let value = RollupValue(read: v) else { return false }
                take(value, min: min)
            }
            return true
        }

        /// min or max of the values taken, in SQLite's order (NULL is none).
        mutating func take(_ v: RollupValue, min: Bool) {
            if v != .null && (extreme == .null || (min ? v < extreme : extreme < v)) { extreme = v }
        }
    }

    public let measures: [RollupMeasure]
    private let kinds: [RollupMeasure.Kind]
    /// Per measure, its value's place among the measures' values (those with a path,
    /// in order); -1 for count.
    private let slots: [Int]
    /// Measures with a path (a value per row).
    private let valued: Int
    /// The entries (a bucket and its group values), in the order first added: their
    /// keys, hashes, row counts and parts (measure m of entry i at i * measures + m).
    private var keys: [RollupKey] = []
    /// The entries' buckets and group values again, flat (entry i's group g at
    /// i * width + g), compared at every row.
    private var buckets: [Int64] = []
    private var groupValues: [RollupValue] = []
    private var width = 0
    private var hashes: [Int] = []
    private var counts: [Int64] = []
    private var sums: [Part] = []
    /// Open addressing over the entries by hash: entry + 1 per slot, 0 for none; a
    /// power of two of slots, at most half of them taken.
    private var table: [Int32] = []
    /// The entry of the last row added (rows come in runs of one bucket and group).
    private var last = -1
    /// Rows added.
    public private(set) var rows: Int64 = 0
    static let exactDoubles: UInt64 = 1 << 52

    /// Whether a rollup with these measures can be accumulated (no sketches).
    public static func supports(_ measures: [RollupMeasure]) -> Bool {
        !measures.contains { $0.kind.isSketch }
    }

    public init(measures: [RollupMeasure]) {
        self.measures = measures
        kinds = measures.map(\.kind)
        var next = 0
        slots = measures.map { m in
            guard m.path != nil else { return -1 }
            next += 1
            return next - 1
        }
        valued = next
    }

    /// Buckets and groups held.
    public var count: Int { keys.count }

    /// Adds one row: its bucket key and the value of each measure's path (ignored for
    /// count). Returns false, leaving the accumulator unusable, when SQLite's answer
    /// could differ from what it would keep.
    public mutating func add(_ key: RollupKey, values: [RollupValue]) -> Bool {
        let i = entry(key)
        rows += 1
        counts[i] += 1
        let base = i &* kinds.count
        for m in kinds.indices {
            switch kinds[m] {
            case .count: continue
            case .sum, .avg: guard sums[base + m].add(values[m], count: 1) else { return false }
            case .min: sums[base + m].take(values[m], min: true)
            case .max: sums[base + m].take(values[m], min: false)
            case .distinct, .quantile: return false
            }
        }
        return true
    }

    /// Adds one inserted row as `DocumentScanner` read it: its bucket, and in `values`
    /// at `positions` its group values, then the value of each measure's path (count
    /// has none), as json_extract gives them. Returns false, leaving the accumulator
    /// unusable, for an object or an array among them, or when SQLite's answer could
    /// differ from what it would keep. Makes no value of a bucket and group seen before.
    public mutating func add(bucket: Int64, read values: [ScannedValue], at positions: [Int]) -> Bool {
        let groups = positions.count &- valued
        var i = last
        if i < 0 || buckets[i] != bucket || !same(i, values, positions, groups) {
            var h = Hasher()
            h.combine(bucket)
            for g in 0..<groups {
                if case .complex = values[positions[g]] { return false }
                RollupValue.hash(read: values[positions[g]], into: &h)
            }
            let hash = h.finalize()
            if let found = find(hash, { buckets[$0] == bucket && same($0, values, positions, groups) }) {
                i = found
            } else {
                i = append(RollupKey(bucket: bucket, groups: (0..<groups).map { RollupValue(read: values[positions[$0]])! }),
                           hash: hash)
            }
            last = i
        }
        rows += 1
        counts[i] += 1
        let base = i &* kinds.count
        for m in kinds.indices {
            switch kinds[m] {
            case .count: continue
            case .sum, .avg: guard sums[base &+ m].add(read: values[positions[groups &+ slots[m]]]) else { return false }
            case .min: guard sums[base &+ m].take(read: values[positions[groups &+ slots[m]]], min: true) else { return false }
            case .max: guard sums[base &+ m].take(read: values[positions[groups &+ slots[m]]], min: false) else { return false }
            case .distinct, .quantile: return false
            }
        }
        return true
    }

    /// Whether entry i's group values are those read (as GROUP BY compares them).
    @inline(__always) private func same(_ i: Int, _ values: [ScannedValue], _ positions: [Int], _ groups: Int) -> Bool {
        let first = i &* width
        for g in 0..<groups where !groupValues[first &+ g].equals(read: values[positions[g]]) { return false }
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
        counts[i] += n
        let base = i &* kinds.count
        var c = 1
        for m in kinds.indices {
            switch kinds[m] {
            case .count: continue
            case .sum, .avg:
                guard case .integer(let count) = row[c], sums[base + m].add(row[c + 1], count: count) else { return false }
                c += 2
            case .min, .max:
                sums[base + m].take(row[c], min: kinds[m] == .min)
                c += 1
            case .distinct, .quantile: return false
            }
        }
        return true
    }

    /// The entry of `key`, made when new.
    private mutating func entry(_ key: RollupKey) -> Int {
        let hash = RollupBuckets.hash(bucket: key.bucket) { h in key.groups.forEach { $0.hash(into: &h) } }
        if let found = find(hash, { keys[$0] == key }) { return found }
        return append(key, hash: hash)
    }

    /// The entry of hash `hash` that `matches`, or nil.
    @inline(__always) private func find(_ hash: Int, _ matches: (Int) -> Bool) -> Int? {
        guard !table.isEmpty else { return nil }
        let mask = table.count &- 1
        var s = hash & mask
        while true {
            let e = Int(table[s]) &- 1
            if e < 0 { return nil }
            if hashes[e] == hash && matches(e) { return e }
            s = (s &+ 1) & mask
        }
    }

    /// A new entry; its number.
    private mutating func append(_ key: RollupKey, hash: Int) -> Int {
        let i = keys.count
        if (i + 1) * 2 > table.count {
            table = Array(repeating: 0, count: max(16, table.count * 2))
            for e in 0..<i { place(e, hashes[e]) }
        }
        place(i, hash)
        if i == 0 { width = key.groups.count }
        keys.append(key)
        buckets.append(key.bucket)
        groupValues.append(contentsOf: key.groups)
        hashes.append(hash)
        counts.append(0)
        sums.append(contentsOf: repeatElement(Part(), count: kinds.count))
        return i
    }

    private mutating func place(_ e: Int, _ hash: Int) {
        let mask = table.count &- 1
        var s = hash & mask
        while table[s] != 0 { s = (s &+ 1) & mask }
        table[s] = Int32(e + 1)
    }

    /// Each bucket and group with its count and parts, as `RollupBuckets.add` takes them.
    public func parts() -> [(key: RollupKey, count: Int64, parts: [RollupPart])] {
        keys.indices.map { i in
            (keys[i], counts[i], kinds.indices.map { m in
                switch kinds[m] {
                case .min, .max: return .extreme(sums[i * kinds.count + m].extreme)
                default:
                    let (count, total) = sum(sums[i * kinds.count + m])
                    return .sum(count: count, total: total)
                }
            })
        }
    }

    /// Each bucket and group as `RollupSelect`'s row after the bucket and group values:
    /// count(*), then per measure `count(x), sum(x)` (sum, avg), `min(x)` or `max(x)`.
    public func rows(_ body: (RollupKey, [RollupValue]) throws -> Void) rethrows {
        for i in keys.indices {
            var row: [RollupValue] = [.integer(counts[i])]
            for m in measures.indices {
                let p = sums[i * kinds.count + m]
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

extension RollupValue {
    /// What json_extract returns for a value `DocumentScanner` read; nil for an object
    /// or an array (json_extract gives their text, which is not kept).
    init?(read v: ScannedValue) {
        switch v {
        case .missing, .null: self = .null
        case .bool(let b): self = .integer(b ? 1 : 0)
        case .integer(let i): self = .integer(i)
        case .real(let d): self = .real(d)
        case .text(let t): self = .text(Array(t.utf8))
        case .complex: return nil
        }
    }

    /// Whether this value equals (as GROUP BY compares) the one made of `v`, without
    /// making it.
    func equals(read v: ScannedValue) -> Bool {
        if case .text(var t) = v {
            guard case .text(let mine) = self, mine.count == t.utf8.count else { return false }
            return t.withUTF8 { read in
                mine.withUnsafeBufferPointer { mine in
                    for j in 0..<read.count where read[j] != mine[j] { return false }
                    return true
                }
            }
        }
        guard let value = RollupValue(read: v) else { return false }
        return self == value
    }

    /// Hashes `v` as the value made of it hashes (the caller has refused objects and
    /// arrays), without making it.
    static func hash(read v: ScannedValue, into h: inout Hasher) {
        switch v {
        case .text(var t): t.withUTF8 { hash(text: UnsafeRawBufferPointer($0), into: &h) }
        case .missing, .null, .complex: hashNull(into: &h)
        case .bool(let b): hash(integer: b ? 1 : 0, into: &h)
        case .integer(let i): hash(integer: i, into: &h)
        case .real(let d): hash(real: d, into: &h)
        }
    }
}
