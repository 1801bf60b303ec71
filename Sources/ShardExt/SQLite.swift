import CShardShim
import ShardCore

// The wrapper of SQLite's C API: with the module adapters (CollectionModule,
// ShardListModule, BlockModule, Functions, Entry), the only code that calls through
// the host's sqlite3_api_routines (see CShardShim.h). Above them the code is plain
// Swift working with `Database`, `OwnedDatabase`, `Statement`, `ValueCopy` and
// `SQLiteError`.

/// The host's routines. Loaded once per call site; the struct is never copied.
@inline(__always) var api: UnsafePointer<sqlite3_api_routines> { shard_api()! }

/// An error from SQLite itself, carrying its result code (SQLITE_BUSY stays SQLITE_BUSY)
/// and the extended code that tells the cases apart (SQLITE_CONSTRAINT_NOTNULL).
/// Recognise errors by these codes, never by their text.
struct SQLiteError: Error {
    let code: Int32
    let extendedCode: Int32
    /// SQLite's own text.
    let message: String
    /// What the extension was doing, without the "shards: " prefix; nil for an error
    /// passed on as SQLite said it.
    var context: String?

    init(code: Int32, extendedCode: Int32? = nil, message: String, context: String? = nil) {
        self.code = code
        self.extendedCode = extendedCode ?? code
        self.message = message
        self.context = context
    }

    /// An error of the extension's own words that must keep an SQLite code
    /// (SQLITE_AUTH, SQLITE_NOMEM, ...).
    init(code: Int32, reason: String) {
        self.init(code: code, message: "", context: reason)
    }

    /// The same error, explained by what the extension was doing.
    func within(_ context: String) -> SQLiteError {
        var e = self
        e.context = self.context.map { context + ": " + $0 } ?? context
        return e
    }
}

/// Extended codes Swift cannot import (they are macros with an expression).
let SQLITE_CONSTRAINT_NOTNULL: Int32 = SQLITE_CONSTRAINT | (5 << 8)

/// What an error says before the SQL boundary: its code, its text without the
/// "shards: " prefix, and whether the text is ours (SQLite's own words pass as they are).
func errorReason(_ error: Error) -> (code: Int32, reason: String, ours: Bool) {
    switch error {
    case let e as SQLiteError:
        guard let context = e.context else { return (e.code, e.message, false) }
        return (e.code, e.message.isEmpty ? context : context + ": " + e.message, true)
    case let e as ShardError: return (SQLITE_ERROR, e.reason, true)
    default: return (SQLITE_ERROR, "\(error)", true)
    }
}

/// The result code and message an error becomes at the SQL boundary. The only
/// place the "shards: " prefix is put on.
func sqliteCodeAndMessage(_ error: Error) -> (Int32, String) {
    let (code, reason, ours) = errorReason(error)
    return (code, ours ? ShardError(reason).message : reason)
}

/// A connection handle we do not own.
struct Database {
    let handle: OpaquePointer

    var errorMessage: String { String(cString: api.pointee.errmsg(handle)!) }

    /// The error of a call that returned `code`, with the connection's extended code
    /// when it belongs to that call.
    func error(_ code: Int32) -> SQLiteError {
        let extended = api.pointee.extended_errcode(handle)
        return SQLiteError(code: code, extendedCode: extended & 0xff == code & 0xff ? extended : code,
                           message: errorMessage)
    }

    /// The name of the VFS `schema` is opened with (SQLITE_FCNTL_VFS_POINTER).
    func vfsName(_ schema: String) -> UnsafePointer<CChar>? {
        var vfs: UnsafeMutablePointer<sqlite3_vfs>?
        guard api.pointee.file_control(handle, schema, SQLITE_FCNTL_VFS_POINTER, &vfs) == SQLITE_OK else { return nil }
        return vfs?.pointee.zName
    }

    /// Whether `schema` has a table (or view) called `name`, in any case.
    func tableExists(_ name: String, schema: String = "main") throws -> Bool {
        try scalarInt("SELECT count(*) FROM pragma_table_list WHERE schema = ?1 AND name = ?2 COLLATE NOCASE",
                      [.text(schema), .text(name)]) ?? 0 > 0
    }

    /// The connection's current limit of a kind (sqlite3_limit, unchanged).
    func limit(_ kind: Int32) -> Int32 { api.pointee.limit(handle, kind, -1) }

