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
    /// One pass's values, and the rollups it read for (`Connection.rollupsVersion`).
    struct Read {
        let values: [ScannedValue]
        /// The rollups' version (-2: placement's values alone).
        fileprivate let version: Int
    }

    private let placement: [JSONPath]
    private var reads: DocumentReads
    /// The `Connection.rollupsVersion` the rollups' paths were added at; -1 for none.
    private var version = -1

    init(placement: [JSONPath]) {
        self.placement = placement
        reads = DocumentReads(first: placement)
    }

    /// The values at placement's paths (positions 0..<placement.count) then the fed
    /// rollups' paths; nil when the scanner cannot answer exactly.
    func scan(_ bytes: UnsafeRawBufferPointer, for collection: ShardedCollection) -> Read? {
        let now = collection.schema == "main" ? collection.connection?.rollupsVersion ?? -1 : -1
        if now != version {
            reads = DocumentReads(first: placement)
            if now >= 0, let connection = collection.connection {
                for rollup in connection.rollupsFed(by: collection.name) { reads.add(rollup.scanPaths ?? []) }
            }
            version = now
        }
        if reads.paths.isEmpty { return Read(values: [], version: version) }
        if let values = DocumentScanner.scan(bytes, paths: reads.paths) { return Read(values: values, version: version) }
        // The pass read further than placement needs: placement reads its own paths as
        // it would alone (the rollups, finding none of theirs, read theirs themselves).
        guard reads.paths.count > placement.count else { return nil }
        if placement.isEmpty { return Read(values: [], version: -2) }
        return DocumentScanner.scan(bytes, paths: placement).map { Read(values: $0, version: -2) }
    }

    /// Where rollup `k` of the list `rollupsFed` gives at `version` finds its paths'
    /// values in `read`; nil when `read` was made for another list.
    @inline(__always) func positions(of k: Int, in read: Read, version now: Int) -> [Int]? {
        guard read.version == now, version == now, k < reads.count else { return nil }
        return reads.positions(of: k)
    }
}

extension ShardedCollection {
    /// After an insert into `shard` (its stamp moved by it): every rollup over the
    /// collection connected on this connection adds the row to its parts of the shard,
    /// from `read` (the insert's pass over the document) when it holds its paths.
    @inline(__always) func feedRollups(_ shard: ShardInfo, ts: Int64, doc: OpaquePointer?, read: InsertScan.Read?) {
        guard schema == "main", let connection else { return }
        let now = connection.rollupsVersion
        for (k, rollup) in connection.rollupsFed(by: name).enumerated() {
            if let read, let positions = insertScan.positions(of: k, in: read, version: now) {
                rollup.inserted(shard, ts: ts, read: read.values, at: positions)
            } else {
                rollup.inserted(shard, ts: ts, doc: doc)
            }
        }
    }
}
