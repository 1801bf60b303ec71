import CShardShim
import ShardCore

/// A scan over the shards a plan selects. Shards are read in groups: one shard at a
/// time with no order; for id or ts order, shards whose id or time ranges overlap are
/// read together and merged on id or (ts, id), so no sort is needed above us. In an
/// ordered scan a compressed shard is read block by block, each block a source of its
/// own opened only when the scan reaches its range, so a LIMIT stops after the first
/// few blocks in that order; so is one with an equality probe, whose filter then rules
/// blocks out before their data is read.
final class ScanCursor {
    let collection: ShardedCollection
    private var plan = ScanPlan()

    /// What every shard statement binds, as ?1, ?2, ... (`ScanRequest.parameters`).
    private var parameters: [ScanRequest.Parameter] = []
    /// Copies of the values xFilter was given, an IN list's items each, in order.
    private var copies: [ValueCopy] = []
    /// The query document this scan applied (a copy), the value of its `filter` column.
    private var appliedDocument: ValueCopy?

    /// The SELECT of every shard, split around its table name, and each shard's text:
    /// found (or built) once per xFilter.
    private var shape: ScanShape?
    /// The statement column of each collection column (the shape's select's).
    private var columnMap: [Int32] = []
    /// The scan's ts bounds: a shard whose span lies inside an end of them is read
    /// without that end's terms.
    private var timeBounds = IntBounds()
    private var numbering = ScanNumbering(conditionCount: 0, limited: false)
    /// The path hash of the scan's block probe (`ShardSelect.BlockProbe`), if any.
    private var probePath: UInt64?

    /// What one stream reads: a whole shard, or one block of a compressed shard.
    private struct Source {
        let shard: ShardInfo
        /// The range of its rows in the scan's order: ts, or id.
        let lo: Int64, hi: Int64
        /// For one block: its rowid.
        var block: Int64? = nil
    }
    private var groups: [[Source]] = []
    /// The sources of the group being read, in the order they may be needed, and the
    /// next one to open.
    private var pending: [Source] = []
    private var nextPending = 0
    /// The highest id of each live shard to visit, taken at xFilter: the scan reads the
    /// collection as of its start, not the rows its own statement writes meanwhile.
    private var lastIds: [Int64: Int64] = [:]
    private var nextGroup = 0

    /// One open shard statement, positioned on a row.
    private final class Stream {
        let shard: ShardInfo
        let stmt: Statement
        /// Where the statement goes back: the collection's cache or an archive's.
        let cache: StatementCache
        /// The highest id the shard held when the scan started: a row above it was
        /// written since (by the scan's own statement, say) and is not read.
        let lastId: Int64
        init(shard: ShardInfo, stmt: Statement, cache: StatementCache, lastId: Int64) {
            self.shard = shard
            self.stmt = stmt
            self.cache = cache
            self.lastId = lastId
        }

        /// Steps to the next row the scan may see; false at the end. `checkIds`: the
        /// collection was written since the scan started, so a row may be newer than it.
        @inline(__always) func step(checkIds: Bool = true) throws -> Bool {
            guard checkIds else { return try stmt.step() }
            while try stmt.step() {
                if stmt.int64(0) <= lastId { return true }
            }
            return false
        }
    }
    private var streams: [Stream] = []
    /// The collection's `shardWrites` when the scan started.
    private var writesAtStart = 0
    /// Slots of `streams` whose stream ended (its statement went back).
    private var freeSlots: [Int] = []
    /// Holds the read transaction while the scan has shards to read (`readyToScan`).
    private var readPin: Statement?
    /// Indices into `streams`, a binary heap on (ts, id), or id alone, in the scan's
    /// direction: the streams that hold a statement.
    private var heap = MergeHeap<Int>()