    /// Whether this connection holds the write lock of `schema` (an open write transaction).
    func holdsWriteLock(_ schema: String) -> Bool {
        api.pointee.txn_state(handle, schema) == SQLITE_TXN_WRITE
    }

    /// The file behind `schema` ("" for an in-memory or temporary database).
    func filename(_ schema: String) -> String {
        api.pointee.db_filename(handle, schema).map { String(cString: $0) } ?? ""
    }

    func exec(_ sql: String) throws {
        let rc = api.pointee.exec(handle, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw error(rc) }
    }

    func prepare(_ sql: String, persistent: Bool = false) throws -> Statement {
        var stmt: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        var rc = api.pointee.prepare_v3(handle, sql, -1, flags, &stmt, nil)
        // Another connection changed the schema twice while SQLite prepared (it retries
        // once): prepared again, as SQLite's own step does with a stale statement.
        var retries = 0
        while rc == SQLITE_SCHEMA && retries < Database.schemaRetries {
            retries += 1
            rc = api.pointee.prepare_v3(handle, sql, -1, flags, &stmt, nil)
        }
        if rc != SQLITE_OK { throw error(rc) }
        guard let stmt else { throw ShardError("empty statement: \(sql)") }
        return Statement(stmt, db: self)
    }

    /// How many times more a statement is prepared when the schema changed under it.
    static let schemaRetries = 5

    /// Prepares the first statement of `sql`; also says whether anything but blanks
    /// and comments follows it.
    func prepareFirst(_ sql: String) throws -> (Statement, hasMore: Bool) {
        var stmt: OpaquePointer?
        var more = false
        let rc = sql.withCString { base -> Int32 in
            var tail: UnsafePointer<CChar>?
            let rc = api.pointee.prepare_v3(handle, base, -1, 0, &stmt, &tail)
            if rc == SQLITE_OK, let tail { more = !SQLText.isBlank(String(cString: tail)) }
            return rc
        }
        if rc != SQLITE_OK { throw error(rc) }
        guard let stmt else { throw ShardError("empty statement") }
        return (Statement(stmt, db: self), more)
    }

    /// The first column of the first row of `sql`, as an integer (nil when no row or NULL).
    func scalarInt(_ sql: String, _ bindings: [SQLBinding] = []) throws -> Int64? {
        let stmt = try prepare(sql)
        try stmt.bind(bindings)
        guard try stmt.step(), stmt.type(0) != SQLITE_NULL else { return nil }
        return stmt.int64(0)
    }

    var changes: Int64 { Int64(api.pointee.changes(handle)) }
    var lastInsertRowid: Int64 { api.pointee.last_insert_rowid(handle) }
    var isAutocommit: Bool { api.pointee.get_autocommit(handle) != 0 }
}

/// A connection the extension opened itself (an archive file, the close-time flush):
/// closed when the last reference goes away. close_v2 waits for statements still
/// prepared on it, whatever order they are released in.
final class OwnedDatabase {
    let db: Database

    private init(_ db: Database) { self.db = db }
    deinit { _ = api.pointee.close_v2(db.handle) }

    /// Opens `path` through the host's routines; a failure is explained by `context`.
    static func open(_ path: String, flags: Int32, busyMs: Int32 = 5000, context: String) throws -> OwnedDatabase {
        var handle: OpaquePointer?
        let rc = api.pointee.open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = handle.map { Database(handle: $0).error(rc) }
                ?? SQLiteError(code: rc, message: "out of memory")
            if let handle { _ = api.pointee.close_v2(handle) }
            throw error.within(context)
        }
        _ = api.pointee.busy_timeout(handle, busyMs)
        return OwnedDatabase(Database(handle: handle))
    }
}

/// A value to bind from Swift.
enum SQLBinding {
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

/// A prepared statement, finalized when the last reference goes away.
final class Statement {
    let handle: OpaquePointer
    let db: Database

    init(_ handle: OpaquePointer, db: Database) {
        self.handle = handle
        self.db = db
    }

    deinit { _ = api.pointee.finalize(handle) }

    @inline(__always) func bind(_ index: Int32, _ value: Int64) {
        _ = api.pointee.bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Double) {
        _ = api.pointee.bind_double(handle, index, value)
    }

    @inline(__always) func bind(_ index: Int32, _ value: OpaquePointer?) {
        _ = api.pointee.bind_value(handle, index, value)
    }

