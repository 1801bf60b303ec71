import CShardShim

// The virtual tables and cursors SQLite holds carry a retained Swift object
// (ShardVtab / ShardCursor in the shim); these make, read and free them. And
// `guarded`, which every module method and SQL function runs its body in.

func makeVtab(_ object: AnyObject) -> UnsafeMutablePointer<sqlite3_vtab> {
    let v = UnsafeMutablePointer<ShardVtab>.allocate(capacity: 1)
    v.initialize(to: ShardVtab(base: sqlite3_vtab(), object: retainedPointer(object)))
    return UnsafeMutableRawPointer(v).assumingMemoryBound(to: sqlite3_vtab.self)
}

@inline(__always) func vtabObject<T: AnyObject>(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, as: T.Type) -> T {
    let v = UnsafeMutableRawPointer(vtab!).assumingMemoryBound(to: ShardVtab.self)
    return object(v.pointee.object, as: T.self)
}

func freeVtab(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?) -> Int32 {
    let v = UnsafeMutableRawPointer(vtab!).assumingMemoryBound(to: ShardVtab.self)
    releasePointer(v.pointee.object)
    sqliteFree(v.pointee.base.zErrMsg)
    v.deinitialize(count: 1)
    v.deallocate()
    return SQLITE_OK
}

func makeCursor(_ object: AnyObject, _ out: UnsafeMutablePointer<UnsafeMutablePointer<sqlite3_vtab_cursor>?>?) -> Int32 {
    let c = UnsafeMutablePointer<ShardCursor>.allocate(capacity: 1)
    c.initialize(to: ShardCursor(base: sqlite3_vtab_cursor(), object: retainedPointer(object), countLeft: -1))
    out!.pointee = UnsafeMutableRawPointer(c).assumingMemoryBound(to: sqlite3_vtab_cursor.self)
    return SQLITE_OK
}

@inline(__always) func cursorObject<T: AnyObject>(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?, as: T.Type) -> T {
    let c = UnsafeMutableRawPointer(cur!).assumingMemoryBound(to: ShardCursor.self)
    return object(c.pointee.object, as: T.self)
}

/// The cursor's C struct, whose `countLeft` a counting scan steps on.
@inline(__always) func cursorStruct(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> UnsafeMutablePointer<ShardCursor> {
    UnsafeMutableRawPointer(cur!).assumingMemoryBound(to: ShardCursor.self)
}

func freeCursor(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> Int32 {
    let c = UnsafeMutableRawPointer(cur!).assumingMemoryBound(to: ShardCursor.self)
    releasePointer(c.pointee.object)
    c.deinitialize(count: 1)
    c.deallocate()
    return SQLITE_OK
}

/// Runs the body of a vtab or cursor method: a thrown error becomes the vtab's
/// zErrMsg and the code returned to SQLite. Every module's methods go through it.
@inline(__always) func guarded(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, _ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return SQLITE_OK
    } catch {
        return failVtab(vtab, error)
    }
}

/// The same for an SQL function: a thrown error becomes the function's result error
/// (message and code).
@inline(__always) func guarded(_ ctx: OpaquePointer?, _ body: () throws -> Void) {
    do { try body() } catch { resultError(ctx, error) }
}

/// What xCreate and xConnect hand every module: its connection (the module's client
/// data), the database, and the table's schema, name and module arguments.
struct VtabArguments {
    let connection: Connection
    let db: Database
    let schema: String
    let name: String
    let arguments: [String]
}

/// xCreate / xConnect of every module: `open` makes the table's object and says its
/// columns (`CREATE TABLE x(...)`); the columns are declared, the object goes into the
/// vtab SQLite keeps, then `connected` runs. A thrown error is `*errOut` and its code.
func connectVtab<T: AnyObject>(
    _ rawDb: OpaquePointer?, _ aux: UnsafeMutableRawPointer?, _ argc: Int32,
    _ argv: UnsafePointer<UnsafePointer<CChar>?>?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<sqlite3_vtab>?>?,
    _ errOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    open: (VtabArguments) throws -> (object: T, declaration: String), connected: (T, VtabArguments) -> Void
) -> Int32 {
    let db = Database(handle: rawDb!)
    do {
        let args = VtabArguments(connection: object(aux, as: Connection.self), db: db,
                                 schema: String(cString: argv![1]!), name: String(cString: argv![2]!),
                                 arguments: (3..<Int(argc)).map { String(cString: argv![$0]!) })
        let (table, declaration) = try open(args)
        let rc = api.pointee.declare_vtab(rawDb, declaration)
        if rc != SQLITE_OK { throw db.error(rc) }
        out!.pointee = makeVtab(table)
        connected(table, args)
        return SQLITE_OK
    } catch {
        return failConnect(errOut, error)
    }
}