    /// Rows returned and the most that can be wanted (LIMIT + OFFSET).
    private var returned: Int64 = 0
    private var cap: Int64 = .max
    private(set) var eof = true
    /// For a scan that only counts (`ScanPlan.onlyCounts`): the rows it steps over, from
    /// the catalog, without reading one; -1 for a scan that reads its rows. The module
    /// steps them in the cursor's C struct (`countLeft`), with no call into this object.
    private(set) var countedRows: Int64 = -1
    /// That scan's plan as xFilter got it, to read the rows after all (`readRows`).
    private var countedPlanText = ""

    init(collection: ShardedCollection) { self.collection = collection }

    deinit { release() }

    // MARK: - xFilter

    /// xFilter. `readingRows`: read the rows even when the plan only counts them.
    func filter(plan: ScanPlan, encoded: String, argv: ValueArray?, argc: Int32, readingRows: Bool = false) throws {
        release()
        self.plan = plan
        readPin = try collection.readyToScan()
        if plan.onlyCounts && !readingRows {
            // The catalog's counters are exact for every write path, this connection's
            // unsynced ones included (readyToScan wrote its buffer and caught up). An
            // archived shard's file is still opened and checked (once per opening, then
            // kept): a count skips nothing silently, a missing file is an error as in a scan.
            for s in collection.catalog.shards where s.file != nil && !s.isRetired {
                _ = try collection.archive(of: s)
            }
            countedRows = collection.catalog.totalRows
            countedPlanText = encoded
            if countedRows == 0 { finish() }
            return
        }
        writesAtStart = collection.shardWrites
        let request = try makeRequest(plan: plan, argv: argv)
        parameters = request.parameters
        appliedDocument = request.documentArgument.map { copies[$0] }
        timeBounds = request.pruning.times
        cap = request.cap
        numbering = request.numbering
        let (shards, skipped) = request.visits(collection.catalog.shards)
        groups = makeGroups(shards)
        for shard in shards where shard.isLive { lastIds[shard.number] = shard.maxId ?? shard.ids.lowerBound - 1 }
        shape = collection.statements.shapes.shape(key: request.shapeKey(plan: encoded)) {
            ShardSelect(plan: plan, columns: collection.columns, conditions: request.conditions,
                        numbering: request.numbering, blockProbe: request.blockProbe)
        }
        columnMap = shape!.select.columnMap
        probePath = request.blockProbe?.pathHash
        collection.traceScan(visiting: shards.count, skippedBySummary: skipped)

        returned = 0
        eof = false
        if try cap == 0 || !openNextGroup() { finish() }
    }

    /// The scan request of xFilter's arguments, copied (`copies`) for the statements
    /// to bind (an IN list's items as they come: SQLite reuses one value object).
    private func makeRequest(plan: ScanPlan, argv: ValueArray?) throws -> ScanRequest {
        let columns = collection.columns
        var arguments: [ScanRequest.Argument] = []
        for term in plan.terms where term.op.takesArgument || !columns.has(term.column) {
            // A plan of an instance declared before a rolled-back ensure_json_index may
            // name a column the collection no longer has; SQLite prepares it again.
            guard columns.has(term.column) else {
                throw SQLiteError(code: SQLITE_SCHEMA, reason: "the columns of '\(collection.name)' changed; prepare the statement again")
            }
            let v = argv![arguments.count]
            switch term.op {
            case .in:
                let list = try ValueCopy.inList(v, db: collection.db)
                copies += list
                arguments.append(.list(list.map { Self.requestValue($0.handle) }))
                continue
            // LIMIT and OFFSET as SQLite reads an integer; a query document as text.
            case .limit, .offset: arguments.append(.value(.integer(valueInt64(v))))
            case .match: arguments.append(.value(valueType(v) == SQLITE_NULL ? .null : .text(Array(valueTextBytes(v) ?? .init(start: nil, count: 0)))))
            default: arguments.append(.value(Self.requestValue(v)))
            }
            copies.append(ValueCopy(v))
        }
        var request = try ScanRequest(plan: plan, columns: columns, arguments: arguments,
                                      variableLimit: Int(collection.db.limit(SQLITE_LIMIT_VARIABLE_NUMBER))) {
            valueText(copies[$0].handle) ?? ""   // SQLite's own spelling of the number
        }
        // Ids name their shards by number; shards merged since hold them in another table.
        try request.mapShardNumbers { try collection.holder(ofShard: $0)?.number }
        return request
    }

