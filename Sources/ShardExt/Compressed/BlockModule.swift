import CShardShim
import ShardCore

// shards_block(data): the rows of one compressed block, as (id, ts, doc). The reads
// of a compressed shard join its block table with it:
//     SELECT ... FROM "events_2025-01-001-z" AS z, shards_block(z.data) WHERE <the shard's terms>
// so every condition a plain shard runs (json_extract(doc, ...) included) runs here too.

// With a block's `keys` and an equality probe (`shards_block(z.data, z.keys, <path
// hash>, ?value)`), a block that certainly holds no matching row yields nothing and is
// not even decompressed.

private let blockColumns = "CREATE TABLE x(id INTEGER, ts INTEGER, doc TEXT, data HIDDEN, keys HIDDEN, path HIDDEN, value HIDDEN)"

/// An SQL value as the block filters key it; nil for NULL (it never equals anything).
func filterValue(_ v: OpaquePointer?) -> BlockFilter.Value? {
    switch valueType(v) {
    case SQLITE_INTEGER: return .integer(valueInt64(v))
    case SQLITE_FLOAT: return .real(valueDouble(v))
    case SQLITE_TEXT: return .text(valueTextBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0))
    case SQLITE_BLOB: return .blob(valueBlobBytes(v) ?? UnsafeRawBufferPointer(start: nil, count: 0))
    default: return nil
    }
}

private final class BlockCursor {
    /// Counts the blocks decompressed, for shards_explain.
    let connection: Connection
    /// The decompressed block; the reader and rows point into it until the next start().
    var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    var reader: Block.Reader?
    var row: Block.Row?
    var rowNumber: Int64 = 0

    init(connection: Connection) { self.connection = connection }

    deinit { Compression.freeBuffer(&buffer) }

    func start(_ data: OpaquePointer?, probe: (keys: OpaquePointer?, path: OpaquePointer?, value: OpaquePointer?)?) throws {
        row = nil
        reader = nil
        guard valueType(data) == SQLITE_BLOB, let input = valueBlobBytes(data) else { return }
        if let probe, valueType(probe.keys) == SQLITE_BLOB, let keys = valueBlobBytes(probe.keys),
           let value = filterValue(probe.value),
           !BlockFilter.mayContain(keys, pathHash: UInt64(bitPattern: valueInt64(probe.path)), value) {
            return
        }
        let n = try Compression.decompress(input, into: &buffer)
        connection.blocksDecompressed += 1
        reader = try Block.Reader(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        rowNumber = 0
        try advance()
    }

    func advance() throws {
        row = try reader?.next()
        rowNumber += 1
    }
}

/// The vtab's object: the connection, whose count of decompressed blocks cursors raise.
private final class BlockTable {
    let connection: Connection
    init(connection: Connection) { self.connection = connection }
}

private func blockCursorOf(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> BlockCursor {
    cursorObject(cur, as: BlockCursor.self)
}

let blockModule: UnsafeMutablePointer<sqlite3_module> = {
    let m = UnsafeMutablePointer<sqlite3_module>.allocate(capacity: 1)
    m.initialize(to: sqlite3_module())
    m.pointee.iVersion = 1
    m.pointee.xConnect = { rawDb, aux, _, _, out, _ in
        let rc = api.pointee.declare_vtab(rawDb, blockColumns)
        if rc != SQLITE_OK { return rc }
        _ = shard_vtab_config(rawDb, SQLITE_VTAB_INNOCUOUS)
        out!.pointee = makeVtab(BlockTable(connection: object(aux, as: Connection.self)))
        return SQLITE_OK
    }
    m.pointee.xDisconnect = { freeVtab($0) }
    // Needs its data argument: a plan without it is made too costly to choose.
    // idxNum: 1 when the probe (keys, path, value) is given as argv[1...3].
    m.pointee.xBestIndex = { _, info in
        let info = info!
        var slots = [Int?](repeating: nil, count: 4)   // data, keys, path, value
        for i in 0..<Int(info.pointee.nConstraint) {
            let c = info.pointee.aConstraint[i]
            guard (3...6).contains(c.iColumn), Int32(c.op) == SQLITE_INDEX_CONSTRAINT_EQ, c.usable != 0 else { continue }
            slots[Int(c.iColumn) - 3] = i
        }
        guard let data = slots[0] else {
            info.pointee.estimatedCost = 1e18
            return SQLITE_CONSTRAINT
        }
        info.pointee.aConstraintUsage[data].argvIndex = 1
        info.pointee.aConstraintUsage[data].omit = 1
        if let k = slots[1], let p = slots[2], let v = slots[3] {
            for (n, i) in [k, p, v].enumerated() {
                info.pointee.aConstraintUsage[i].argvIndex = Int32(n + 2)
                info.pointee.aConstraintUsage[i].omit = 1
            }
            info.pointee.idxNum = 1
        }
        info.pointee.estimatedCost = 1000
        info.pointee.estimatedRows = 1000
        return SQLITE_OK
    }
    m.pointee.xOpen = { vtab, out in makeCursor(BlockCursor(connection: vtabObject(vtab, as: BlockTable.self).connection), out) }
    m.pointee.xClose = { freeCursor($0) }
    m.pointee.xFilter = { cur, idxNum, _, argc, argv in
        guarded(cur!.pointee.pVtab) {
            let probe = idxNum == 1 && argc >= 4 ? (argv![1], argv![2], argv![3]) : nil
            try blockCursorOf(cur).start(argc > 0 ? argv![0] : nil, probe: probe)
        }
    }
    m.pointee.xNext = { cur in
        guarded(cur!.pointee.pVtab) { try blockCursorOf(cur).advance() }
    }
    m.pointee.xEof = { cur in blockCursorOf(cur).row == nil ? 1 : 0 }
    m.pointee.xColumn = { cur, ctx, i in
        guard let row = blockCursorOf(cur).row else { return SQLITE_OK }
        switch i {
        case 0: resultInt64(ctx, row.id)
        case 1: resultInt64(ctx, row.ts)
        case 2:
            row.document.withMemoryRebound(to: CChar.self) { chars in
                api.pointee.result_text(ctx, chars.baseAddress, Int32(chars.count), shard_transient())
            }
        default: resultNull(ctx)
        }
        return SQLITE_OK
    }
    m.pointee.xRowid = { cur, out in
        out!.pointee = blockCursorOf(cur).rowNumber
        return SQLITE_OK
    }
    return m
}()
