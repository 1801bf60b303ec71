import CShardShim
import ShardCore

// shards_block(data): the rows of one compressed block, as (id, ts, doc). The reads
// of a compressed shard join its block table with it:
//     SELECT ... FROM "events_2025_01_001_z" AS z, shards_block(z.data) WHERE <the shard's terms>
// so every condition a plain shard runs (json_extract(doc, ...) included) runs here too.

private let blockColumns = "CREATE TABLE x(id INTEGER, ts INTEGER, doc TEXT, data HIDDEN)"

private final class BlockCursor {
    /// The decompressed block; the reader and rows point into it until the next start().
    var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    var reader: Block.Reader?
    var row: Block.Row?
    var rowNumber: Int64 = 0

    deinit { buffer.deallocate() }

    func start(_ data: OpaquePointer?) throws {
        row = nil
        reader = nil
        guard valueType(data) == SQLITE_BLOB, let p = api.pointee.value_blob(data) else { return }
        let input = UnsafeRawBufferPointer(start: p, count: Int(api.pointee.value_bytes(data)))
        let n = try Compression.decompress(input, into: &buffer)
        reader = try Block.Reader(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        rowNumber = 0
        try advance()
    }

    func advance() throws {
        row = try reader?.next()
        rowNumber += 1
    }
}

private func blockCursorOf(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> BlockCursor {
    let c = UnsafeMutableRawPointer(cur!).assumingMemoryBound(to: ShardCursor.self)
    return object(c.pointee.object, as: BlockCursor.self)
}

let blockModule: UnsafeMutablePointer<sqlite3_module> = {
    let m = UnsafeMutablePointer<sqlite3_module>.allocate(capacity: 1)
    m.initialize(to: sqlite3_module())
    m.pointee.iVersion = 1
    m.pointee.xConnect = { rawDb, _, _, _, out, _ in
        let rc = api.pointee.declare_vtab(rawDb, blockColumns)
        if rc != SQLITE_OK { return rc }
        _ = shard_vtab_config(rawDb, SQLITE_VTAB_INNOCUOUS)
        let vtab = UnsafeMutablePointer<sqlite3_vtab>.allocate(capacity: 1)
        vtab.initialize(to: sqlite3_vtab())
        out!.pointee = vtab
        return SQLITE_OK
    }
    m.pointee.xDisconnect = { vtab in
        if let msg = vtab!.pointee.zErrMsg { api.pointee.free(msg) }
        vtab!.deinitialize(count: 1)
        vtab!.deallocate()
        return SQLITE_OK
    }
    // Needs its data argument: a plan without it is made too costly to choose.
    m.pointee.xBestIndex = { _, info in
        let info = info!
        var found = false
        for i in 0..<Int(info.pointee.nConstraint) {
            let c = info.pointee.aConstraint[i]
            guard c.iColumn == 3, Int32(c.op) == SQLITE_INDEX_CONSTRAINT_EQ else { continue }
            guard c.usable != 0 else { continue }
            info.pointee.aConstraintUsage[i].argvIndex = 1
            info.pointee.aConstraintUsage[i].omit = 1
            found = true
        }
        info.pointee.estimatedCost = found ? 1000 : 1e18
        info.pointee.estimatedRows = found ? 1000 : Int64.max / 2
        return found ? SQLITE_OK : SQLITE_CONSTRAINT
    }
    m.pointee.xOpen = { _, out in
        let c = UnsafeMutablePointer<ShardCursor>.allocate(capacity: 1)
        c.initialize(to: ShardCursor(base: sqlite3_vtab_cursor(), object: retainedPointer(BlockCursor())))
        out!.pointee = UnsafeMutableRawPointer(c).assumingMemoryBound(to: sqlite3_vtab_cursor.self)
        return SQLITE_OK
    }
    m.pointee.xClose = { cur in
        let c = UnsafeMutableRawPointer(cur!).assumingMemoryBound(to: ShardCursor.self)
        releasePointer(c.pointee.object)
        c.deinitialize(count: 1)
        c.deallocate()
        return SQLITE_OK
    }
    m.pointee.xFilter = { cur, _, _, argc, argv in
        do {
            try blockCursorOf(cur).start(argc > 0 ? argv![0] : nil)
            return SQLITE_OK
        } catch {
            return failVtab(cur!.pointee.pVtab, error)
        }
    }
    m.pointee.xNext = { cur in
        do {
            try blockCursorOf(cur).advance()
            return SQLITE_OK
        } catch {
            return failVtab(cur!.pointee.pVtab, error)
        }
    }
    m.pointee.xEof = { cur in blockCursorOf(cur).row == nil ? 1 : 0 }
    m.pointee.xColumn = { cur, ctx, i in
        guard let row = blockCursorOf(cur).row else { return SQLITE_OK }
        switch i {
        case 0: api.pointee.result_int64(ctx, row.id)
        case 1: api.pointee.result_int64(ctx, row.ts)
        case 2:
            row.document.withMemoryRebound(to: CChar.self) { chars in
                api.pointee.result_text(ctx, chars.baseAddress, Int32(chars.count), shard_transient())
            }
        default: api.pointee.result_null(ctx)
        }
        return SQLITE_OK
    }
    m.pointee.xRowid = { cur, out in
        out!.pointee = blockCursorOf(cur).rowNumber
        return SQLITE_OK
    }
    return m
}()