    private static func requestValue(_ v: OpaquePointer?) -> ScanRequest.Value {
        switch valueType(v) {
        case SQLITE_INTEGER: return .integer(valueInt64(v))
        case SQLITE_FLOAT: return .real(valueDouble(v))
        case SQLITE_TEXT: return .text(Array(valueTextBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0)))
        case SQLITE_NULL: return .null
        default: return .blob
        }
    }

    /// Shards whose id ranges (id order) or time ranges (ts order) overlap form one
    /// group, merged; groups follow each other in that order. A merged table holds
    /// the ids of several shards, so id ranges can overlap too. No order: one by one,
    /// by their lowest id, so a full scan comes out in id order wherever the tables'
    /// id ranges do not overlap, as a plain table's does (hosts such as Datasette page
    /// through ties in that order).
    private func makeGroups(_ shards: [ShardInfo]) -> [[Source]] {
        if plan.order == .none {
            return shards.sorted { $0.ids.lowerBound < $1.ids.lowerBound }
                .map { [Source(shard: $0, lo: $0.ids.lowerBound, hi: $0.ids.upperBound)] }
        }
        let sources = shards.map { s in
            let (lo, hi) = plan.order.byTime ? s.timeBounds : (s.ids.lowerBound, s.ids.upperBound)
            return Source(shard: s, lo: lo, hi: hi)
        }
        return ordered(sources)
    }

    /// Sources grouped where their ranges overlap, groups in the scan's direction.
    private func ordered(_ sources: [Source]) -> [[Source]] {
        let groups = overlapGroups(sources) { ($0.lo, $0.hi) }
        return plan.order.isDescending ? groups.reversed() : groups
    }

    /// A compressed shard not yet split into its blocks, in a scan that reads them one
    /// by one: an ordered one, or one whose block probe can skip blocks.
    private func needsSplit(_ s: Source) -> Bool {
        (plan.order != .none || probePath != nil) && s.block == nil && s.shard.isCompressed && s.shard.file == nil
    }

    /// The blocks of a compressed shard inside the scan's bounds, each a source, but
    /// for those the probe rules out (as shards_block would, before their data is read).
    private func appendBlocks(of shard: ShardInfo, to sources: inout [Source]) throws {
        let stmt = try collection.statements.checkout(shape!.sql(table: shard.storedTable, tail: .blockRanges, in: collection))
        defer { collection.statements.checkin(stmt) }
        for i in 0..<min(parameters.count, stmt.parameterCount) { bind(stmt, Int32(i + 1), parameters[i]) }
        while try stmt.step() {
            if let path = probePath, valueType(stmt.value(3)) == SQLITE_BLOB, let keys = valueBlobBytes(stmt.value(3)),
               let value = filterValue(stmt.value(4)), !BlockFilter.mayContain(keys, pathHash: path, value) {
                continue
            }
            sources.append(Source(shard: shard, lo: stmt.int64(0), hi: stmt.int64(1), block: stmt.int64(2)))
        }
    }

    // MARK: - moving

    /// Opens the next group that has a row; false when none is left.
    private func openNextGroup() throws -> Bool {
        while nextGroup < groups.count {
            let group = groups[nextGroup]
            // A compressed shard is split into its blocks when its group comes up (a
            // LIMIT met earlier never reads its block ranges), and they are grouped
            // again with the group's other sources.
            if group.contains(where: needsSplit) {
                var sources: [Source] = []
                for s in group {
                    if needsSplit(s) { try appendBlocks(of: s.shard, to: &sources) } else { sources.append(s) }
                }
                groups.replaceSubrange(nextGroup...nextGroup, with: ordered(sources))
                continue
            }
            nextGroup += 1
            // Whole shards open at once: their ranges are the catalog's. Blocks, whose
            // ranges are their own, wait until the scan reaches them, in the order they
            // can first be needed: by their lowest value going up, their highest going down.
            pending.removeAll(keepingCapacity: true)
            for s in group {
                if s.block == nil { try open(s) } else { pending.append(s) }
            }
            if plan.order.isDescending { pending.sort { $0.hi > $1.hi } }
            nextPending = 0
            try openPending()
            if !heap.isEmpty { return true }
        }
        return false
    }

    /// Opens the group's blocks whose first row may come before the current one (all
    /// of them until one has a row). Blocks whose time ranges overlap (late documents)
    /// are decompressed only once the scan reaches their range.
    private func openPending() throws {
        while nextPending < pending.count {
            let source = pending[nextPending]
            if let top = heap.top {
                let key = streams[top].stmt.int64(plan.order.byTime ? 1 : 0)
                // Ties on ts are ordered by id: a source starting at the current ts opens.
                guard plan.order.isDescending ? source.hi >= key : source.lo <= key else { return }
            }
            nextPending += 1
            try open(source)
        }
    }

    /// Opens one source's statement; a stream with a row joins the heap.
    private func open(_ source: Source) throws {
        let shard = source.shard
        let tail: ScanShape.Tail = source.block != nil ? .block
            : shard.isCompressed ? .compressed : .rows(inside: timeBounds.covered(shard.timeBounds))
        // An archived shard is read on its archive file's own connection.
        let (db, cache, sql): (Database, StatementCache, String)
        if shard.file != nil {
            let archive = try collection.archive(of: shard)
            (db, cache) = (archive.db, archive.statements)
            sql = shape!.sql(qualifiedTable: "\"main\"." + SQLText.identifier(shard.archiveTable), tail: tail)
        } else {
            (db, cache) = (collection.db, collection.statements.cache)
            sql = shape!.sql(table: shard.storedTable, tail: tail, in: collection)
        }
        let stmt = try cache.checkout(db, sql)
        // Up to the last one this statement uses: a shard's own table skips the
        // five bounds of compressed blocks.
        for i in 0..<min(parameters.count, stmt.parameterCount) { bind(stmt, Int32(i + 1), parameters[i]) }
        if let block = source.block {
            stmt.bind(Int32(numbering.block), block)
            collection.traceShard(shard, sql: sql, block: block)
        } else {
            collection.traceShard(shard, sql: sql)
        }
        // A live shard up to the highest id it held at the start (ids only
        // grow); the others take no writes.
        let lastId = lastIds[shard.number] ?? .max
        let stream = Stream(shard: shard, stmt: stmt, cache: cache, lastId: lastId)
        do {
            guard try stream.step() else {
                cache.checkin(stmt)
                return
            }
        } catch {
            cache.checkin(stmt)
            throw error
        }
        // A slot of a stream that ended, else a new one.
        let slot: Int
        if let free = freeSlots.popLast() {
            streams[free] = stream
            slot = free
        } else {
            streams.append(stream)
            slot = streams.count - 1
        }
        heap.push(slot) { before($0, $1) }
    }

    private func bind(_ stmt: Statement, _ i: Int32, _ p: ScanRequest.Parameter) {
        switch p {
        case .argument(let n): stmt.bind(i, copies[n])
        case .value(.null): stmt.bindNull(i)
        case .value(.integer(let x)): stmt.bind(i, x)
        case .value(.real(let x)): stmt.bind(i, x)
        case .value(.text(let s)): stmt.bind(i, s)
        }
    }

    /// A counting scan asked for a row's rowid or a column after all, having stepped
    /// over `stepped` rows: it becomes a scan that reads the rows, moved past as many.
    func readRows(stepped: Int64) throws {
        guard countedRows >= 0 else { return }
        countedRows = -1
        try filter(plan: plan, encoded: countedPlanText, argv: nil, argc: 0, readingRows: true)
        countedPlanText = ""
        var skipped: Int64 = 0
        while skipped < stepped && !eof {
            try next()
            skipped += 1
        }
    }

    /// The end of a counting scan (its steps are counted in the cursor's C struct).
    func countingEnded() {
        if countedRows >= 0 { finish() }
    }

    /// xNext.
    func next() throws {
        returned += 1
        if returned >= cap {
            eof = true
            return
        }
        let top = heap.top!
        // Ids are read and compared only when the collection was written meanwhile.
        let checkIds = collection.shardWrites != writesAtStart
        let stepped: Bool
        if heap.count == 1 && nextPending >= pending.count {
            // One stream and nothing waiting to open: no order to keep.
            if try streams[top].step(checkIds: checkIds) { return }
            stepped = false
        } else {
            stepped = try streams[top].step(checkIds: checkIds)
        }
        if stepped {
            heap.topMoved { before($0, $1) }
        } else {
            // Only the streams in the heap hold statements.
            streams[top].cache.checkin(streams[top].stmt)
            freeSlots.append(top)
            heap.popTop { before($0, $1) }
        }
        if nextPending < pending.count { try openPending() }
        if !heap.isEmpty { return }
        streams.removeAll(keepingCapacity: true)
        freeSlots.removeAll(keepingCapacity: true)
        if !(try openNextGroup()) { finish() }
    }

    /// The end of the scan: nothing more is read, so the read transaction goes back.
    private func finish() {
        eof = true
        if let pin = readPin { collection.statements.checkin(pin) }
        readPin = nil
    }

    /// Whether stream a's row comes before stream b's in the scan's order.
    @inline(__always) private func before(_ a: Int, _ b: Int) -> Bool {
        let sa = streams[a].stmt, sb = streams[b].stmt
        if !plan.order.byTime {
            let ia = sa.int64(0), ib = sb.int64(0)
            return plan.order.isDescending ? ia > ib : ia < ib
        }
        let ta = sa.int64(1), tb = sb.int64(1)
        let ia = sa.int64(0), ib = sb.int64(0)
        if plan.order.isDescending { return ta > tb || (ta == tb && ia > ib) }
        return ta < tb || (ta == tb && ia < ib)
    }

    // MARK: - reading

    private var current: Stream? { heap.top.map { streams[$0] } }

    var rowid: Int64 { current?.stmt.int64(0) ?? 0 }

    /// xColumn.
    func column(_ ctx: OpaquePointer?, _ i: Int) {
        guard let row = current else { return }
        switch collection.columns.column(i) {
        case .shard:
            resultText(ctx, row.shard.keyText)
            return
        case .filter:
            // The document this scan applied (every row it returns matched it), else
            // NULL, like a plain column nobody set. xBestIndex keeps the cases where
            // NULL would drop rows the document matched from reaching here unnoticed.
            if let matched = appliedDocument { resultValue(ctx, matched.handle) } else { resultNull(ctx) }
            return
        default: break
        }
        let c = i < columnMap.count ? columnMap[i] : -1
        if c < 0 {
            resultNull(ctx)
        } else {
            resultValue(ctx, row.stmt.value(c))
        }
    }

    private func release() {
        for i in heap.all { streams[i].cache.checkin(streams[i].stmt) }
        if let pin = readPin { collection.statements.checkin(pin) }
        readPin = nil
        streams.removeAll()
        freeSlots.removeAll()
        heap.removeAll()
        pending.removeAll()
        nextPending = 0
        appliedDocument = nil
        parameters.removeAll()
        copies.removeAll()
        groups.removeAll()
        lastIds.removeAll(keepingCapacity: true)
        nextGroup = 0
        countedRows = -1
        eof = true
    }
}
