/// Document ids name their shard: the shard's number in the high bits, the row's
/// sequence inside the shard in the low 40 bits. No search is needed to find a row.
public enum DocumentId {
    public static let localBits: Int64 = 40
    /// The largest row sequence a shard can hand out.
    public static let maxLocal: Int64 = (1 << localBits) - 1

    @inline(__always) public static func make(shard number: Int64, local: Int64) -> Int64 {
        (number << localBits) | local
    }

    @inline(__always) public static func shardNumber(of id: Int64) -> Int64 {
        id >> localBits
    }

    /// The largest shard number whose ids still fit in a positive Int64.
    public static let maxShardNumber: Int64 = Int64.max >> localBits

    /// The ids a shard can hold, inclusive.
    public static func range(ofShard number: Int64) -> ClosedRange<Int64> {
        (number << localBits)...((number << localBits) | maxLocal)
    }
}

/// One shard as the catalog knows it. Counters are kept in memory during a
/// transaction and written back before it commits (see `dirty`).
public final class ShardInfo {
    public let key: ShardKey
    /// `key.text`, rendered once: the cursor reads it per row.
    public let keyText: String
    /// The shard's table, as the catalog records it (`ShardTableName`).
    public let tableName: String
    public let number: Int64
    public let period: Period
    public var rows: Int64
    /// The last row sequence handed out; ids are never reused, even after deletes.
    public var lastLocal: Int64
    public var minId: Int64?
    public var maxId: Int64?
    public var minTs: Int64?
    public var maxTs: Int64?
    /// `hot` for a live shard; later states come from the lifecycle functions.
    public var state: ShardState
    public var file: String?
    /// For a shard merged into another table: that table's number (its ids now live there).
    public var mergedInto: Int64?
    /// For a merged table: the numbers of the shards whose rows (and ids) it holds.
    public var sources: [Int64] = []
    /// What the shard holds on each indexed path, once it no longer receives rows;
    /// nil when unknown (the shard is then always visited).
    public var summary: ShardSummary?
    /// Counters changed in memory since the catalog row was last written.
    public var dirty = false
    /// The shard's change stamp: it goes up at every change of its documents (an
    /// insert, an update, a delete, rows merged in), is written back with the
    /// counters, and jumps past every value used since the last commit when a partial
    /// rollback makes the shard count again. A rollup's partial aggregate of the shard
    /// holds while the stamp it was built at is the shard's. It moves one step per row
    /// inserted, updated or deleted, so `changes - rows` of a shard that takes no merged
    /// rows stays the same exactly while only inserts come (a rollup's prefix of a hot
    /// shard holds while it does, ShardExt/RollupPrefix.swift).
    public var changes: Int64 = 0

    public init(key: ShardKey, number: Int64, period: Period, rows: Int64 = 0, lastLocal: Int64 = 0,
                minId: Int64? = nil, maxId: Int64? = nil, minTs: Int64? = nil, maxTs: Int64? = nil,
                state: ShardState = .hot, file: String? = nil, mergedInto: Int64? = nil, tableName: String? = nil) {
        self.key = key
        self.keyText = key.text
        self.tableName = tableName ?? key.tableName
        self.number = number
        self.period = period
        self.rows = rows
        self.lastLocal = lastLocal
        self.minId = minId
        self.maxId = maxId
        self.minTs = minTs
        self.maxTs = maxTs
        self.state = state
        self.file = file
        self.mergedInto = mergedInto
    }

    /// The ids the table can hold, inclusive: its number's range, or for a merged
    /// table the span of the ids it holds. An empty merged table holds none: `0...0`
    /// (a closed range cannot be empty, and no document has id 0).
    public var ids: ClosedRange<Int64> {
        guard key.isMerged else { return DocumentId.range(ofShard: number) }
        guard let lo = minId, let hi = maxId, lo <= hi else { return 0...0 }
        return lo...hi
    }

    /// The periods the shard merges up through, from its own level's (see
    /// `Partition.mergeLevels`): they follow from its key alone, and merge planning asks
    /// for them at every step. Empty without a period start (partition none).
    public private(set) lazy var mergeLevels: [(level: Partition, period: Period)] = {
        guard let start = period.start else { return [] }
        return Partition.level(ofLabel: key.period).mergeLevels.map { ($0, $0.period(containing: start)) }
    }()

    /// Whether the table holds ids of shard number `n` (its own, or a merged source's).
    public func holdsIds(ofShard n: Int64) -> Bool { n == number || sources.contains(n) }

    /// See `ShardState.retired` and `.retiredCompressed`.
    public var isRetired: Bool { state == .retired || state == .retiredCompressed }
    public var isCompressed: Bool { state == .compressed }
    /// The table that holds the shard's rows in its database.
    public var storedTable: String { isCompressed || state == .retiredCompressed ? blocksTable : tableName }
    /// The shard's table inside its archive file: its table name and number. The
    /// committed catalog never gives one number to two shards, while a table name can
    /// come back (a period's shards dropped, then written again), and an archive is
    /// written outside the caller's transaction: a copy that transaction then rolled
    /// back must not replace the copy of a shard the catalog still lists.
    public var archiveTable: String { tableName + "@" + String(number) }
    /// The table of the shard's compressed blocks.
    public var blocksTable: String { ShardTableName.blocks(of: tableName, collection: key.collection) }

