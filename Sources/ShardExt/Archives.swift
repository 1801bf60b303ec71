import CShardShim
import ShardCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Archive files a collection reads from: each opened read-only on first use, on a
/// connection of its own (ATTACH is not allowed inside a transaction, and a read can
/// happen in any), with its own statement cache. At most `limit` stay open; the
/// least recently used is closed first.
final class Archives {
    final class Handle {
        let db: Database
        let statements = StatementCache(capacity: 512)
        var lastUse = 0
        init(_ db: Database) { self.db = db }
        deinit {
            statements.removeAll()
            _ = api.pointee.close_v2(db.handle)
        }
    }

    private var open: [String: Handle] = [:]
    private var clock = 0
    let limit: Int

    init(limit: Int = 4) { self.limit = limit }

    /// The read-only connection of an archive file (an absolute path); `verify` checks
    /// a newly opened one before it is used.
    func handle(_ path: String, shard: String, verify: (Database) throws -> Void) throws -> Handle {
        clock += 1
        if let h = open[path] {
            h.lastUse = clock
            return h
        }
        try Archives.recoverInterruptedWrite(path)
        let db = try Archives.open(path, flags: SQLITE_OPEN_READONLY) { message in
            "shards: archive file '\(path)' of shard \(shard) cannot be read: \(message)"
        }
        do {
            try verify(db)
        } catch {
            _ = api.pointee.close_v2(db.handle)
            throw error
        }
        if open.count >= limit, let oldest = open.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            open[oldest] = nil
        }
        let h = Handle(db)
        h.lastUse = clock
        open[path] = h
        return h
    }

    /// Forgets an open file (after it was written, say).
    func close(_ path: String) { open[path] = nil }

    func closeAll() { open.removeAll() }

    /// A shard_archive killed part-way leaves a hot journal that a read-only
    /// connection cannot roll back: open the file read-write once to let SQLite do it.
    static func recoverInterruptedWrite(_ path: String) throws {
        guard access(path + "-journal", F_OK) == 0 else { return }
        let db = try open(path, flags: SQLITE_OPEN_READWRITE) { message in
            "shards: archive file '\(path)' has an interrupted write that cannot be rolled back: \(message)"
        }
        defer { _ = api.pointee.close_v2(db.handle) }
        _ = try db.scalarInt("SELECT count(*) FROM sqlite_schema")
    }

    /// Opens a connection through the host's routines; the error says which file.
    static func open(_ path: String, flags: Int32, busyMs: Int32 = 5000, error: (String) -> String) throws -> Database {
        var handle: OpaquePointer?
        let rc = api.pointee.open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: api.pointee.errmsg($0)!) } ?? "out of memory"
            if let handle { _ = api.pointee.close_v2(handle) }
            throw SQLiteError(code: rc, message: error(message))
        }
        _ = api.pointee.busy_timeout(handle, busyMs)
        return Database(handle: handle)
    }
}
