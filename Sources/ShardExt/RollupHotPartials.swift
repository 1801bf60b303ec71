import CShardShim
import ShardCore

// A rollup's parts of the shards this connection is filling, kept in memory as rows
// are inserted (`RollupAccumulator`): a finished shard's partials are written from
// them instead of read back from its table (a shard's documents are parsed once, at
// insert), and a query takes the hot shard's parts from them instead of aggregating
// it. They hold for a shard while they cover exactly its rows: they began at its
// first row, on the `ShardInfo` the catalog holds now (a reload after a rollback or
// another connection's write makes new ones), and every change of the shard since
// was an insert they added (its change stamp moved one step per row they took). Any
// other write (an update, a delete, a buffered flush, a merge), a document the
// scanner cannot read as json_extract would, a sum SQLite would count differently,
// or too many buckets and groups drop them, and SQL answers as before.

/// One shard's accumulated parts and the stamp they are at.
final class HotPartials {
    let shard: ShardInfo
    var stamp: Int64
    var sums: RollupAccumulator

    init(shard: ShardInfo, stamp: Int64, measures: [RollupMeasure]) {
        self.shard = shard
        self.stamp = stamp
        sums = RollupAccumulator(measures: measures)
    }
}

extension RollupTable {
    /// At most this many buckets and groups per shard, and shards at once, are kept.
    static let hotEntriesKept = 4_096
    static let hotShardsKept = 64

    /// One inserted row of `shard`, whose stamp it moved by one, as the insert's pass
    /// read it: the values of `scanPaths` (the groups', then the measures') at
    /// `positions` of `values`, each as json_extract gives it, or one the accumulator
    /// refuses (an object, text in a sum).
    func inserted(_ shard: ShardInfo, ts: Int64, read values: [ScannedValue], at positions: [Int]) {
        guard let h = hotParts(taking: shard) else { return }
        guard h.sums.add(bucket: options.bucket.start(of: ts), read: values, at: positions),
              h.sums.count <= Self.hotEntriesKept else {
            hotShards[shard.number] = nil
            return
        }
        h.stamp = shard.changes
    }

    /// One inserted row the insert's pass did not read for this rollup (it gave up on
    /// a path): the rollup reads its own paths, or drops the shard's parts.
    func inserted(_ shard: ShardInfo, ts: Int64, doc: OpaquePointer?) {
        guard hotParts(taking: shard) != nil else { return }
        guard let own = ownReads, valueType(doc) == SQLITE_TEXT, let bytes = valueTextBytes(doc),
              let values = DocumentScanner.scan(bytes, paths: own.paths) else {
            hotShards[shard.number] = nil
            return
        }
        inserted(shard, ts: ts, read: values, at: own.positions(of: 0))
    }

    /// The parts of `shard` that the row just inserted into it extends: those kept, when
    /// they hold up to the row before, or new ones from the shard's first row; nil when
    /// none can be kept.
    private func hotParts(taking shard: ShardInfo) -> HotPartials? {
        if let h = lastHot, h.shard === shard, h.stamp == shard.changes &- 1 { return h }
        guard scanPaths != nil else { return nil }
        let n = shard.number
        if let h = hotShards[n] {
            if h.shard === shard && h.stamp == shard.changes &- 1 {
                lastHot = h
                return h
            }
            hotShards[n] = nil
        }
        // Only from the shard's first row: then they cover all of it.
        guard shard.rows == 1 else { return nil }
        if hotShards.count >= Self.hotShardsKept, let any = hotShards.keys.min() { hotShards[any] = nil }
        let h = HotPartials(shard: shard, stamp: shard.changes &- 1, measures: options.measures)
        hotShards[n] = h
        lastHot = h
        return h
    }

    /// The parts of shard `s` kept in memory, when they cover exactly its rows now.
    func hotParts(of s: ShardInfo) -> RollupAccumulator? {
        guard let h = hotShards[s.number] else { return nil }
        guard h.shard === s, h.stamp == s.changes, h.sums.rows == s.rows else {
            hotShards[s.number] = nil
            return nil
        }
        return h.sums
    }

    /// Writes shard `s`'s partials from its parts in memory; false when there are none
    /// that hold. They are let go either way.
    func buildFromHotParts(_ s: ShardInfo) throws -> Bool {
        guard s.file == nil, let sums = hotParts(of: s) else { return false }
        try writeParts(sums, shard: s.number)
        return true
    }

