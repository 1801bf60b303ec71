import CShardShim
import ShardCore

/// Documents a connection has inserted but not yet written (`buffer = N`; README, "Durability and write buffering").
///
/// Each document is routed and given its id when it is inserted: ids come from a
/// block the connection reserves in the catalog (one catalog write per block), so
/// other connections writing the same shard never collide with them. A flush writes
/// the documents into their shards inside the current transaction; the entries are
/// kept until that transaction commits, so a rollback can put acknowledged ones back.
final class WriteBuffer {
    struct Entry {
        let shard: Int64
        let id: Int64
        let ts: Int64
        /// A copy of the document (sqlite3_value_dup) the buffer owns: freed when the
        /// entry is done, and by the buffer's deinit for whatever is left.
        let doc: OpaquePointer?
        /// Buffered by a statement whose transaction has committed (the user was told "done").
        var acknowledged: Bool
        /// Order of buffering, and the flush that wrote it (for ROLLBACK TO).
        let seq: Int
        var flush: Int = 0
    }

    /// Not yet written, in insertion order.
    private(set) var waiting: [Entry] = []
    /// Written in the open transaction; done at commit, back to `waiting` at rollback.
    private var written: [Entry] = []
    /// When the oldest waiting entry was buffered (ms).
    private(set) var oldest: Int64 = 0
    /// Ids reserved in the catalog and not handed out yet, per shard: next...last.
    private var reservations: [Int64: (next: Int64, last: Int64)] = [:]
    /// At each open savepoint: the next entry's seq and the next flush's number.
    private var savepoints: [Int32: (seq: Int, flush: Int)] = [:]
    private var nextSeq = 1
    private var nextFlush = 1

    deinit { discardAll() }

    var isEmpty: Bool { waiting.isEmpty }

    /// Waiting entries whose statements committed: what a close must still write.
    var acknowledged: [Entry] { waiting.filter(\.acknowledged) }
    var count: Int { waiting.count }

    func append(shard: Int64, id: Int64, ts: Int64, doc: OpaquePointer?, now: Int64) {
        if waiting.isEmpty { oldest = now }
        waiting.append(Entry(shard: shard, id: id, ts: ts, doc: ValueCopy.duplicate(doc), acknowledged: false, seq: nextSeq))
        nextSeq += 1
    }

    /// The next reserved id of a shard, if a reservation has one left.
    func takeReservedId(shard: Int64) -> Int64? {
        guard var r = reservations[shard], r.next <= r.last else { return nil }
        let local = r.next
        r.next += 1
        reservations[shard] = r
        return DocumentId.make(shard: shard, local: local)
    }

    func reserve(shard: Int64, first: Int64, last: Int64) {
        reservations[shard] = (first, last)
    }

    /// Hands every waiting entry to `write`, in order; they wait for the commit.
    func drain(_ write: (Entry) throws -> Void) rethrows -> Int {
        var done = 0
        let flush = nextFlush
        nextFlush += 1
        defer {
            for var e in waiting[..<done] {
                e.flush = flush
                written.append(e)
            }
            waiting.removeFirst(done)
        }
        for e in waiting {
            try write(e)
            done += 1
        }
        return done
    }

    func savepoint(_ n: Int32) { savepoints[n] = (nextSeq, nextFlush) }

    /// The transaction committed: written entries are done, waiting ones acknowledged.
    /// Entries are acknowledged in order, so only those since the last commit are visited.
    func committed() {
        free(written)
        written.removeAll()
        var i = waiting.count - 1
        while i >= 0 && !waiting[i].acknowledged {
            waiting[i].acknowledged = true
            i -= 1
        }
        savepoints.removeAll()
    }

    /// The transaction rolled back: what it buffered is gone; acknowledged entries it
    /// wrote wait again. Reservations made in it are gone with the catalog rows.
    func rolledBack() {
        let back = written.filter(\.acknowledged)
        free(written.filter { !$0.acknowledged })
        free(waiting.filter { !$0.acknowledged })
        waiting = (back + waiting.filter(\.acknowledged)).sorted { $0.seq < $1.seq }
        written.removeAll()
        reservations.removeAll()
        savepoints.removeAll()
    }

    /// ROLLBACK TO: entries buffered since the savepoint are gone; older ones written
    /// since it wait again.
    func rolledBack(toSavepoint n: Int32) {
        reservations.removeAll()
        guard let mark = savepoints[n] else { return }
        let undone = written.filter { $0.flush >= mark.flush }
        written.removeAll { $0.flush >= mark.flush }
        free(undone.filter { $0.seq >= mark.seq } + waiting.filter { $0.seq >= mark.seq })
        waiting = (undone.filter { $0.seq < mark.seq } + waiting.filter { $0.seq < mark.seq }).sorted { $0.seq < $1.seq }
        savepoints = savepoints.filter { $0.key <= n }
    }

    func discardAll() {
        free(waiting)
        free(written)
        waiting.removeAll()
        written.removeAll()
        reservations.removeAll()
    }

    private func free(_ entries: [Entry]) {
        for e in entries { ValueCopy.release(e.doc) }
    }
}
