import ShardCore

/// Every statement a collection keeps prepared on its connection, and the texts its
/// scans reuse; the catalog tables' own statements are CatalogStore's. Each kind is
/// made on first use and dropped when what it names changes (a shard's table goes,
/// the columns or the storage change); `finalizeAll` is the one teardown.
final class CollectionStatements {
    private let db: Database
    /// Statements lent out by SQL text, one user at a time: shard scans, deletes,
    /// updates, and the scan's read pin (`PRAGMA data_version`). A scan's streams
    /// hold it to give their statements back (an archive's streams, the archive's).
    let cache = StatementCache()
    /// Decoded plans and shard SELECTs of the scans run so far.
    let shapes = ScanShapes()
    /// Each hot shard's INSERT, by shard number.
    private var inserts: [Int64: Statement] = [:]
    /// Reads what routing needs of a document (see `placementProbe`).
    private var placement: Statement?
    /// Reads a document's indexed values to widen a summary, for `summaryPaths`,
    /// whose hashes are `summaryHashes`.
    private var summary: Statement?
    private var summaryPaths: [JSONPath] = []
    private(set) var summaryHashes: [UInt64] = []
    /// `PRAGMA data_version`, stepped and reset by catch-up.
    private var dataVersionStatement: Statement?

    init(db: Database) { self.db = db }

    // MARK: - lent statements

    func checkout(_ sql: String) throws -> Statement { try cache.checkout(db, sql) }

    /// Takes a statement back, reset and unbound.
    func checkin(_ stmt: Statement) { cache.checkin(stmt) }

    /// Room for a few statements per shard (see `StatementCache.fit`).
    func fit(shards: Int) { cache.fit(shards: shards) }

    // MARK: - kept statements

    /// The INSERT of shard `number`, prepared from `sql` the first time.
    @inline(__always) func insert(shard number: Int64, sql: () -> String) throws -> Statement {
        if let s = inserts[number] { return s }
        let s = try db.prepare(sql(), persistent: true)
        inserts[number] = s
        return s
    }

    /// The statement that reads a document's type, time and category for routing.
    @inline(__always) func placementProbe(sql: () -> String) throws -> Statement {
        if let placement { return placement }
        let s = try db.prepare(sql(), persistent: true)
        placement = s
        return s
    }

    /// `SELECT json_extract(?1, <path>), ...` over `paths`: what a summary holds of one
    /// document. Made again when the paths change (ensure_json_index adds one).
    func summaryProbe(paths: [JSONPath]) throws -> Statement {
        if let summary, summaryPaths == paths { return summary }
        let cols = paths.map { "json_extract(?1, \(SQLText.literal($0.text)))" }
        let s = try db.prepare("SELECT " + cols.joined(separator: ", "), persistent: true)
        summary = s
        summaryPaths = paths
        summaryHashes = paths.map { BlockFilter.pathHash($0.text) }
        return s
    }

    /// `sql` (the collection's `PRAGMA data_version`), kept prepared.
    func dataVersion(sql: String) throws -> Statement {
        if let dataVersionStatement { return dataVersionStatement }
        let s = try db.prepare(sql, persistent: true)
        dataVersionStatement = s
        return s
    }

    // MARK: - invalidation

    /// These shards' tables went or changed kind (dropped, archived, compressed): every
    /// statement that may name them goes, and is prepared again on use.
    func forget(shards numbers: [Int64]) {
        cache.removeAll()
        for n in numbers { inserts[n] = nil }
    }

    /// Shard `number`'s rows now go to another table (it was merged).
    func forgetInsert(shard number: Int64) { inserts[number] = nil }

    /// Memory was read again from the catalog: shards may have new tables.
    func forgetInserts() { inserts.removeAll() }

    /// Every statement on shard tables goes (the documents' storage changes).
    func forgetShardStatements() {
        cache.removeAll()
        inserts.removeAll()
    }

    /// The columns or the storage changed: the shapes built for the old ones go too.
    func layoutChanged() {
        shapes.removeShapes()
        forgetShardStatements()
    }

    /// Finalizes every statement, before the collection lets go of its connection
    /// (close) or its tables (drop).
    func finalizeAll() {
        cache.removeAll()
        inserts.removeAll()
        placement = nil
        summary = nil
        summaryPaths = []
        summaryHashes = []
        dataVersionStatement = nil
    }
}