    /// Writes parts as partial rows of shard number `shard`.
    func writeParts(_ sums: RollupAccumulator, shard: Int64) throws {
        let width = Int32(3 + options.groups.count + RollupSelect.width(options))
        let insert = try statement("INSERT INTO \(partialsTable) VALUES ("
            + (1...width).map { "?\($0)" }.joined(separator: ", ") + ")")
        try sums.rows { key, row in
            insert.bind(1, shard)
            insert.bind(2, key.bucket)
            var i: Int32 = 3
            for v in key.groups + row {
                Self.bind(insert, i, v)
                i += 1
            }
            try insert.run()
        }
    }

    /// Parts of live shard `s` read by SQL: each row of `stmt` laid out as
    /// `RollupSelect`'s from column `offset`. They are its parts in memory from now on
    /// (inserts extend them); nil when they cannot be kept.
    func keepHotParts(_ s: ShardInfo, rows stmt: Statement, offset: Int32) throws -> RollupAccumulator? {
        hotShards[s.number] = nil
        guard scanPaths != nil, s.isLive else {
            while try stmt.step() {}
            return nil
        }
        let h = HotPartials(shard: s, stamp: s.changes, measures: options.measures)
        let groups = options.groups.count
        let width = 1 + RollupSelect.width(options)
        var ok = true
        while try stmt.step() {
            guard ok else { continue }
            var b = stmt.int64(offset)
            if options.bucket.fixedWidth == nil { b = options.bucket.start(of: b) }
            let key = RollupKey(bucket: b, groups: (0..<groups).map { rollupValue(stmt.value(offset + 1 + Int32($0))) })
            let row = (0..<width).map { rollupValue(stmt.value(offset + 1 + Int32(groups + $0))) }
            ok = h.sums.seed(key, row: row) && h.sums.count <= Self.hotEntriesKept
        }
        guard ok, h.sums.rows == s.rows else { return nil }
        if hotShards.count >= Self.hotShardsKept, let any = hotShards.keys.min() { hotShards[any] = nil }
        hotShards[s.number] = h
        return h.sums
    }

    /// Live shard `s` aggregated whole by SQL, its parts kept in memory from now on;
    /// nil when they cannot be (then the caller aggregates it for the query alone).
    func seedHotParts(_ s: ShardInfo, of collection: ShardedCollection) throws -> RollupAccumulator? {
        guard scanPaths != nil, s.isLive else { return nil }
        let stmt = try collection.statements.checkout(
            wholeShard.head + collection.qualified(s.storedTable) + wholeShard.tail)
        defer { collection.statements.checkin(stmt) }
        stmt.bind(1, Time.minimum)
        stmt.bind(2, Time.maximum)
        return try keepHotParts(s, rows: stmt, offset: 0)
    }

    private static func bind(_ stmt: Statement, _ i: Int32, _ v: RollupValue) {
        switch v {
        case .null: stmt.bindNull(i)
        case .integer(let x): stmt.bind(i, x)
        case .real(let d): stmt.bind(i, d)
        case .text(let t): stmt.bind(i, String(decoding: t, as: UTF8.self))
        case .blob(let b): stmt.bind(i, blob: b)
        }
    }

    /// Adds the parts in memory of a shard to a query's buckets: those in [tsLo, tsHi]
    /// that pass its tests on group values.
    func addHotParts(_ sums: RollupAccumulator, _ tsLo: Int64, _ tsHi: Int64, _ query: Query,
                     into buckets: inout RollupBuckets) throws {
        for (key, count, parts) in sums.parts() where key.bucket >= tsLo && key.bucket <= tsHi {
            guard query.tests.allSatisfy({ $0.passes(key.groups[$0.group]) }) else { continue }
            try buckets.add(key, count: count, parts: parts)
        }
    }
}

extension RollupTable.Query {
    /// A query's condition on group value `group`, for rows taken from memory: SQL's
    /// comparison of values without affinity under BINARY (RollupValue's order).
    struct Test {
        enum Op { case eq, gt, ge, lt, le, `in` }
        let group: Int
        let op: Op
        let values: [RollupValue]

        func passes(_ v: RollupValue) -> Bool {
            guard v != .null else { return false }
            switch op {
            case .eq, .in: return values.contains { $0 != .null && $0 == v }
            case .gt: return values[0] != .null && values[0] < v
            case .ge: return values[0] != .null && !(v < values[0])
            case .lt: return values[0] != .null && v < values[0]
            case .le: return values[0] != .null && !(values[0] < v)
            }
        }
    }
}
