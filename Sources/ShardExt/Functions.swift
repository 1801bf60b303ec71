import CShardShim
import ShardCore

let shardsVersion = "0.1.0"

/// The connection a function was registered on (from its user data).
@inline(__always) private func connectionOf(_ ctx: OpaquePointer?) -> Connection {
    object(api.pointee.user_data(ctx), as: FunctionIndex.self).connection
}

private func textArgument(_ v: OpaquePointer?, _ what: String) throws -> String {
    guard valueType(v) == SQLITE_TEXT, let s = valueText(v) else {
        throw ShardError("\(what) must be text")
    }
    return s
}

/// A function body: arguments in, a result or an error out.
private typealias Body = (OpaquePointer?, Int32, ValueArray) throws -> Void


/// The INSERT that shard_insert steps. It goes through the virtual table so the
/// write joins the transaction like any INSERT (catalog counters are written at
/// xSync); it is kept as auxdata of the collection argument, so a bulk
/// `SELECT shard_insert('c', value) FROM json_each(?)` prepares it once.
private final class InsertThroughTable {
    let stmt: Statement
    init(_ stmt: Statement) { self.stmt = stmt }
}

/// shard_insert(collection, doc) -> id
private func shardInsert(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let conn = connectionOf(ctx)
    var holder: InsertThroughTable
    if let aux = api.pointee.get_auxdata(ctx, 0) {
        holder = object(aux, as: InsertThroughTable.self)
    } else {
        let name = try textArgument(argv[0], "the collection name")
        let collection = try conn.collection(name)
        let sql = "INSERT INTO \(SQLText.identifier(collection.schema)).\(SQLText.identifier(collection.name))(doc) VALUES (?1)"
        holder = InsertThroughTable(try conn.db.prepare(sql))
        api.pointee.set_auxdata(ctx, 0, retainedPointer(holder)) { releasePointer($0) }
    }
    holder.stmt.bind(1, argv[1])
    defer { holder.stmt.reset() }
    _ = try holder.stmt.step()
    api.pointee.result_int64(ctx, conn.db.lastInsertRowid)
}

/// shard_key(collection, doc_or_time) -> the key a document or time routes to now.
private func shardKey(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    try collection.readyToRead()
    let arg = argv[1]
    let placement: Placement
    let isDocument = valueType(arg) == SQLITE_TEXT && (valueText(arg) ?? "").first(where: { !$0.isWhitespace }) == "{"
    if isDocument {
        placement = try collection.place(doc: arg, explicitTs: nil)
    } else {
        if collection.options.categoryPath != nil {
            throw ShardError("'\(collection.name)' is split by category; pass a document, not a time")
        }
        placement = Placement(ts: try collection.millisecondsArgument(arg, what: "the time"), category: nil)
    }
    resultText(ctx, collection.route(placement).key.text)
}

/// ensure_json_index(collection, path | 'name: path [type]') -> shards that gained the
/// index; with a name, the collection also gains that column.
private func ensureJSONIndex(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    let text = try textArgument(argv[1], "the path")
    if IndexSpec.hasExplicitName(text) {
        api.pointee.result_int64(ctx, try collection.ensureColumn(try IndexSpec(parsing: text)))
        return
    }
    let path: JSONPath
    do {
        path = try JSONPath(parsing: text)
    } catch let e as ShardError {
        // `$.path type`: a type belongs to a column, which needs a name.
        if let spec = try? IndexSpec(parsing: text), spec.type != nil {
            throw ShardError("a type belongs to a column; give it a name, e.g. '\(spec.text)'")
        }
        throw e
    }
    api.pointee.result_int64(ctx, try collection.ensureIndex(path))
}

/// shard_storage(collection, 'text' | 'jsonb') -> rows rewritten in that storage
private func shardStorage(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    let storage = try textArgument(argv[1], "the storage ('text' or 'jsonb')")
    api.pointee.result_int64(ctx, try collection.changeStorage(to: storage))
}