    @inline(__always) func bind(_ index: Int32, _ value: ValueCopy) {
        _ = api.pointee.bind_value(handle, index, value.handle)
    }

    func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { chars in
                _ = api.pointee.bind_text(handle, index, chars.baseAddress, Int32(chars.count), shard_transient())
            }
        }
    }

    func bindNull(_ index: Int32) { _ = api.pointee.bind_null(handle, index) }

    func bind(_ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { b in
            _ = api.pointee.bind_blob(handle, index, b.baseAddress, Int32(b.count), shard_transient())
        }
    }

    func bind(_ bindings: [SQLBinding]) throws {
        for (i, b) in bindings.enumerated() {
            let n = Int32(i + 1)
            switch b {
            case .int(let v): bind(n, v)
            case .text(let s): bind(n, s)
            case .blob(let b): bind(n, blob: b)
            case .null: bindNull(n)
            }
        }
    }

    /// Steps once: true when a row is ready, false when done. Errors carry SQLite's code.
    @inline(__always) func step() throws -> Bool {
        let rc = api.pointee.step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        // The statement's own message; reset keeps the code but not always the text.
        let err = db.error(rc)
        _ = api.pointee.reset(handle)
        throw err
    }

    /// Runs to completion, ignoring rows.
    func run() throws {
        defer { reset() }
        while try step() {}
    }

    @inline(__always) func reset() {
        _ = api.pointee.reset(handle)
    }

    func clearBindings() { _ = api.pointee.clear_bindings(handle) }

    /// The highest parameter number the statement uses.
    var parameterCount: Int { Int(api.pointee.bind_parameter_count(handle)) }

    @inline(__always) func type(_ col: Int32) -> Int32 { api.pointee.column_type(handle, col) }
    @inline(__always) func int64(_ col: Int32) -> Int64 { api.pointee.column_int64(handle, col) }
    @inline(__always) func double(_ col: Int32) -> Double { api.pointee.column_double(handle, col) }
    @inline(__always) func value(_ col: Int32) -> OpaquePointer? { api.pointee.column_value(handle, col) }

    /// The column's text, valid until the next step or reset.
    @inline(__always) func textBytes(_ col: Int32) -> UnsafeRawBufferPointer {
        let p = api.pointee.column_text(handle, col)
        return UnsafeRawBufferPointer(start: p, count: Int(api.pointee.column_bytes(handle, col)))
    }

    func text(_ col: Int32) -> String? {
        guard let p = api.pointee.column_text(handle, col) else { return nil }
        return String(cString: p)
    }

    /// A BLOB column's bytes; nil when NULL.
    func blob(_ col: Int32) -> [UInt8]? {
        guard type(col) != SQLITE_NULL else { return nil }
        let n = Int(api.pointee.column_bytes(handle, col))
        guard n > 0, let p = api.pointee.column_blob(handle, col) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    func optionalInt(_ col: Int32) -> Int64? {
        type(col) == SQLITE_NULL ? nil : int64(col)
    }
}

// MARK: - sqlite3_value helpers

@inline(__always) func valueType(_ v: OpaquePointer?) -> Int32 { api.pointee.value_type(v) }
@inline(__always) func valueInt64(_ v: OpaquePointer?) -> Int64 { api.pointee.value_int64(v) }
@inline(__always) func valueDouble(_ v: OpaquePointer?) -> Double { api.pointee.value_double(v) }

func valueText(_ v: OpaquePointer?) -> String? {
    guard let p = api.pointee.value_text(v) else { return nil }
    return String(cString: p)
}

/// The value's text (nil for a NULL or out of memory), valid while the value is.
@inline(__always) func valueTextBytes(_ v: OpaquePointer?) -> UnsafeRawBufferPointer? {
    guard let p = api.pointee.value_text(v) else { return nil }
    return UnsafeRawBufferPointer(start: p, count: Int(api.pointee.value_bytes(v)))
}

/// The value's bytes as a blob (nil when empty or NULL), valid while the value is.
@inline(__always) func valueBlobBytes(_ v: OpaquePointer?) -> UnsafeRawBufferPointer? {
    guard let p = api.pointee.value_blob(v) else { return nil }
    return UnsafeRawBufferPointer(start: p, count: Int(api.pointee.value_bytes(v)))
}

@inline(__always) func valueIsUnchanged(_ v: OpaquePointer?) -> Bool { api.pointee.value_nochange(v) != 0 }

