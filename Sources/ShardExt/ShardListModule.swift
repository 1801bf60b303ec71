import CShardShim
import ShardCore

// shard_list: a read-only, eponymous table-valued function over the catalog.
//   SELECT * FROM shard_list('events')      -- one collection
//   SELECT * FROM shard_list                -- every collection in the main database

private let listColumns = ["collection", "shard", "tbl", "period_start", "period_end", "rows", "min_id", "max_id",
                           "min_ts", "max_ts", "state", "file", "bytes"]
private let bytesColumn = 12
/// The hidden argument column (`shard_list('events')`), after the visible ones.
private let argumentColumn = listColumns.count

/// One row of the listing; values are SQL values (Int64, String or nil).
private typealias ListRow = [Any?]

private final class ListTable {
    let connection: Connection
    init(_ connection: Connection) { self.connection = connection }
}

private final class ListCursor {
    var rows: [ListRow] = []
    var position = 0
}

private func listTableOf(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?) -> ListTable {
    vtabObject(vtab, as: ListTable.self)
}

private func listCursorOf(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> ListCursor {
    cursorObject(cur, as: ListCursor.self)
}

/// The rows of one collection's catalog.
private func listing(_ c: ShardedCollection, withBytes: Bool) throws -> [ListRow] {
    try c.readyToRead()
    let now = Clock.nowMilliseconds()
    var rows: [ListRow] = []
    for s in c.catalog.shards where !s.isRetired {
        let state = s.displayState(isNewestOfLine: c.catalog.isNewestOfLine(s), now: now)
        let bytes: Int64? = withBytes ? try c.bytes(of: s) : nil
        rows.append([c.name, s.key.text, s.tableName, s.period.start, s.period.end, s.rows, s.minId, s.maxId,
                     s.minTs, s.maxTs, state, s.file, bytes])
    }
    return rows
}

extension ShardedCollection {
    /// Bytes a shard takes: its table and indexes from dbstat when SQLite has it;
    /// otherwise an estimate (document bytes plus 16 per row, indexes not counted).
    func bytes(of shard: ShardInfo) throws -> Int64? {
        // An archived shard is measured in its archive file.
        let (db, schema) = shard.file != nil ? (try archive(of: shard).db, "main") : (self.db, self.schema)
        let table = shard.file != nil ? shard.archiveTable : shard.storedTable
        if let stat = try? db.prepare("""
            SELECT sum(pgsize) FROM dbstat(\(SQLText.literal(schema)), 1)
            WHERE name IN (SELECT name FROM \(SQLText.identifier(schema)).sqlite_schema WHERE tbl_name = ?1)
            """) {
            try stat.bind([.text(table)])
            if try stat.step() { return stat.optionalInt(0) }
            return nil
        }
        let estimate = shard.isCompressed ? "SELECT total(length(data)) + 48 * count(*)" : "SELECT total(length(doc)) + 16 * count(*)"
        return try db.scalarInt("\(estimate) FROM \(SQLText.identifier(schema)).\(SQLText.identifier(table))")
    }
}

let shardListModule: UnsafeMutablePointer<sqlite3_module> = {
    let m = UnsafeMutablePointer<sqlite3_module>.allocate(capacity: 1)
    m.initialize(to: sqlite3_module())
    m.pointee.iVersion = 1
    // xCreate stays NULL: an eponymous-only table, nothing to CREATE.
    m.pointee.xConnect = { rawDb, aux, _, _, out, errOut in
        let decl = "CREATE TABLE x(" + listColumns.joined(separator: ", ") + ", name HIDDEN)"
        let rc = api.pointee.declare_vtab(rawDb, decl)
        if rc != SQLITE_OK { return rc }
        _ = shard_vtab_config(rawDb, SQLITE_VTAB_INNOCUOUS)
        out!.pointee = makeVtab(ListTable(object(aux, as: Connection.self)))
        return SQLITE_OK
    }
    m.pointee.xDisconnect = { freeVtab($0) }
    // idxNum bit 1: a collection name is given (argv[0]); bit 2: bytes are wanted.
    m.pointee.xBestIndex = { _, info in
        let info = info!
        var idxNum: Int32 = 0
        for i in 0..<Int(info.pointee.nConstraint) {
            let c = info.pointee.aConstraint[i]
            guard c.usable != 0, Int32(c.op) == SQLITE_INDEX_CONSTRAINT_EQ,
                  c.iColumn == Int32(argumentColumn) || c.iColumn == 0, idxNum & 1 == 0 else { continue }
            idxNum |= 1
            info.pointee.aConstraintUsage[i].argvIndex = 1
            info.pointee.aConstraintUsage[i].omit = 1
        }
        if info.pointee.colUsed & (1 << UInt64(bytesColumn)) != 0 { idxNum |= 2 }
        info.pointee.idxNum = idxNum
        info.pointee.estimatedCost = idxNum & 1 != 0 ? 10 : 1000
        return SQLITE_OK
    }
    m.pointee.xOpen = { _, out in makeCursor(ListCursor(), out) }
    m.pointee.xClose = { freeCursor($0) }
    m.pointee.xFilter = { cur, idxNum, _, argc, argv in
        let cursor = listCursorOf(cur)
        let table = listTableOf(cur!.pointee.pVtab)
        return guarded(cur!.pointee.pVtab) {
            let names: [String]
            if idxNum & 1 != 0 {
                guard argc >= 1, valueType(argv![0]) == SQLITE_TEXT, let n = valueText(argv![0]) else {
                    throw ShardError("shard_list takes a collection name")
                }
                names = [n]
            } else {
                names = try table.connection.allCollectionNames()
            }
            cursor.rows = []
            for n in names {
                cursor.rows += try listing(try table.connection.collection(n), withBytes: idxNum & 2 != 0)
            }
            cursor.position = 0
        }
    }
    m.pointee.xNext = { cur in
        listCursorOf(cur).position += 1
        return SQLITE_OK
    }
    m.pointee.xEof = { cur in
        let c = listCursorOf(cur)
        return c.position >= c.rows.count ? 1 : 0
    }
    m.pointee.xColumn = { cur, ctx, i in
        let c = listCursorOf(cur)
        let row = c.rows[c.position]
        let value: Any? = Int(i) < row.count ? row[Int(i)] : row[0]
        switch value {
        case let v as Int64: resultInt64(ctx, v)
        case let s as String: resultText(ctx, s)
        default: resultNull(ctx)
        }
        return SQLITE_OK
    }
    m.pointee.xRowid = { cur, out in
        out!.pointee = Int64(listCursorOf(cur).position)
        return SQLITE_OK
    }
    return m
}()