    /// Inclusive bounds holding every row's ts: the catalog's recorded bounds (which
    /// only ever widen before they are written back) within the period's.
    public var timeBounds: (lo: Int64, hi: Int64) {
        (max(minTs ?? .min, period.start ?? .min), min(maxTs ?? .max, period.end.map { $0 - 1 } ?? .max))
    }

    /// Whether the whole period is over at `ms` (its end is at or before it); never for partition none.
    public func periodEnds(atOrBefore ms: Int64) -> Bool { period.end.map { $0 <= ms } ?? false }

    /// Holds its rows uncompressed in the main database.
    public var isLive: Bool { !isRetired && !isCompressed && file == nil && mergedInto == nil }

    /// Records one inserted row.
    @inline(__always) public func noteInsert(id: Int64, ts: Int64) {
        rows += 1
        lastLocal = max(lastLocal, id & DocumentId.maxLocal)
        if minId == nil || id < minId! { minId = id }
        if maxId == nil || id > maxId! { maxId = id }
        if minTs == nil || ts < minTs! { minTs = ts }
        if maxTs == nil || ts > maxTs! { maxTs = ts }
        changes &+= 1
        dirty = true
    }

    /// Widens the time bounds for an updated row.
    public func noteTime(_ ts: Int64) {
        if minTs == nil || ts < minTs! { minTs = ts }
        if maxTs == nil || ts > maxTs! { maxTs = ts }
        changes &+= 1
        dirty = true
    }

    public func noteDelete() {
        rows -= 1
        changes &+= 1
        dirty = true
    }

    /// After a partial rollback the shard's rows are counted again: its documents may
    /// differ from those of the stamp read back, so the stamp moves past every value
    /// this transaction can have used.
    public func noteRecounted() {
        changes &+= 1 << 32
        dirty = true
    }

    /// A shard is sealed once it no longer takes inserts: a newer shard of its line
    /// exists, or its period ended before `now` (ms).
    public func displayState(isNewestOfLine: Bool, now: Int64) -> String {
        guard state == .hot else { return state.rawValue }
        if key.isMerged { return "sealed" }   // merged tables never take inserts
        if !isNewestOfLine { return "sealed" }
        if let end = period.end, end <= now { return "sealed" }
        return "hot"
    }
}

/// The shards of one collection, in memory, ordered by number (which is id order).
public struct Catalog {
    public private(set) var shards: [ShardInfo] = []
    private var byNumber: [Int64: ShardInfo] = [:]
    /// The shard of each line (collection, category, period) that takes inserts: the highest
    /// seq, merged ones included (a late document then gets the next seq, never a used one).
    private var newestByLine: [ShardKey.Line: ShardInfo] = [:]
    /// Shards merged into other tables: number -> the number of the table holding their ids.
    private var mergedInto: [Int64: Int64] = [:]

    /// A catalog read from its table holds no merged shard (see `CatalogStore.shards`):
    /// only those merged since are aliases here, and a line whose shards were all merged
    /// before is not in `newest(line:)`.
    public init(_ shards: [ShardInfo] = []) {
        for s in shards.sorted(by: { $0.number < $1.number }) { add(s) }
        for (n, into) in mergedInto.sorted(by: { $0.key < $1.key }) { byNumber[into]?.sources.append(n) }
    }

    public mutating func add(_ shard: ShardInfo) {
        if let into = shard.mergedInto {
            mergedInto[shard.number] = into
            noteLine(shard)
            return
        }
        if let last = shards.last, last.number > shard.number {
            let at = shards.firstIndex { $0.number > shard.number } ?? shards.endIndex
            shards.insert(shard, at: at)
        } else {
            shards.append(shard)
        }
        byNumber[shard.number] = shard
        noteLine(shard)
    }

    private mutating func noteLine(_ shard: ShardInfo) {
        let line = shard.key.lineKey
        if let cur = newestByLine[line], cur.key.seq > shard.key.seq { return }
        newestByLine[line] = shard
    }

    /// After a merge: `sources` are aliases of `target` from now on (which is added when new).
    public mutating func merge(_ sources: [ShardInfo], into target: ShardInfo) {
        if byNumber[target.number] == nil { add(target) }
        let numbers = Set(sources.map(\.number))
        shards.removeAll { numbers.contains($0.number) }
        for s in sources {
            byNumber[s.number] = nil
            s.state = .merged
            s.mergedInto = target.number
            mergedInto[s.number] = target.number
            // Ids of a source merged earlier into `s` now live in `target` too.
            for n in s.sources { mergedInto[n] = target.number }
            target.sources += [s.number] + s.sources
            s.sources = []
        }
    }

