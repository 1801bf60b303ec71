/// Where a collection stands in SQLite's transaction, and whether its catalog in
/// memory can be trusted.
///
/// NOTES ON TRANSACTIONS
///
/// A collection keeps its catalog in memory (shards, their counters, the next shard
/// number). Inserts change the counters in memory only; they are written back to
/// `<c>_shards` at xSync, inside the transaction. Memory can fall behind the database
/// in two ways: another connection commits (PRAGMA data_version moves), or a rollback
/// undoes what this connection wrote (`catalogStale`). Reads catch up at every xFilter;
/// writes catch up once per transaction, at the first write (`needsWriteCheck`).
///
/// What SQLite's calls do (the virtual-table adapters call these):
///
/// - xBegin (`began`): the collection writes in this transaction. The first write
///   checks for other writers again. The first xBegin notes whether BEGIN opened the
///   transaction (`explicit`) or it is one autocommit statement (`autocommit`);
///   later ones (a second instance, a flush joining) keep that.
/// - xSync (no change here): in an explicit transaction the write buffer is written;
///   if memory is stale it is read again first; then the counters of changed shards
///   are written back.
/// - xCommit (`committed`): memory and database agree. The collection leaves the
///   transaction; the next one checks again before its first write.
/// - xRollback (`rolledBack`): everything of the transaction is gone, new shards too:
///   memory is stale until it is read again. The collection leaves the transaction.
/// - xSavepoint, xRelease (no change here): the write buffer marks its position.
/// - xRollbackTo (`rolledBackToSavepoint`): part of the transaction is undone: memory
///   is stale. The collection stays in the transaction.
///
/// The SQL functions that change a collection (shard_drop, shard_compress,
/// shard_archive, ensure_json_index) and a flush outside a write first enlist it with
/// a write statement on the collection that touches no row, so SQLite makes these
/// calls for their transaction too (ROLLBACK and ROLLBACK TO then reach memory).
///
/// And from the collection itself: `reloaded` once memory was read from the database,
/// `checkedForWrite` after a transaction's first write caught up, `markStale` when a
/// savepoint of its own (shard_drop, shard_archive, ...) rolled back, and `flushing`
/// while the write buffer is being written (its own statements must not flush again,
/// nor drop tables under it).
public struct TransactionState: Equatable, Sendable {
    public enum Phase: Equatable, Sendable {
        /// Not between xBegin and xCommit/xRollback.
        case outside
        /// Enlisted in a transaction that one autocommit statement opened.
        case autocommit
        /// Enlisted in a transaction that BEGIN opened.
        case explicit
    }

    public private(set) var phase: Phase = .outside
    /// Memory may be behind the database because a rollback undid our writes (or
    /// nothing was read yet).
    public private(set) var catalogStale = true
    /// This transaction's first write has caught up with other writers.
    public private(set) var writeChecked = false
    /// The write buffer is being written.
    public var flushing = false

    public init() {}

    /// Between xBegin and xCommit/xRollback: SQLite will tell how the transaction ends.
    @inline(__always) public var isEnlisted: Bool { phase != .outside }
    /// At xSync, the write buffer is written (an autocommit statement leaves it buffered).
    public var isExplicit: Bool { phase == .explicit }
    /// A write must first catch up with the database.
    @inline(__always) public var needsWriteCheck: Bool { !writeChecked || catalogStale }

    /// xBegin. `autocommit` is whether the connection is in autocommit mode (no BEGIN).
    public mutating func began(autocommit: Bool) {
        writeChecked = false
        if phase == .outside { phase = autocommit ? .autocommit : .explicit }
    }

    /// xCommit.
    public mutating func committed() {
        writeChecked = false
        phase = .outside
    }

    /// xRollback.
    public mutating func rolledBack() {
        catalogStale = true
        writeChecked = false
        phase = .outside
    }

    /// xRollbackTo.
    public mutating func rolledBackToSavepoint() { catalogStale = true }

    /// Memory was read from the database (or the collection was just created).
    public mutating func reloaded() { catalogStale = false }

    /// The first write of the transaction has caught up.
    public mutating func checkedForWrite() { writeChecked = true }

    /// A savepoint of the collection's own rolled back.
    public mutating func markStale() { catalogStale = true }
}