/// shard_flush(collection) -> rows written from this connection's write buffer
private func shardFlush(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    api.pointee.result_int64(ctx, Int64(try collection.writer.flush()))
}

/// shard_drop(collection, before) -> rows dropped with the shards whose period ended by `before`
private func shardDrop(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    let before = try collection.cutoffArgument(argv[1])
    api.pointee.result_int64(ctx, try collection.dropShards(endingBy: before))
}

/// shard_archive(collection, before, file) -> rows moved into the archive file
private func shardArchive(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    let before = try collection.cutoffArgument(argv[1])
    let file = try textArgument(argv[2], "the archive file name")
    api.pointee.result_int64(ctx, try collection.archiveShards(endingBy: before, file: file))
}

/// shard_compress(collection, before) -> rows compressed
private func shardCompress(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    let before = try collection.cutoffArgument(argv[1])
    api.pointee.result_int64(ctx, try collection.compressShards(endingBy: before))
}

/// shard_merge(collection, before) -> rows moved by merging the shards finished before `before`
private func shardMerge(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let collection = try connectionOf(ctx).collection(try textArgument(argv[0], "the collection name"))
    let before = try collection.cutoffArgument(argv[1])
    api.pointee.result_int64(ctx, try collection.mergeShards(before: before))
}

/// shard_rollup_refresh(rollup [, most]) -> the shards whose partial aggregates it
/// built: every finished shard of the rollup's source not built at its current change
/// stamp, or at most `most` of them (so a tool can show progress shard by shard).
private func shardRollupRefresh(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let rollup = try connectionOf(ctx).rollup(try textArgument(argv[0], "the rollup name"))
    var most = Int64.max
    if argc > 1 {
        guard api.pointee.value_type(argv[1]) == SQLITE_INTEGER, api.pointee.value_int64(argv[1]) > 0 else {
            throw ShardError("shard_rollup_refresh: most must be a positive integer (the most shards to build in this call)")
        }
        most = api.pointee.value_int64(argv[1])
    }
    api.pointee.result_int64(ctx, try rollup.refresh(most: most))
}

/// shards_explain(collection, query) -> how the query read the collection: for each
/// scan, the shards it visited out of all, and the SQL it ran in each (for a compressed
/// shard read block by block, in each block it read), then how many compressed blocks
/// it decompressed, when any. The query
/// runs to completion (like EXPLAIN ANALYZE); its rows are counted, not returned.
/// It must be one read-only query: SQL run from inside a function is not guarded by
/// defensive mode, so a write here could reach the collection's own tables. And it
/// cannot nest: one trace at a time.
private func shardsExplain(_ ctx: OpaquePointer?, _ argc: Int32, _ argv: ValueArray) throws {
    let conn = connectionOf(ctx)
    let collection = try conn.collection(try textArgument(argv[0], "the collection name"))
    guard conn.explaining == nil else {
        throw ShardError("shards_explain cannot run inside another shards_explain")
    }
    let (stmt, hasMore) = try conn.db.prepareFirst(try textArgument(argv[1], "the query"))
    guard !hasMore else { throw ShardError("shards_explain takes one statement") }
    guard api.pointee.stmt_readonly(stmt.handle) != 0, api.pointee.column_count(stmt.handle) > 0 else {
        throw ShardError("shards_explain runs read-only queries only (SELECT, WITH ... SELECT, VALUES)")
    }
    conn.explaining = collection
    conn.trace = []
    defer {
        conn.explaining = nil
        conn.trace = []
    }
    var rows = 0
    let blocksBefore = conn.blocksDecompressed
    while try stmt.step() { rows += 1 }
    let blocks = conn.blocksDecompressed - blocksBefore
    let counts = (blocks > 0 ? ["blocks decompressed: \(blocks)"] : []) + ["rows: \(rows)"]
    resultText(ctx, (conn.trace + counts).joined(separator: "\n"))
}