    /// Forgets dropped shards.
    public mutating func remove(numbers: Set<Int64>) {
        shards.removeAll { numbers.contains($0.number) }
        for n in numbers { byNumber[n] = nil }
        let aliases = Set(mergedInto.filter { numbers.contains($0.value) }.keys)
        mergedInto = mergedInto.filter { !numbers.contains($0.value) }
        newestByLine = newestByLine.filter { !numbers.contains($0.value.number) && !aliases.contains($0.value.number) }
    }

    /// The table holding the ids of shard number `number`: the shard itself, or the
    /// table it was merged into.
    @inline(__always) public func shard(number: Int64) -> ShardInfo? {
        if let s = byNumber[number] { return s }
        guard let into = mergedInto[number] else { return nil }
        return byNumber[into]
    }

    /// The numbers of shards merged into other tables.
    public var mergedNumbers: Dictionary<Int64, Int64>.Keys { mergedInto.keys }

    @inline(__always) public func newest(line: ShardKey.Line) -> ShardInfo? { newestByLine[line] }

    public func isNewestOfLine(_ shard: ShardInfo) -> Bool {
        newestByLine[shard.key.lineKey] === shard
    }

    /// Shards not yet retired whose whole period ended at or before `ms`: what
    /// shard_drop (and retain) take.
    public func ended(by ms: Int64) -> [ShardInfo] {
        shards.filter { !$0.isRetired && $0.periodEnds(atOrBefore: ms) }
    }

    /// Live shards (see `ShardInfo.isLive`) whose whole period ended at or before
    /// `ms`: what shard_archive and shard_compress take.
    public func liveEnded(by ms: Int64) -> [ShardInfo] {
        shards.filter { $0.isLive && $0.periodEnds(atOrBefore: ms) }
    }

    public var totalRows: Int64 { shards.reduce(0) { $0 + ($1.isRetired ? 0 : $1.rows) } }
    public var dirtyShards: [ShardInfo] { shards.filter(\.dirty) }
}

/// What the rest of the code assumes of a catalog read from the database, checked
/// once per load, so that no value stored there (by a bug, a crash, or a hand) can
/// make arithmetic trap: every number inside the range its use allows.
public enum CatalogCheck {
    /// Throws "shards: catalog of '<collection>' is inconsistent: ..." naming the first bad value.
    public static func check(collection: String, _ s: ShardInfo) throws {
        func bad(_ what: String) -> ShardError {
            ShardError("catalog of '\(collection)' is inconsistent: shard \(s.keyText) \(what)")
        }
        guard (1...DocumentId.maxShardNumber).contains(s.number) else {
            throw bad("has number \(s.number), outside 1...\(DocumentId.maxShardNumber)")
        }
        // seq 0: a merged table (README, "Merging finished shards").
        guard (0...Int(DocumentId.maxShardNumber)).contains(s.key.seq) else { throw bad("has seq \(s.key.seq)") }
        guard (0...DocumentId.maxLocal).contains(s.lastLocal) else { throw bad("has last_local \(s.lastLocal)") }
        guard (0...DocumentId.maxLocal).contains(s.rows) else { throw bad("has rows = \(s.rows)") }
        for id in [s.minId, s.maxId].compactMap({ $0 }) where !s.ids.contains(id) {
            throw bad("records id \(id), which is not one of its ids")
        }
        if let lo = s.minId, let hi = s.maxId, lo > hi { throw bad("has min_id above max_id") }
        if let lo = s.minTs, let hi = s.maxTs, lo > hi { throw bad("has min_ts above max_ts") }
        // The table read, written and dropped is the one its key names (or named, before
        // the current scheme), or a shard table of the collection it took over from a
        // merged shard: never another table of the database. A merged shard's own row
        // names no table it uses.
        guard s.mergedInto != nil || ShardTableName.isTable(s.tableName, of: s.key)
                || ShardTableName.isShardTable(s.tableName, collection: s.key.collection) else {
            throw bad("names table '\(s.tableName)'")
        }
    }

    /// Merged shards' rows (not loaded, see `CatalogStore.shards`) name the table that
    /// holds their rows: each number they name must be a merged table (seq 0) the
    /// catalog holds, else those rows would be read nowhere and an answer would miss
    /// them without a word.
    public static func check(collection: String, mergeTargets: [Int64], in catalog: Catalog) throws {
        for n in mergeTargets {
            guard let s = catalog.shard(number: n), s.number == n, s.key.isMerged else {
                throw ShardError("catalog of '\(collection)' is inconsistent: shards are merged into number \(n), "
                    + "which is not a merged table of the collection")
            }
        }
    }

    /// The next shard number must be above every shard's and still make valid ids.
    public static func check(collection: String, nextNumber: Int64, highest: Int64) throws {
        guard nextNumber > highest, nextNumber <= DocumentId.maxShardNumber + 1 else {
            throw ShardError("catalog of '\(collection)' is inconsistent: next_number is \(nextNumber), "
                + "but it must be above every shard's number (\(highest)) and at most \(DocumentId.maxShardNumber + 1)")
        }
    }
}
