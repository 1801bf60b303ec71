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
        private let owner: OwnedDatabase
        var db: Database { owner.db }
        let statements = StatementCache(capacity: 512)
        var lastUse = 0
        init(_ owner: OwnedDatabase) { self.owner = owner }
        deinit { statements.removeAll() }
    }

    /// The random id the collection's archive files record as their owner (config
    /// `owner_id`); forgotten at a rollback, which may have undone its recording.
    var ownerId: String?
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
        let db = try OwnedDatabase.open(path, flags: SQLITE_OPEN_READONLY,
                                        context: "archive file '\(path)' of shard \(shard) cannot be read")
        try verify(db.db)   // a failure closes it (OwnedDatabase)
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
        let owner = try OwnedDatabase.open(path, flags: SQLITE_OPEN_READWRITE,
                                           context: "archive file '\(path)' has an interrupted write that cannot be rolled back")
        _ = try owner.db.scalarInt("SELECT count(*) FROM sqlite_schema")
    }
}