private func debugText() -> String {
    var build = "release"
    #if DEBUG
    build = "debug"
    #endif
    let jsonb = sqliteVersionNumber >= ShardedCollection.jsonbVersion
    return """
        shards \(shardsVersion)
        sqlite \(sqliteVersion)
        jsonb \(jsonb ? "on" : "off")
        zstd \(shard_zstd() != nil ? "libzstd.so.1" : "missing (" + String(cString: shard_zstd_error()) + ")")
        build \(build), static Swift runtime, SQLite through the extension API pointer
        """
}

private struct FunctionSpec {
    let name: String
    let argc: Int32
    let flags: Int32
    let body: Body
}

private let directOnly = SQLITE_UTF8 | SQLITE_DIRECTONLY
private let pure = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS

private let functions: [FunctionSpec] = [
    FunctionSpec(name: "shard_insert", argc: 2, flags: directOnly, body: shardInsert),
    // Reads the catalog only: harmless anywhere, but its answer changes as shards fill.
    FunctionSpec(name: "shard_key", argc: 2, flags: SQLITE_UTF8 | SQLITE_INNOCUOUS, body: shardKey),
    FunctionSpec(name: "ensure_json_index", argc: 2, flags: directOnly, body: ensureJSONIndex),
    FunctionSpec(name: "shard_storage", argc: 2, flags: directOnly, body: shardStorage),
    FunctionSpec(name: "shards_explain", argc: 2, flags: directOnly, body: shardsExplain),
    FunctionSpec(name: "shard_flush", argc: 1, flags: directOnly, body: shardFlush),
    FunctionSpec(name: "shard_drop", argc: 2, flags: directOnly, body: shardDrop),
    FunctionSpec(name: "shard_archive", argc: 3, flags: directOnly, body: shardArchive),
    FunctionSpec(name: "shard_compress", argc: 2, flags: directOnly, body: shardCompress),
    FunctionSpec(name: "shard_merge", argc: 2, flags: directOnly, body: shardMerge),
    FunctionSpec(name: "shard_rollup_refresh", argc: 1, flags: directOnly, body: shardRollupRefresh),
    FunctionSpec(name: "shard_rollup_refresh", argc: 2, flags: directOnly, body: shardRollupRefresh),
    FunctionSpec(name: "shards_version", argc: 0, flags: pure) { ctx, _, _ in resultText(ctx, shardsVersion) },
    FunctionSpec(name: "shards_debug", argc: 0, flags: SQLITE_UTF8 | SQLITE_INNOCUOUS) { ctx, _, _ in resultText(ctx, debugText()) },
]

/// Registers every SQL function on a connection; each registration holds its own
/// reference to the Connection, released by SQLite when the function goes away.
func registerFunctions(_ db: Database, _ connection: Connection) throws {
    for (i, f) in functions.enumerated() {
        let rc = api.pointee.create_function_v2(
            db.handle, f.name, f.argc, f.flags, retainedPointer(FunctionIndex(i, connection)),
            { ctx, argc, argv in
                let fi = object(api.pointee.user_data(ctx), as: FunctionIndex.self)
                let f = functions[fi.index]
                guarded(ctx) {
                    // The side-effecting functions are the DIRECTONLY ones.
                    if f.flags & SQLITE_DIRECTONLY != 0 {
                        try DirectCall.require(ctx, fi.connection.db, function: f.name)
                        if let vfs = fi.replicatingVFS {
                            try Replication.requireTransactionForWrite(fi.connection.db, vfs: vfs, function: f.name)
                        }
                    }
                    try f.body(ctx, argc, argv!)
                }
            }, nil, nil, { releasePointer($0) })
        if rc != SQLITE_OK { throw db.error(rc) }
    }
}

/// User data of a function: which one it is, and its connection.
final class FunctionIndex {
    let index: Int
    let connection: Connection
    /// The VFS of the main database when it replicates (dqlite's); side-effecting
    /// functions then need a transaction (see Replication).
    lazy var replicatingVFS: String? = Replication.replicatingVFS(connection.db, schema: "main")
    init(_ index: Int, _ connection: Connection) {
        self.index = index
        self.connection = connection
    }
}
