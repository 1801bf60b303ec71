import CShardShim
import ShardCore

/// The entry point SQLite derives from the file name of the shipped library, shards.so
/// (the wheel's and the release archive's): `.load ./shards`. The same as the build's own.
@_cdecl("sqlite3_shards_init")
public func sqlite3_shards_init(
    _ rawDb: OpaquePointer?, _ errOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ routines: UnsafePointer<sqlite3_api_routines>?
) -> Int32 {
    sqlite3_shardext_init(rawDb, errOut, routines)
}

/// The entry point SQLite derives from the file name libShardExt.so, the build's own
/// (.build/release). It keeps the host's API pointer, then registers the `shards`
/// module, the `shard_list` table-valued function and the SQL functions on this connection.
@_cdecl("sqlite3_shardext_init")
public func sqlite3_shardext_init(
    _ rawDb: OpaquePointer?, _ errOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ routines: UnsafePointer<sqlite3_api_routines>?
) -> Int32 {
    shard_set_api(routines)
    let db = Database(handle: rawDb!)
    do {
        if sqliteVersionNumber < 3_038_000 {
            throw ShardError("needs SQLite 3.38.0 or newer; this is \(sqliteVersion)")
        }
        // Loaded on this connection already: the first registration stands (a second
        // one would give the functions a Connection that knows no collection). Asked
        // without running SQL: that would parse the schema before the module exists,
        // and SQLite would not see the shard tables as shadow tables.
        guard let connection = Connection.registerOnce(db) else { return SQLITE_OK }
        for (name, module) in [("shards", collectionModule), ("shard_list", shardListModule), ("shards_block", blockModule),
                               ("shards_rollup", rollupModule)] {
            let rc = api.pointee.create_module_v2(rawDb, name, module, retainedPointer(connection)) { releasePointer($0) }
            if rc != SQLITE_OK { throw db.error(rc) }
        }
        try registerFunctions(db, connection)
        try registerSketchFunctions(db)
        return SQLITE_OK
    } catch {
        Connection.forget(db)
        errOut?.pointee = shard_strdup(sqliteCodeAndMessage(error).1)
        return SQLITE_ERROR
    }
}

/// The fingerprint of the sources this library was built from (the SourceStamp
/// plugin): the tests compare it with the checkout's, so they never test a stale build.
@_cdecl("shards_source_stamp")
public func shards_source_stamp() -> UnsafePointer<CChar> {
    UnsafeRawPointer(sourceStamp.utf8Start).assumingMemoryBound(to: CChar.self)
}
