import CShardShim
import ShardCore

/// One `shards_rollup` table on a connection: its options, and the answer to a query
/// over its source collection, computed per shard inside SQLite (`RollupSelect`) and
/// combined here (`RollupBuckets`). Every shard the query's time range reaches is
/// aggregated at query time, so an answer is that of `GROUP BY` over the collection's
/// current documents: this connection's buffered and uncommitted writes, merged,
/// compressed and archived shards included.
final class RollupTable {
    let connection: Connection
    let db: Database
    let name: String
    let options: RollupOptions

    init(connection: Connection, db: Database, name: String, options: RollupOptions) {
        self.connection = connection
        self.db = db
        self.name = name
        self.options = options
    }

    /// The source collection, opened on this connection; an error naming it when it
    /// is gone or is not a collection.
    func source() throws -> ShardedCollection {
        do {
            return try connection.collection(options.source)
        } catch let e as ShardError {
            throw ShardError("rollup '\(name)' cannot read its source collection '\(options.source)': \(e.reason)")
        }
    }

    /// What one query asks: whole buckets whose starts lie in `starts`, and SQL
    /// conditions on the group values with their values (parameters ?3 on).
    struct Query {
        var starts: (lo: Int64, hi: Int64) = (.min, .max)
        var conditions: [String] = []
        var parameters: [ValueCopy] = []
        var empty = false
    }

    /// The buckets of the documents the query selects.
    func aggregate(_ query: Query) throws -> RollupBuckets {
        var buckets = RollupBuckets(measures: options.measures)
        guard !query.empty else { return buckets }
        let collection = try source()
        let pin = try collection.readyToScan()
        defer { collection.statements.checkin(pin) }
        var starts = query.starts
        if let retain = options.retain, let newest = collection.catalog.shards.compactMap({ $0.isRetired ? nil : $0.maxTs }).max() {
            // `retain`: buckets older than that before the newest bucket's start are gone.
            starts.lo = max(starts.lo, retain.cutoff(newestPeriodStart: options.bucket.start(of: newest)))
        }
        guard let (tsLo, tsHi) = timeRange(starts) else { return buckets }
        let select = RollupSelect(options: options, conditions: query.conditions)
        for shard in collection.catalog.shards where !shard.isRetired {
            let (lo, hi) = shard.timeBounds
            guard hi >= tsLo, lo <= tsHi else { continue }
            try aggregate(shard, of: collection, select, tsLo, tsHi, query.parameters, into: &buckets)
        }
        return buckets
    }

    /// The ts range of the whole buckets whose starts lie in `starts`; nil when none does.
    private func timeRange(_ starts: (lo: Int64, hi: Int64)) -> (Int64, Int64)? {
        let bucket = options.bucket
        let lo = max(starts.lo, Time.minimum), hi = min(starts.hi, Time.maximum)
        guard lo <= hi else { return nil }
        var first = bucket.start(of: lo)
        if first < lo { first = bucket.end(ofBucketStartingAt: first) }
        let last = bucket.start(of: hi)
        guard first <= last else { return nil }
        return (first, bucket.end(ofBucketStartingAt: last) - 1)
    }

    private func aggregate(_ shard: ShardInfo, of collection: ShardedCollection, _ select: RollupSelect,
                           _ tsLo: Int64, _ tsHi: Int64, _ parameters: [ValueCopy], into buckets: inout RollupBuckets) throws {
        let (db, cache, sql): (Database, StatementCache, String)
        if shard.file != nil {
            let archive = try collection.archive(of: shard)
            (db, cache) = (archive.db, archive.statements)
            // An archive's own connection knows the sketch functions once told.
            if !options.sketchMeasures.isEmpty,
               try db.scalarInt("SELECT count(*) FROM pragma_function_list WHERE name = 'shards_quantile_state'") == 0 {
                try registerSketchFunctions(db)
            }
            sql = select.head + "\"main\"." + SQLText.identifier(shard.archiveTable) + select.tail
        } else {
            (db, cache) = (collection.db, collection.statements)
            sql = select.head + collection.qualified(shard.storedTable) + (shard.isCompressed ? select.compressedTail : select.tail)
        }
        let stmt = try cache.checkout(db, sql)
        defer { cache.checkin(stmt) }
        stmt.bind(1, tsLo)
        stmt.bind(2, tsHi)
        for (i, p) in parameters.enumerated() { stmt.bind(Int32(i + 3), p) }
        let groups = options.groups.count
        let monthly = options.bucket.fixedWidth == nil
        while try stmt.step() {
            var start = stmt.int64(0)
            if monthly { start = options.bucket.start(of: start) }
            var values: [RollupValue] = []
            values.reserveCapacity(groups)
            for g in 0..<groups { values.append(rollupValue(stmt.value(Int32(1 + g)))) }
            let count = stmt.int64(Int32(1 + groups))
            var col = Int32(2 + groups)
            var parts: [RollupPart] = []
            parts.reserveCapacity(options.measures.count)
            for m in options.measures {
                switch m.kind {
                case .count:
                    parts.append(.sum(count: 0, total: .null))
                case .sum, .avg:
                    parts.append(.sum(count: stmt.int64(col), total: rollupValue(stmt.value(col + 1))))
                case .min, .max:
                    parts.append(.extreme(rollupValue(stmt.value(col))))
                case .distinct:
                    let bytes = stmt.blob(col) ?? []
                    parts.append(.distinct(try bytes.withUnsafeBytes { try DistinctSketch(serialized: $0) }))
                case .quantile:
                    let bytes = stmt.blob(col) ?? []
                    parts.append(.quantile(try bytes.withUnsafeBytes { try QuantileSketch(serialized: $0) }))
                }
                col += Int32(RollupSelect.width(m.kind))
            }
            try buckets.add(RollupKey(bucket: start, groups: values), count: count, parts: parts)
        }
    }
}

/// A value of a statement's row, copied.
func rollupValue(_ v: OpaquePointer?) -> RollupValue {
    switch valueType(v) {
    case SQLITE_INTEGER: return .integer(valueInt64(v))
    case SQLITE_FLOAT: return .real(valueDouble(v))
    case SQLITE_TEXT: return .text(Array(valueTextBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0)))
    case SQLITE_BLOB: return .blob(Array(valueBlobBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0)))
    default: return .null
    }
}
