import CShardShim
import ShardCore

// The one place that touches SQLite's C API. Everything goes through the
// host's sqlite3_api_routines (see CShardShim.h); above this file the code is
// plain Swift working with `Database`, `Statement` and `SQLiteError`.

/// The host's routines. Loaded once per call site; the struct is never copied.
@inline(__always) var api: UnsafePointer<sqlite3_api_routines> { shard_api()! }

/// An error from SQLite itself, carrying its result code (SQLITE_BUSY stays SQLITE_BUSY).
struct SQLiteError: Error {
    let code: Int32
    let message: String
}

/// The result code and message an error becomes at the SQL boundary.
func sqliteCodeAndMessage(_ error: Error) -> (Int32, String) {
    switch error {
    case let e as SQLiteError: return (e.code, e.message)
    case let e as ShardError: return (SQLITE_ERROR, e.message)
    default: return (SQLITE_ERROR, "shards: \(error)")
    }
}

/// A connection handle we do not own.
struct Database {
    let handle: OpaquePointer

    var errorMessage: String { String(cString: api.pointee.errmsg(handle)!) }

    func error(_ code: Int32) -> SQLiteError {
        SQLiteError(code: code, message: errorMessage)
    }

    func exec(_ sql: String) throws {
        let rc = api.pointee.exec(handle, sql, nil, nil, nil)
        if rc != SQLITE_OK { throw error(rc) }
    }

    func prepare(_ sql: String, persistent: Bool = false) throws -> Statement {
        var stmt: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = api.pointee.prepare_v3(handle, sql, -1, flags, &stmt, nil)
        if rc != SQLITE_OK { throw error(rc) }
        guard let stmt else { throw ShardError("shards: empty statement: \(sql)") }
        return Statement(stmt, db: self)
    }

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
        guard let stmt else { throw ShardError("shards: empty statement") }
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

    @inline(__always) func type(_ col: Int32) -> Int32 { api.pointee.column_type(handle, col) }
    @inline(__always) func int64(_ col: Int32) -> Int64 { api.pointee.column_int64(handle, col) }
    @inline(__always) func double(_ col: Int32) -> Double { api.pointee.column_double(handle, col) }
    @inline(__always) func value(_ col: Int32) -> OpaquePointer? { api.pointee.column_value(handle, col) }

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

func resultError(_ ctx: OpaquePointer?, _ error: Error) {
    let (code, message) = sqliteCodeAndMessage(error)
    api.pointee.result_error(ctx, message, -1)
    api.pointee.result_error_code(ctx, code)
}

/// Sets a vtab's zErrMsg with the host's allocator and returns the code to hand back.
func failVtab(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, _ error: Error) -> Int32 {
    let (code, message) = sqliteCodeAndMessage(error)
    if let vtab {
        if let old = vtab.pointee.zErrMsg { api.pointee.free(old) }
        vtab.pointee.zErrMsg = shard_strdup(message)
    }
    return code
}

/// The running SQLite's version number, e.g. 3045001.
var sqliteVersionNumber: Int32 { api.pointee.libversion_number() }
var sqliteVersion: String { String(cString: api.pointee.libversion()!) }
