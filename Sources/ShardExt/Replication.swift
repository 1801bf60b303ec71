import CShardShim
import ShardCore
#if canImport(Glibc)
import Glibc
#endif

/// A database may live on a VFS that replicates it, such as dqlite's: SQLite runs
/// in the node process, and Raft replicates the WAL frames that the node's own
/// connection commits through its own requests. Three things the extension does
/// would escape that, and are refused there with an error that says why:
///
/// - a connection of its own or a direct file open (shard_archive, reading archived
///   shards, and the close-time write of buffered rows, hence `buffer > 0`): that
///   file is written or read on one machine only;
/// - a write made by a SQL function (shard_insert, shard_drop, ...) in autocommit
///   mode: dqlite replicates a transaction when its COMMIT runs as a write request,
///   and a SELECT runs as a read request, whose commit dqlite never replicates (the
///   node then fails on its next write). Inside BEGIN ... COMMIT, as the dqlite shell
///   runs every SELECT, the COMMIT replicates everything.
///
/// "Local" is a VFS whose files are the machine's own: the default VFS, SQLite's
/// unix* and win32* VFSes, and memdb.
enum Replication {
    /// The name of the VFS storing `schema` when it is not a local one, else nil.
    static func replicatingVFS(_ db: Database, schema: String) -> String? {
        guard let name = vfsName(db, schema: schema), !isLocal(name) else { return nil }
        return String(cString: name)
    }

    /// Throws unless `schema` is on a local VFS: `what` needs files of this machine,
    /// `because` says how.
    static func requireLocalFiles(_ db: Database, schema: String, for what: @autoclosure () -> String, because: String) throws {
        guard let vfs = replicatingVFS(db, schema: schema) else { return }
        throw ShardError("\(what()) cannot be used on VFS '\(vfs)' (not a local file: replicated, as under dqlite): \(because), outside replication")
    }

    static let archiveFile = "an archive file is written and read on this machine alone"
    static let bufferedRows = "rows still buffered when the connection closes are written through a connection of its own"

    /// Throws when a function that writes runs in autocommit mode on a replicated
    /// database (`vfs`, see above).
    static func requireTransactionForWrite(_ db: Database, vfs: String, function: String) throws {
        guard db.isAutocommit else { return }
        throw ShardError("\(function) writes, and on VFS '\(vfs)' (not a local file: replicated, as under dqlite) a write made by a SELECT replicates only inside BEGIN ... COMMIT: run it in a transaction (the dqlite shell does)")
    }

    private static func vfsName(_ db: Database, schema: String) -> UnsafePointer<CChar>? {
        db.vfsName(schema)
    }

    private static func isLocal(_ name: UnsafePointer<CChar>) -> Bool {
        if let fallback = defaultVFSName, strcmp(name, fallback) == 0 { return true }
        return strncmp(name, "unix", 4) == 0 || strncmp(name, "win32", 5) == 0 || strcmp(name, "memdb") == 0
    }
}
