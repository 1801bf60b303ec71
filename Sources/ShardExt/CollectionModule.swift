import CShardShim
import ShardCore

// The `shards` virtual-table module: each method is a thin adapter from SQLite's
// calling convention to `ShardedCollection` (state, writes) and `ScanCursor` (reads).

@inline(__always) private func collectionOf(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?) -> ShardedCollection {
    vtabObject(vtab, as: ShardedCollection.self)
}

@inline(__always) private func cursorOf(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> ScanCursor {
    cursorObject(cur, as: ScanCursor.self)
}

/// xCreate / xConnect (through `connectVtab`): parse the options, create or open the
/// collection; its columns are declared.
private func openCollection(_ a: VtabArguments, create: Bool) throws -> (object: ShardedCollection, declaration: String) {
    let (connection, db, schema, name) = (a.connection, a.db, a.schema, a.name)
    let options = try CollectionOptions.parse(arguments: a.arguments)
    try CollectionName.validate(name)
    if create && options.buffer > 0 {
        try Replication.requireLocalFiles(db, schema: schema, for: "buffer = \(options.buffer)", because: Replication.bufferedRows)
    }
    let collection = try connection.attach(schema: schema, name: name, create: create) {
        create
            ? try ShardedCollection.create(db: db, schema: schema, name: name, options: options)
            : try ShardedCollection.connect(db: db, schema: schema, name: name, options: options, connection: connection)
    }
    if !create { try collection.declareColumns(connection: connection) }
    return (collection, collection.columns.declaration)
}

private func disconnect(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, destroy: Bool) -> Int32 {
    let collection = collectionOf(vtab)
    if destroy {
        let rc = guarded(vtab) { try collection.dropAll() }
        if rc != SQLITE_OK { return rc }
    }
    collection.connection?.detach(collection, dropped: destroy)
    return freeVtab(vtab)
}

/// xBestIndex: which constraints the shards can answer, and the plan for xFilter
/// (encoded in idxStr as `ScanPlan` describes). `ScanPlanner` decides (what the
/// shards answer is written there); this hands it SQLite's offer and writes its answer back.
private func bestIndex(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, _ info: UnsafeMutablePointer<sqlite3_index_info>?) -> Int32 {
    let collection = collectionOf(vtab)
    let info = info!
    let constraints = (0..<Int32(info.pointee.nConstraint)).map { i in
        let c = info.pointee.aConstraint[Int(i)]
        let op = plannerOp(Int32(c.op))
        // (Only a comparison has a collation.)
        var binary = true
        if c.usable != 0 && op != .limit && op != .offset, let coll = api.pointee.vtab_collation(info, i) {
            binary = String(cString: coll).uppercased() == "BINARY"
        }
        return ScanPlanner.Constraint(column: Int(c.iColumn), op: op, usable: c.usable != 0, binary: binary,
                                      wholeIn: op == .eq && api.pointee.vtab_in(info, i, -1) != 0)
    }
    let orderBy = (0..<Int(info.pointee.nOrderBy)).map {
        ScanPlanner.OrderTerm(column: Int(info.pointee.aOrderBy[$0].iColumn), descending: info.pointee.aOrderBy[$0].desc != 0)
    }
    let planner: ScanPlanner
    do {
        planner = try ScanPlanner(columns: collection.columns, columnsUsed: info.pointee.colUsed,
                                  totalRows: collection.catalog.totalRows, constraints: constraints, orderBy: orderBy)
    } catch {
        return failVtab(vtab, error)
    }
    for (i, use) in planner.usage.enumerated() {
        info.pointee.aConstraintUsage[i].argvIndex = use.argvIndex
        if use.omit { info.pointee.aConstraintUsage[i].omit = 1 }
        if use.wholeIn { _ = api.pointee.vtab_in(info, Int32(i), 1) }
    }
    if planner.orderConsumed { info.pointee.orderByConsumed = 1 }
    info.pointee.idxStr = shard_strdup(planner.plan.encoded)
    info.pointee.needToFreeIdxStr = 1
    info.pointee.estimatedRows = planner.estimate.estimatedRows
    info.pointee.estimatedCost = planner.estimate.cost
    if planner.estimate.unique { info.pointee.idxFlags |= Int32(SQLITE_INDEX_SCAN_UNIQUE) }
    return SQLITE_OK
}

private func plannerOp(_ op: Int32) -> ScanPlanner.Op {
    switch op {
    case SQLITE_INDEX_CONSTRAINT_EQ: .eq
    case SQLITE_INDEX_CONSTRAINT_GT: .gt
    case SQLITE_INDEX_CONSTRAINT_GE: .ge
    case SQLITE_INDEX_CONSTRAINT_LT: .lt
    case SQLITE_INDEX_CONSTRAINT_LE: .le
    case SQLITE_INDEX_CONSTRAINT_ISNULL: .isnull
    case SQLITE_INDEX_CONSTRAINT_LIKE: .like
    case SQLITE_INDEX_CONSTRAINT_GLOB: .glob
    case SQLITE_INDEX_CONSTRAINT_NE: .ne
    case SQLITE_INDEX_CONSTRAINT_IS: .is
    case SQLITE_INDEX_CONSTRAINT_ISNOT: .isnot
    case SQLITE_INDEX_CONSTRAINT_LIMIT: .limit
    case SQLITE_INDEX_CONSTRAINT_OFFSET: .offset
    default: .other
    }
}

/// xUpdate: INSERT (argv[0] NULL), DELETE (argc 1), UPDATE (otherwise).
private func update(
    _ vtab: UnsafeMutablePointer<sqlite3_vtab>?, _ argc: Int32, _ argv: ValueArray?,
    _ rowidOut: UnsafeMutablePointer<sqlite_int64>?
) -> Int32 {
    let collection = collectionOf(vtab)
    let argv = argv!
    return guarded(vtab) {
        if argc == 1 {
            try collection.delete(id: valueInt64(argv[0]))
            return
        }
        // argv[2 + column number] are the new column values, for the columns this
        // instance declared (an instance connected before ensure_json_index added
        // one has fewer).
        let columns = collection.columns
        func value(_ c: Column) -> OpaquePointer? { argv[2 + columns.number(c)] }
        let id = value(.id), ts = value(.ts), doc = value(.doc)
        // Columns computed from doc: shard, the indexes, filter.
        let derived = ([Column.shard] + columns.indexes.indices.map { .index($0) } + [.filter])
            .filter { columns.number($0) < Int(argc) - 2 }
        if valueType(argv[0]) == SQLITE_NULL {
            if valueType(argv[1]) != SQLITE_NULL || valueType(id) != SQLITE_NULL {
                throw ShardError("ids are assigned by the collection; insert without id")
            }
            for c in derived where valueType(value(c)) != SQLITE_NULL {
                throw ShardError("column \(columns.name(c)) is computed from doc; insert only doc (and ts)")
            }
            rowidOut!.pointee = try collection.insert(doc: doc, explicitTs: ts)
            return
        }
        let old = valueInt64(argv[0])
        if valueType(argv[1]) != SQLITE_INTEGER || valueInt64(argv[1]) != old
            || (!valueIsUnchanged(id) && valueInt64(id) != old) {
            throw ShardError("the id of a document cannot change")
        }
        for c in derived where !valueIsUnchanged(value(c)) {
            throw ShardError("column \(columns.name(c)) is computed from doc and cannot be set")
        }
        let docChanged = !valueIsUnchanged(doc)
        let tsChanged = !valueIsUnchanged(ts)
        guard docChanged || tsChanged else { return }
        try collection.update(id: old, doc: doc, docChanged: docChanged, explicitTs: ts, tsChanged: tsChanged)
    }
}

/// A counting scan asked for a rowid or a column (colUsed leaves the rowid out): from
/// here on it reads its rows, past those it stepped over.
private func readRowsIfCounting(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?, _ cursor: ScanCursor) throws {
    let c = cursorStruct(cur)
    guard c.pointee.countLeft >= 0 else { return }
    let stepped = cursor.countedRows - c.pointee.countLeft
    c.pointee.countLeft = -1
    try cursor.readRows(stepped: stepped)
}

let collectionModule: UnsafeMutablePointer<sqlite3_module> = {
    let m = UnsafeMutablePointer<sqlite3_module>.allocate(capacity: 1)
    m.initialize(to: sqlite3_module())
    // Version 3 for xShadowName (SQLite 3.26+).
    m.pointee.iVersion = 3
    m.pointee.xCreate = { connectVtab($0, $1, $2, $3, $4, $5, open: { try openCollection($0, create: true) },
                                      connected: { c, a in c.connection = a.connection }) }
    m.pointee.xConnect = { connectVtab($0, $1, $2, $3, $4, $5, open: { try openCollection($0, create: false) },
                                       connected: { c, a in c.connection = a.connection }) }
    m.pointee.xBestIndex = { bestIndex($0, $1) }
    m.pointee.xDisconnect = { disconnect($0, destroy: false) }
    m.pointee.xDestroy = { disconnect($0, destroy: true) }
    m.pointee.xOpen = { vtab, out in makeCursor(ScanCursor(collection: collectionOf(vtab)), out) }
    m.pointee.xClose = { freeCursor($0) }
    m.pointee.xFilter = { cur, _, idxStr, argc, argv in
        let cursor = cursorOf(cur)
        cursorStruct(cur).pointee.countLeft = -1
        return guarded(cur!.pointee.pVtab) {
            guard let idxStr, let (plan, encoded) = cursor.collection.statements.shapes.plan(idxStr) else {
                throw ShardError("internal error: bad scan plan")
            }
            try cursor.filter(plan: plan, encoded: encoded, argv: argv, argc: argc)
            cursorStruct(cur).pointee.countLeft = cursor.countedRows
        }
    }
    // A counting scan (count(*)) steps in the cursor's C struct alone.
    m.pointee.xNext = { cur in
        let c = cursorStruct(cur)
        if c.pointee.countLeft > 0 {
            c.pointee.countLeft -= 1
            if c.pointee.countLeft == 0 { cursorOf(cur).countingEnded() }
            return SQLITE_OK
        }
        let cursor = cursorOf(cur)
        return guarded(cur!.pointee.pVtab) { try cursor.next() }
    }
    m.pointee.xEof = { cur in
        let left = cursorStruct(cur).pointee.countLeft
        if left >= 0 { return left == 0 ? 1 : 0 }
        return cursorOf(cur).eof ? 1 : 0
    }
    m.pointee.xColumn = { cur, ctx, i in
        // During UPDATE, columns the statement does not change are left unread.
        if api.pointee.vtab_nochange(ctx) != 0 { return SQLITE_OK }
        let cursor = cursorOf(cur)
        return guarded(cur!.pointee.pVtab) {
            try readRowsIfCounting(cur, cursor)
            cursor.column(ctx, Int(i))
        }
    }
    m.pointee.xRowid = { cur, out in
        let cursor = cursorOf(cur)
        return guarded(cur!.pointee.pVtab) {
            try readRowsIfCounting(cur, cursor)
            out!.pointee = cursor.rowid
        }
    }
    m.pointee.xUpdate = { update($0, $1, $2, $3) }
    m.pointee.xBegin = { vtab in
        collectionOf(vtab).began()
        return SQLITE_OK
    }
    m.pointee.xSync = { vtab in
        let c = collectionOf(vtab)
        return guarded(vtab) { try c.sync() }
    }
    m.pointee.xCommit = { vtab in
        collectionOf(vtab).committed()
        return SQLITE_OK
    }
    m.pointee.xRollback = { vtab in
        collectionOf(vtab).rolledBack()
        return SQLITE_OK
    }
    m.pointee.xRename = { vtab, _ in
        failVtab(vtab, ShardError("a collection cannot be renamed; create a new one and copy the documents"))
    }
    m.pointee.xSavepoint = { vtab, n in
        collectionOf(vtab).savepoint(n)
        return SQLITE_OK
    }
    m.pointee.xRelease = { _, _ in SQLITE_OK }
    m.pointee.xRollbackTo = { vtab, n in
        // Shard tables and the catalog rolled back with SQLite; memory reloads from them.
        collectionOf(vtab).rolledBack(toSavepoint: n)
        return SQLITE_OK
    }
    m.pointee.xShadowName = { name in
        guard let name else { return 0 }
        return ShardTableName.isShadowSuffix(String(cString: name)) ? 1 : 0
    }
    return m
}()