/// A copy of an sqlite3_value (sqlite3_value_dup) that outlives the call it came
/// from, freed when the last reference goes away. Made per statement, not per row;
/// the write buffer, which copies a document per insert, owns its copies directly
/// (`ValueCopy.duplicate` / `release`) to keep the insert path free of an object each.
final class ValueCopy {
    let handle: OpaquePointer?

    init(_ value: OpaquePointer?) { handle = api.pointee.value_dup(value) }
    deinit { api.pointee.value_free(handle) }

    /// The values of an IN list handed over whole (sqlite3_vtab_in_first/next); SQLite
    /// reuses one value object while iterating, so each is copied as it comes.
    static func inList(_ list: OpaquePointer?, db: Database) throws -> [ValueCopy] {
        var copies: [ValueCopy] = []
        var item: OpaquePointer?
        var rc = api.pointee.vtab_in_first(list, &item)
        while rc == SQLITE_OK {
            copies.append(ValueCopy(item))
            rc = api.pointee.vtab_in_next(list, &item)
        }
        if rc != SQLITE_DONE { throw db.error(rc) }
        return copies
    }

    /// A bare copy for an owner that frees it with `release`.
    @inline(__always) static func duplicate(_ value: OpaquePointer?) -> OpaquePointer? { api.pointee.value_dup(value) }
    @inline(__always) static func release(_ copy: OpaquePointer?) { api.pointee.value_free(copy) }
}

/// The arguments SQLite hands a function or xUpdate, as a buffer of sqlite3_value pointers.
typealias ValueArray = UnsafeMutablePointer<OpaquePointer?>

// MARK: - results

func resultText(_ ctx: OpaquePointer?, _ text: String) {
    var text = text
    text.withUTF8 { buf in
        buf.withMemoryRebound(to: CChar.self) { chars in
            api.pointee.result_text(ctx, chars.baseAddress, Int32(chars.count), shard_transient())
        }
    }
}

@inline(__always) func resultValue(_ ctx: OpaquePointer?, _ v: OpaquePointer?) { api.pointee.result_value(ctx, v) }
@inline(__always) func resultNull(_ ctx: OpaquePointer?) { api.pointee.result_null(ctx) }
@inline(__always) func resultInt64(_ ctx: OpaquePointer?, _ v: Int64) { api.pointee.result_int64(ctx, v) }

func resultError(_ ctx: OpaquePointer?, _ error: Error) {
    let (code, message) = sqliteCodeAndMessage(error)
    api.pointee.result_error(ctx, message, -1)
    api.pointee.result_error_code(ctx, code)
}

/// Sets a vtab's zErrMsg with the host's allocator and returns the code to hand back.
func failVtab(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, _ error: Error) -> Int32 {
    let (code, message) = sqliteCodeAndMessage(error)
    if let vtab {
        sqliteFree(vtab.pointee.zErrMsg)
        vtab.pointee.zErrMsg = shard_strdup(message)
    }
    return code
}

/// Sets the message of a failed xCreate/xConnect and returns the code to hand back.
func failConnect(_ errOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ error: Error) -> Int32 {
    let (code, message) = sqliteCodeAndMessage(error)
    errOut?.pointee = shard_strdup(message)
    return code
}

/// Memory from SQLite's allocator (sqlite3_malloc64), so a heap limit set on SQLite
/// bounds it; nil when refused. Freed with `sqliteFree`.
func sqliteMalloc(_ size: UInt64) -> UnsafeMutableRawPointer? { api.pointee.malloc64(size) }

/// Frees memory SQLite allocated (sqlite3_free).
func sqliteFree(_ p: UnsafeMutableRawPointer?) { if let p { api.pointee.free(p) } }
func sqliteFree(_ p: UnsafeMutablePointer<CChar>?) { if let p { api.pointee.free(p) } }

/// Writes to SQLite's error log (sqlite3_log, SQLITE_CONFIG_LOG): what the extension
/// could not report to a statement, such as a failure while a connection closes.
func sqliteLog(_ code: Int32, _ message: String) {
    shard_log(code, ShardError(message).message)
}

/// The name of the process's default VFS.
var defaultVFSName: UnsafePointer<CChar>? { api.pointee.vfs_find(nil)?.pointee.zName }

/// The running SQLite's version number, e.g. 3045001.
var sqliteVersionNumber: Int32 { api.pointee.libversion_number() }
var sqliteVersion: String { String(cString: api.pointee.libversion()!) }
