import CShardShim
import ShardCore

/// The one `DocumentScanner` pass over a document inserted directly (not buffered):
/// it reads placement's paths (the time, the category) and, in the same pass, those of
/// every rollup the insert feeds (`Connection.rollupsFed(by:)`), each distinct path
/// once (`DocumentReads`). Placement takes its values (`scannedPlacement`); after the
/// row is written, `feedRollups` hands each rollup its own. What the pass cannot
/// answer exactly, nobody takes from it: placement asks SQLite, and each rollup reads
/// the document itself (`RollupTable.inserted(_:ts:doc:)`), as without sharing.
final class InsertScan {
    /// One pass's values, and the rollups it read for (`version`).
    struct Read {
        let values: [ScannedValue]
        /// `Connection.rollupsChanges` when the pass was made; -1 for placement's
        /// values alone.
        fileprivate let version: Int
    }

    /// A rollup fed by the insert, and where its paths' values are in a pass's.
    /// Unowned, and unchecked: the connection holds every rollup it lists (and the
    /// rollup its connection) until xDisconnect takes it out of `rollups`, which moves
    /// `rollupsChanges`; a feed is used only while that has not moved (`feeds(_:)`).
    struct Feed {
        unowned(unsafe) let rollup: RollupTable
        let positions: [Int]
    }

    private let placement: [JSONPath]
    /// Whether the collection feeds rollups at all (those of the main database do).
    private let main: Bool
    private var reads: DocumentReads
    /// The rollups `Connection.rollupsFed(by:)` gave when `reads` was made.
    private var feeds: [Feed] = []
    /// The connection's count of rollup changes (taken at the first insert), and its
    /// value when `reads` was made (-1: not yet).
    private var changes: ChangeCount?
    private var version = -1

    init(placement: [JSONPath], schema: String) {
        self.placement = placement
        main = schema == "main"
        reads = DocumentReads(first: placement)
    }

    /// The values at placement's paths (positions 0..<placement.count), then at the fed
    /// rollups' paths when the pass answers for them; nil when the scanner cannot
    /// answer exactly for placement's.
    func scan(_ bytes: UnsafeRawBufferPointer, for collection: ShardedCollection) -> Read? {
        if main && changes == nil { changes = collection.connection?.rollupsChanges }
        let now = changes?.value ?? -1
        if now != version {
            reads = DocumentReads(first: placement)
            feeds = []
            if now >= 0, let connection = collection.connection {
                for rollup in connection.rollupsFed(by: collection.name) {
                    let k = reads.add(rollup.scanPaths ?? [])
                    feeds.append(Feed(rollup: rollup, positions: reads.positions(of: k)))
                }
            }
            version = now
        }
        if reads.paths.isEmpty { return Read(values: [], version: now) }
        if let values = DocumentScanner.scan(bytes, paths: reads.paths) { return Read(values: values, version: now) }
        // The pass read further than placement needs: placement reads its own paths as
        // it would alone (the rollups, finding none of theirs, read theirs themselves).
        guard !feeds.isEmpty else { return nil }
        if placement.isEmpty { return Read(values: [], version: -1) }
        return DocumentScanner.scan(bytes, paths: placement).map { Read(values: $0, version: -1) }
    }

    /// The rollups fed by the insert `read` was made for, with where their values are
    /// in it; nil when it was made without them, or the rollups changed since.
    @inline(__always) func feeds(_ read: Read) -> [Feed]? {
        guard read.version >= 0, read.version == version, version == changes?.value else { return nil }
        return feeds
    }
}

/// A count that moves at every change of what it stands for, for whoever caches what
/// follows from it without holding its owner.
final class ChangeCount {
    var value = 0
}

extension ShardedCollection {
    /// After an insert into `shard` (its stamp moved by it): every rollup over the
    /// collection connected on this connection adds the row to its parts of the shard,
    /// from `read` (the insert's pass over the document) when it holds their paths.
    @inline(__always) func feedRollups(_ shard: ShardInfo, ts: Int64, doc: OpaquePointer?, read: InsertScan.Read?) {
        if let read, let feeds = insertScan.feeds(read) {
            for feed in feeds { feed.rollup.inserted(shard, ts: ts, read: read.values, at: feed.positions) }
            return
        }
        guard schema == "main", let connection else { return }
        for rollup in connection.rollupsFed(by: name) { rollup.inserted(shard, ts: ts, doc: doc) }
    }
}
