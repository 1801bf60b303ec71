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
    /// The paths an inserted document is read at for `hotShards`: the groups', then
    /// the measures' (RollupHotPartials.swift); nil when the measures cannot be kept so.
    let scanPaths: [JSONPath]?
    /// Parts of the shards this connection is filling, by shard number.
    var hotShards: [Int64: HotPartials] = [:] { didSet { lastHot = nil } }
    /// The parts the last insert extended, one of `hotShards` (any change of them
    /// forgets it): the next insert, mostly into the same shard, finds them here.
    var lastHot: HotPartials?
    /// The shards whose parts were made from their prefix once (RollupPrefix.swift).
    var resumed: [Int64: ObjectIdentifier] = [:]
    /// Buckets of the last answer: room for as many is made for the next.
    private var lastAnswer = 0
    /// See `statement(_:)`.
    private var prepared: [String: Statement] = [:]
    /// `scanPaths`, each distinct path once, for a row the insert's pass did not read.
    lazy var ownReads: DocumentReads? = scanPaths.map { paths in
        var reads = DocumentReads(first: [])
        reads.add(paths)
        return reads
    }
    /// The measures' kinds, read at every row of an answer.
    private let kinds: [RollupMeasure.Kind]
    /// Every measure read (a query that does not say).
    lazy var allRead = [Bool](repeating: true, count: options.measures.count)
    /// The group value ids of the row `addRow` reads (one per group).
    private let groupIDs: UnsafeMutablePointer<Int32>
    /// Whether a bucket is a fixed width of ms (else the partials' b is a day, folded into months).
    private let fixedWidth: Bool
    /// A whole shard's `RollupSelect` (no condition).
    lazy var wholeShard = RollupSelect(options: options, conditions: [])

    init(connection: Connection, db: Database, name: String, options: RollupOptions) {
        self.connection = connection
        self.db = db
        self.name = name
        self.options = options
        kinds = options.measures.map(\.kind)
        fixedWidth = options.bucket.fixedWidth != nil
        groupIDs = .allocate(capacity: max(options.groups.count, 1))
        scanPaths = RollupAccumulator.supports(options.measures)
            ? options.groups.map(\.path) + options.measures.compactMap(\.path) : nil
    }

    deinit { groupIDs.deallocate() }

    /// The source collection, opened on this connection; an error naming it when it
    /// is gone or is not a collection.
    func source() throws -> ShardedCollection {
        do {
            return try connection.collection(options.source)
        } catch let e as ShardError {
            throw ShardError("rollup '\(name)' cannot read its source collection '\(options.source)': \(e.reason)")
        }
    }

    /// What one query asks: whole buckets whose starts lie in `starts`, and conditions
    /// on group values (the group's index, then the operator and its parameters, ?3 on).
    struct Query {
        var starts: (lo: Int64, hi: Int64) = (.min, .max)
        var conditions: [(group: Int, test: String)] = []
        var parameters: [ValueCopy] = []
        /// The same conditions, for parts taken from memory.
        var tests: [Test] = []
        var empty = false
        /// Per measure, whether the query reads it (else a partial's part of it is skipped).
        var reads: [Bool] = []
    }

    // MARK: - partials
    //
    // `<rollup>_partials(shard, b, g0.., n, c0..)`: a finished shard's rows as
    // `RollupSelect` makes them (b the bucket, or the day of a month bucket; the group
    // values; count(*); each measure's part), and `<rollup>_built(shard, stamp)`: the
    // shard's change stamp (`ShardInfo.changes`) they were built at. They hold while
    // the stamp is the shard's; until then the shard is aggregated at query time. Both
    // are made at the first refresh (creating a rollup writes nothing), written only here.

    var partialsTable: String { "main." + SQLText.identifier(name + "_partials") }
    var builtTable: String { "main." + SQLText.identifier(name + "_built") }
    static let shadowSuffixes = ["partials", "built", "prefix"]
    /// A partial row after its shard, laid out as `RollupSelect`'s: `b, g0.., n, c0..`.
    lazy var partialColumns = "b, " + options.groups.indices.map { "g\($0), " }.joined()
        + "n" + (0..<RollupSelect.width(options)).map { ", c\($0)" }.joined()

    /// Whether the shadow tables exist (the first refresh or upkeep step makes them).
    /// Read at every query and upkeep step, so from sqlite_schema by a statement kept
    /// prepared (not the table-valued pragma).
    private func hasPartials() throws -> Bool { try hasShadowTable("built") }

    /// Whether shadow table `<rollup>_<suffix>` exists (`shadowSuffixes`).
    func hasShadowTable(_ suffix: String) throws -> Bool {
        let stmt = try statement("SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE")
        defer { stmt.reset() }
        stmt.bind(1, name + "_" + suffix)
        return try stmt.step()
    }

    /// The rollup's statement of `sql` text, prepared once and reset for this use (as
    /// fts5 keeps its azStmt[]): upkeep steps and merges run the same few statements
    /// hundreds of times in a load, and preparing them was a fifth of a rollup's cost
    /// to ingest. Each use leaves it reset or run to its end, so no statement of a
    /// rollup stays active (a DROP TABLE of the connection would then fail).
    func statement(_ sql: String) throws -> Statement {
        if let stmt = prepared[sql] {
            stmt.reset()
            return stmt
        }
        let stmt = try db.prepare(sql, persistent: true)
        prepared[sql] = stmt
        return stmt
    }

    /// Builds the partials of every finished shard not built at its current stamp
    /// (`shard_rollup_refresh`), or of the first `most` of them; forgets those of
    /// shards gone. Returns shards built.
    func refresh(most: Int64 = .max) throws -> Int64 {
        let collection = try source()
        let pin = try collection.readyToScan()
        collection.statements.checkin(pin)
        try makeTables()
        let built = try builtStamps()
        let live = Set(collection.catalog.shards.filter { !$0.isRetired }.map(\.number))
        for (gone, b) in built where !b.kept && !live.contains(gone) { try forget(shard: gone) }
        let first = firstRetainedBucket(collection)
        for old in retainedAway(collection, built, first) { try forget(shard: old) }
        _ = try trimRetained(before: first, limit: nil)
        var n: Int64 = 0
        for s in unbuilt(collection, built, first) where n < most {
            try build(s, of: collection)
            n += 1
        }
        return n
    }

    /// A step of the source collection's upkeep (in the writer's transaction): the
    /// partials of one shard not built at its stamp whose period ended before the
    /// newest data of its category (`cut`, as merges go: a backfill's current day is
    /// not rebuilt at every step). Returns its rows; nil when every one is built.
    /// Before building, it forgets the partials of one shard merged away, or deletes up
    /// to a step's rows of buckets the rollup's `retain` no longer answers.
    func upkeepStep(_ collection: ShardedCollection, cut: (String?) -> Int64?) throws -> Int64? {
        let built = try hasPartials() ? try builtStamps() : [:]
        let first = firstRetainedBucket(collection)
        if !built.isEmpty {
            let live = Set(collection.catalog.shards.filter { !$0.isRetired }.map(\.number))
            if let gone = built.first(where: { !$0.value.kept && !live.contains($0.key) })?.key {
                return max(try forget(shard: gone), 1)
            }
            if let old = retainedAway(collection, built, first).first {
                return max(try forget(shard: old), 1)
            }
            let trimmed = try trimRetained(before: first, limit: UpkeepPacer.stepRows)
            if trimmed > 0 { return trimmed }
        }
        guard let s = unbuilt(collection, built, first).first(where: { s in
            guard let end = s.period.end, let c = cut(s.key.category) else { return false }
            return end <= c
        }) else { return nil }
        try makeTables()
        try build(s, of: collection)
        return max(s.rows, 1)
    }

    /// Finished shards (they take no more inserts: the hot one changes at every write)
    /// whose partials are missing or older than their stamp, but for those whose every
    /// bucket `retain` no longer answers (before `first`).
    private func unbuilt(_ collection: ShardedCollection, _ built: [Int64: (stamp: Int64, kept: Bool)],
                         _ first: Int64?) -> [ShardInfo] {
        let now = Clock.nowMilliseconds()
        return collection.catalog.shards.filter { s in
            !s.isRetired && built[s.number]?.stamp != s.changes && s.timeBounds.hi >= (first ?? .min)
                && s.displayState(isNewestOfLine: collection.catalog.isNewestOfLine(s), now: now) != "hot"
        }
    }

    /// A shard's rows just merged into `target` (which was at `targetStamp`, or empty):
    /// when the source's partials held (built at its stamp, or its parts in memory,
    /// RollupHotPartials.swift) and the target's did, the source's become the target's,
    /// built at its new stamp, so the merged table is not aggregated again. A target then
    /// has several partial rows of a bucket; answers add them up. Else upkeep builds it anew.
    func carry(_ source: ShardInfo, into target: ShardInfo, targetStamp: Int64, targetWasEmpty: Bool) throws {
        let sourceHot = hotParts(of: source)
        hotShards[source.number] = nil
        hotShards[target.number] = nil
        guard try hasPartials() || sourceHot != nil else { return }
        try makeTables()
        let stamp = try statement("SELECT stamp, kept FROM \(builtTable) WHERE shard = ?1")
        defer { stamp.reset() }
        stamp.bind(1, source.number)
        let sourceBuilt = try stamp.step() && stamp.int64(0) == source.changes && stamp.int64(1) == 0
        guard sourceBuilt || sourceHot != nil else { return }
        stamp.reset()
        stamp.bind(1, target.number)
        let targetBuilt = try stamp.step() && stamp.int64(0) == targetStamp && stamp.int64(1) == 0
        stamp.reset()
        guard targetBuilt || targetWasEmpty else { return }
        if !targetBuilt { try forget(shard: target.number) }
        if sourceBuilt {
            let move = try statement("UPDATE \(partialsTable) SET shard = ?2 WHERE shard = ?1")
            move.bind(1, source.number)
            move.bind(2, target.number)
            try move.run()
        } else if let sourceHot {
            try forget(shard: source.number)
            try writeParts(sourceHot, shard: target.number)
        }
        let unmark = try statement("DELETE FROM \(builtTable) WHERE shard = ?1")
        unmark.bind(1, source.number)
        try unmark.run()
        try forgetPrefix(shard: source.number)
        try forgetPrefix(shard: target.number)
        let mark = try statement("INSERT OR REPLACE INTO \(builtTable)(shard, stamp) VALUES (?1, ?2)")
        mark.bind(1, target.number)
        mark.bind(2, target.changes)
        try mark.run()
    }

    /// Before shards leave the collection (`shard_drop`, `retain`): their buckets stay,
    /// as partials kept for good.
    func keep(_ shards: [ShardInfo], of collection: ShardedCollection) throws {
        try makeTables()
        let built = try builtStamps()
        for s in shards {
            if built[s.number]?.stamp != s.changes { try build(s, of: collection) }
            let stmt = try statement("UPDATE \(builtTable) SET kept = 1 WHERE shard = ?1")
            stmt.bind(1, s.number)
            try stmt.run()
            try forgetPrefix(shard: s.number)
        }
    }

    /// The partials of one shard, replacing any it had.
    private func build(_ s: ShardInfo, of collection: ShardedCollection) throws {
        try forget(shard: s.number)
        if try buildFromHotParts(s) {
            try markBuilt(s)
            try notePrefix(of: s)
            return
        }
        let select = wholeShard
        if s.file != nil {
            // An archived shard is read on its archive's connection, its rows copied here.
            let (archiveDb, cache, sql) = try statementSource(s, of: collection, select)
            let read = try cache.checkout(archiveDb, sql)
            defer { cache.checkin(read) }
            read.bind(1, Time.minimum)
            read.bind(2, Time.maximum)
            let width = Int32(3 + options.groups.count + RollupSelect.width(options))
            let insert = try statement("INSERT INTO \(partialsTable) VALUES (" + (1...width).map { "?\($0)" }.joined(separator: ", ") + ")")
            while try read.step() {
                insert.bind(1, s.number)
                for i in 1..<width { insert.bind(i + 1, read.value(i - 1)) }
                try insert.run()
            }
        } else {
            let from = collection.qualified(s.storedTable) + (s.isCompressed ? select.compressedTail : select.tail)
            let insert = try collection.statements.checkout("INSERT INTO \(partialsTable) SELECT ?3, \(select.columns)\(from)")
            defer { collection.statements.checkin(insert) }
            insert.bind(3, s.number)
            insert.bind(1, Time.minimum)
            insert.bind(2, Time.maximum)
            try insert.run()
            if s.isLive && scanPaths != nil {
                // Kept in memory too: late documents then add to them, and upkeep writes
                // them again without reading the shard.
                let read = try statement("SELECT \(partialColumns) FROM \(partialsTable) WHERE shard = ?1")
                read.bind(1, s.number)
                _ = try keepHotParts(s, rows: read, offset: 0)
            }
        }
        try markBuilt(s)
        try notePrefix(of: s)
    }

    func markBuilt(_ s: ShardInfo) throws {
        let mark = try statement("INSERT INTO \(builtTable)(shard, stamp) VALUES (?1, ?2)")
        mark.bind(1, s.number)
        mark.bind(2, s.changes)
        try mark.run()
    }

    func makeTables() throws {
        if try !hasPartials() {
            var columns = ["shard INTEGER NOT NULL", "b INTEGER NOT NULL"]
            columns += options.groups.indices.map { "g\($0)" }
            columns.append("n INTEGER")
            columns += (0..<RollupSelect.width(options)).map { "c\($0)" }
            try db.exec("CREATE TABLE \(partialsTable)(\(columns.joined(separator: ", ")));"
                + "CREATE INDEX \("main." + SQLText.identifier(name + "_partials_b")) ON \(SQLText.identifier(name + "_partials"))(b);"
                + "CREATE INDEX \("main." + SQLText.identifier(name + "_partials_shard")) ON \(SQLText.identifier(name + "_partials"))(shard);"
                + "CREATE TABLE \(builtTable)(shard INTEGER PRIMARY KEY, stamp INTEGER NOT NULL, kept INTEGER NOT NULL DEFAULT 0)")
        }
    }

    /// Deletes a shard's partials (and its prefix, RollupPrefix.swift); returns the
    /// partial rows deleted.
    @discardableResult
    func forget(shard: Int64) throws -> Int64 {
        var rows: Int64 = 0
        for table in [partialsTable, builtTable] {
            let stmt = try statement("DELETE FROM \(table) WHERE shard = ?1")
            stmt.bind(1, shard)
            try stmt.run()
            if table == partialsTable { rows = db.changes }
        }
        try forgetPrefix(shard: shard)
        return rows
    }

    /// The start of the oldest bucket the rollup's `retain` still answers, counted back
    /// from the bucket of the collection's newest document; nil when it keeps all.
    private func firstRetainedBucket(_ collection: ShardedCollection) -> Int64? {
        guard let retain = options.retain,
              let newest = collection.catalog.shards.compactMap({ $0.isRetired ? nil : $0.maxTs }).max() else { return nil }
        let cut = retain.cutoff(newestPeriodStart: options.bucket.start(of: newest))
        guard cut > Time.minimum else { return nil }
        return timeRange((cut, .max))?.0
    }

    /// Shards in the collection, built, whose every bucket `retain` no longer answers
    /// (before `first`): their partials go whole. Should the newest document leave,
    /// moving `first` back, the shard is aggregated at query time again.
    private func retainedAway(_ collection: ShardedCollection, _ built: [Int64: (stamp: Int64, kept: Bool)],
                              _ first: Int64?) -> [Int64] {
        guard let first else { return [] }
        return collection.catalog.shards.filter { s in
            !s.isRetired && built[s.number]?.kept == false && s.timeBounds.hi < first
        }.map(\.number)
    }

    /// Deletes the partial rows of kept shards (gone from the collection) in buckets
    /// before `first`, at most `limit` (nil: all), and the marks of kept shards left
    /// without a row. Returns rows deleted. A shard still in the collection keeps its
    /// rows: its partials stay whole, whatever `first` becomes.
    private func trimRetained(before first: Int64?, limit: Int64?) throws -> Int64 {
        guard let first else { return 0 }
        // b is the bucket's start, or a day of a month bucket: before a bucket start
        // exactly when its bucket starts before it.
        let stmt = try statement("DELETE FROM \(partialsTable) WHERE rowid IN "
            + "(SELECT rowid FROM \(partialsTable) WHERE b < ?1 "
            + "AND shard IN (SELECT shard FROM \(builtTable) WHERE kept = 1) LIMIT ?2)")
        stmt.bind(1, first)
        stmt.bind(2, limit ?? -1)
        try stmt.run()
        let rows = db.changes
        if rows > 0 {
            try db.exec("DELETE FROM \(builtTable) WHERE kept = 1 AND shard NOT IN (SELECT shard FROM \(partialsTable))")
        }
        return rows
    }

    private func builtStamps() throws -> [Int64: (stamp: Int64, kept: Bool)] {
        let stmt = try statement("SELECT shard, stamp, kept FROM \(builtTable)")
        var out: [Int64: (stamp: Int64, kept: Bool)] = [:]
        while try stmt.step() { out[stmt.int64(0)] = (stmt.int64(1), stmt.int64(2) != 0) }
        return out
    }

    /// xDestroy: the shadow tables go with the rollup.
    func dropShadowTables() throws {
        prepared = [:]
        try db.exec("DROP TABLE IF EXISTS \(partialsTable); DROP TABLE IF EXISTS \(builtTable); DROP TABLE IF EXISTS \(prefixTable)")
    }

    // MARK: - answering

    /// The buckets of the documents the query selects.
    func aggregate(_ query: Query) throws -> RollupBuckets {
        var buckets = RollupBuckets(measures: options.measures, groups: options.groups.count, expected: lastAnswer)
        defer { lastAnswer = buckets.count }
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
        let conditions = query.conditions.map { RollupSelect.groupExpression(options, $0.group) + " " + $0.test }
        // Made only for a shard aggregated whole (most queries read partials, prefixes and parts in memory).
        lazy var select = RollupSelect(options: options, conditions: conditions)
        let built: [Int64: (stamp: Int64, kept: Bool)] = try hasPartials() ? try builtStamps() : [:]
        // Kept partials of shards gone from the collection answer for good.
        var fromPartials = Set(built.filter { $0.value.kept }.keys)
        // Built shards whose partials hold: the kept ones, and those built at their stamp.
        var current = fromPartials.count
        for shard in collection.catalog.shards where !shard.isRetired {
            let mark = built[shard.number]
            let isBuilt = mark?.stamp == shard.changes
            if isBuilt && mark?.kept == false { current += 1 }
            let (lo, hi) = shard.timeBounds
            guard hi >= tsLo, lo <= tsHi else { continue }
            if isBuilt {
                fromPartials.insert(shard.number)
            } else if let sums = hotParts(of: shard) {
                try addHotParts(sums, tsLo, tsHi, query, into: &buckets)
            } else if try addAfterPrefix(shard, built: mark, of: collection, conditions: conditions,
                                         parameters: query.parameters, tsLo, tsHi, into: &buckets) {
                fromPartials.insert(shard.number)   // its prefix's rows
            } else if let sums = try seedHotParts(shard, of: collection) {
                try addHotParts(sums, tsLo, tsHi, query, into: &buckets)
            } else {
                try aggregate(shard, of: collection, select, tsLo, tsHi, query.parameters, into: &buckets)
            }
        }
        if !fromPartials.isEmpty {
            // Every partial row is current when every built shard is (or kept): none to skip.
            try addPartials(of: current == built.count ? nil : fromPartials, tsLo, tsHi,
                            whole: starts.lo <= Time.minimum && starts.hi >= Time.maximum, query, into: &buckets)
        }
        return buckets
    }

    /// Adds the partial rows in [tsLo, tsHi] that pass the query's conditions, of the
    /// shards `shards` (nil: of every shard), by one statement over the partials. A
    /// query without bounds on buckets reads the table in its order (the partials are
    /// written shard by shard, each by bucket and group values: the answer's order then
    /// has little to do), a bounded one through the index on b, in its order.
    private func addPartials(of shards: Set<Int64>?, _ tsLo: Int64, _ tsHi: Int64, whole: Bool, _ query: Query,
                             into buckets: inout RollupBuckets) throws {
        var sql = "SELECT " + (shards == nil ? "" : "shard, ") + partialColumns
        // A unary + keeps SQLite from using the index on b for the whole range.
        sql += whole ? " FROM \(partialsTable) WHERE +b >= ?1 AND +b <= ?2" : " FROM \(partialsTable) WHERE b >= ?1 AND b <= ?2"
        for c in query.conditions { sql += " AND g\(c.group) \(c.test)" }
        if !whole { sql += " ORDER BY b" }
        let collection = try source()
        let stmt = try collection.statements.checkout(sql)
        defer { collection.statements.checkin(stmt) }
        stmt.bind(1, tsLo)
        stmt.bind(2, tsHi)
        for (i, p) in query.parameters.enumerated() { stmt.bind(Int32(i + 3), p) }
        let reads = query.reads.isEmpty ? allRead : query.reads
        guard let shards else {
            while try stmt.step() { try addRow(stmt, offset: 0, reads: reads, into: &buckets) }
            return
        }
        // Rows of shards changed since are skipped. Rows of one shard mostly come
        // together: its last answer is kept.
        let sorted = shards.sorted()
        var last: (shard: Int64, read: Bool) = (.min, false)
        while try stmt.step() {
            let shard = stmt.int64(0)
            if shard != last.shard { last = (shard, binarySearch(sorted, shard)) }
            guard last.read else { continue }
            try addRow(stmt, offset: 1, reads: reads, into: &buckets)
        }
    }

    /// The ts range of the whole buckets whose starts lie in `starts`; nil when none does.
    private func timeRange(_ starts: (lo: Int64, hi: Int64)) -> (Int64, Int64)? {
        let bucket = options.bucket
        let lo = max(starts.lo, Time.minimum), hi = min(starts.hi, Time.maximum)
        guard lo <= hi else { return nil }
        var first = bucket.start(of: lo)
        // A bucket starting before the lower bound is out, unless there was none: the
        // earliest time's bucket (a week, a month) can start before it.
        if first < lo && starts.lo > Time.minimum { first = bucket.end(ofBucketStartingAt: first) }
        let last = bucket.start(of: hi)
        guard first <= last else { return nil }
        return (first, bucket.end(ofBucketStartingAt: last) - 1)
    }

    /// Aggregates one shard at query time.
    private func aggregate(_ shard: ShardInfo, of collection: ShardedCollection, _ select: RollupSelect,
                           _ tsLo: Int64, _ tsHi: Int64, _ parameters: [ValueCopy], into buckets: inout RollupBuckets) throws {
        let (db, cache, sql) = try statementSource(shard, of: collection, select)
        let stmt = try cache.checkout(db, sql)
        defer { cache.checkin(stmt) }
        stmt.bind(1, tsLo)
        stmt.bind(2, tsHi)
        for (i, p) in parameters.enumerated() { stmt.bind(Int32(i + 3), p) }
        while try stmt.step() { try addRow(stmt, offset: 0, reads: allRead, into: &buckets) }
    }

    /// Where a shard's `RollupSelect` runs: its connection (the archive's for an archived
    /// shard), that connection's statement cache, and the SQL.
    private func statementSource(_ shard: ShardInfo, of collection: ShardedCollection,
                                 _ select: RollupSelect) throws -> (Database, StatementCache, String) {
        guard shard.file != nil else {
            return (collection.db, collection.statements.cache,
                    select.head + collection.qualified(shard.storedTable) + (shard.isCompressed ? select.compressedTail : select.tail))
        }
        let archive = try collection.archive(of: shard)
        // An archive's own connection knows the sketch functions once told.
        if !options.sketchMeasures.isEmpty,
           try archive.db.scalarInt("SELECT count(*) FROM pragma_function_list WHERE name = 'shards_quantile_state'") == 0 {
            try registerSketchFunctions(archive.db)
        }
        return (archive.db, archive.statements, select.head + "\"main\"." + SQLText.identifier(shard.archiveTable) + select.tail)
    }

    /// Adds one row laid out as `RollupSelect`'s, from column `offset` on: to the entry
    /// of its bucket and group values, found by their ids in the answer (each value
    /// hashed and compared in place, made only when new to the answer). A measure not
    /// in `reads` is neither read nor combined: its part stays empty.
    func addRow(_ stmt: Statement, offset: Int32, reads: [Bool], into buckets: inout RollupBuckets) throws {
        let groups = buckets.width
        var start = stmt.int64(offset)
        if !fixedWidth { start = options.bucket.start(of: start) }
        let ids = groupIDs
        for g in 0..<groups { ids[g] = valueID(stmt.value(offset + Int32(1 + g)), in: &buckets) }
        let group = UnsafeBufferPointer(start: ids, count: groups)
        let i = buckets.find(bucket: start, group: group)
        let count = stmt.int64(offset + Int32(1 + groups))
        var col = offset + Int32(2 + groups)
        let kinds = self.kinds
        if i >= 0 {
            buckets.add(i, count: count)
            for m in kinds.indices {
                if reads[m] { try buckets.combine(i, m, part(kinds[m], stmt, col)) }
                col += Int32(RollupSelect.width(kinds[m]))
            }
            return
        }
        // Nothing read here can fail (a sketch's state is read when combined or answered).
        buckets.append(bucket: start, group: group, count: count)
        for m in kinds.indices {
            buckets.append(part: reads[m] ? part(kinds[m], stmt, col) : Self.empty(kinds[m]))
            col += Int32(RollupSelect.width(kinds[m]))
        }
    }

    /// The part of a measure not read: one that others of its kind combine with.
    private static func empty(_ kind: RollupMeasure.Kind) -> RollupPart {
        switch kind {
        case .min, .max: .extreme(.null)
        case .distinct: .distinct(DistinctSketch())
        case .quantile: .quantile(QuantileSketch())
        default: .sum(count: 0, total: .null)
        }
    }

    /// A measure's part from the statement's columns from `col` on (a sketch's state
    /// as stored: it is read when combined or answered).
    @inline(__always) private func part(_ kind: RollupMeasure.Kind, _ stmt: Statement, _ col: Int32) -> RollupPart {
        switch kind {
        case .count: return .sum(count: 0, total: .null)
        case .sum, .avg: return .sum(count: stmt.int64(col), total: rollupValue(stmt.value(col + 1)))
        case .min, .max: return .extreme(rollupValue(stmt.value(col)))
        case .distinct, .quantile: return .stored(stmt.blob(col) ?? [])
        }
    }
}

/// The id in `buckets` of a statement's value, found without copying it.
@inline(__always) private func valueID(_ s: OpaquePointer?, in buckets: inout RollupBuckets) -> Int32 {
    let empty = UnsafeRawBufferPointer(start: nil, count: 0)
    switch valueType(s) {
    case SQLITE_INTEGER: return buckets.valueID(integer: valueInt64(s))
    case SQLITE_FLOAT: return buckets.valueID(real: valueDouble(s))
    case SQLITE_TEXT: return buckets.valueID(text: valueTextBytes(s) ?? empty)
    case SQLITE_BLOB: return buckets.valueID(blob: valueBlobBytes(s) ?? empty)
    default: return buckets.valueIDNull()
    }
}

/// Whether sorted `list` holds `x`.
private func binarySearch(_ list: [Int64], _ x: Int64) -> Bool {
    var lo = 0, hi = list.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if list[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    return lo < list.count && list[lo] == x
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
