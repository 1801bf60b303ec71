/// Every bucket of one answer: parts added as shards are read, then put in order.
///
/// Kept flat: an entry is its bucket, its group values as ids, its count and a part per
/// measure, side by side in a few arrays (no array or value made per entry), in the
/// order first added. Group values are interned: each distinct value of the answer is
/// kept once (`values`) and entries hold its id, so an entry is found, compared and
/// ordered by integers, and freeing an answer frees a few arrays.
///
/// Two ids per value: its own (`values[id]`, exactly the value first seen, which an
/// entry answers with) and its class, the id of the first value equal to it as GROUP BY
/// sees values (`RollupValue`'s equality: 1 and 1.0 are one group). Entries match on
/// classes. Callers find a statement's value from its type and number or bytes, without
/// copying it (`valueID`): a value is made only when it is new to the answer.
///
/// Both tables are open-addressed (linear probing) over hashes seeded per process (group
/// values come from documents): values by their type and bytes, entries by their
/// bucket and class ids.
public struct RollupBuckets {
    public let measures: [RollupMeasure]
    private let kinds: [RollupMeasure.Kind]
    /// Group values an entry has.
    public let width: Int

    /// The distinct group values (exact), by id; each one's class id.
    public private(set) var values: [RollupValue] = []
    private var classOf: [Int32] = []
    /// Each value's type, and its number (an integer, a real's bits) or the place of its
    /// bytes in `bytes` (text, blob): what a statement's value is compared with.
    private var tags: [Tag] = []
    private var numbers: [Int64] = []
    private var lengths: [Int32] = []
    private var bytes: [UInt8] = []
    private var valueSlots = Slots()
    private var classSlots = Slots()

    private enum Tag: UInt8 { case null, integer, real, text, blob }

    /// Per entry: its bucket, `width` value ids (exact) and as many class ids, its count
    /// and a part per measure.
    public private(set) var buckets: [Int64] = []
    private var ids: [Int32] = []
    private var classes: [Int32] = []
    public private(set) var counts: [Int64] = []
    public private(set) var parts: [RollupPart] = []
    private var entrySlots = Slots()
    /// `Slots.seed`, read once (not at every hash).
    private let seed = Slots.seed

    /// `expected`: about how many buckets the answer holds (room is made for them).
    public init(measures: [RollupMeasure], groups width: Int, expected: Int = 0) {
        self.measures = measures
        kinds = measures.map(\.kind)
        self.width = width
        entrySlots = Slots(room: expected)
        buckets.reserveCapacity(expected)
        ids.reserveCapacity(expected * width)
        classes.reserveCapacity(expected * width)
        counts.reserveCapacity(expected)
        parts.reserveCapacity(expected * measures.count)
    }

    /// Entries held.
    public var count: Int { counts.count }

    // MARK: - group values

    // The id of a value (interned if new), from its parts: a statement's value is
    // found without making it.
    @inline(__always) public mutating func valueIDNull() -> Int32 { id(.null, 0, nil) }
    @inline(__always) public mutating func valueID(integer i: Int64) -> Int32 { id(.integer, i, nil) }
    @inline(__always) public mutating func valueID(real d: Double) -> Int32 { id(.real, Int64(bitPattern: d.bitPattern), nil) }
    @inline(__always) public mutating func valueID(text t: UnsafeRawBufferPointer) -> Int32 { id(.text, 0, t) }
    @inline(__always) public mutating func valueID(blob b: UnsafeRawBufferPointer) -> Int32 { id(.blob, 0, b) }

    /// The id of `v` (interned if new).
    public mutating func valueID(_ v: RollupValue) -> Int32 {
        switch v {
        case .null: valueIDNull()
        case .integer(let i): valueID(integer: i)
        case .real(let d): valueID(real: d)
        case .text(let t): t.withUnsafeBytes { valueID(text: $0) }
        case .blob(let b): b.withUnsafeBytes { valueID(blob: $0) }
        }
    }

    /// Values are one exactly when of one type and content (reals by their bits).
    private mutating func id(_ tag: Tag, _ number: Int64, _ b: UnsafeRawBufferPointer?) -> Int32 {
        let hash: Int
        if let b {
            hash = Int(bitPattern: UInt(SketchCoding.hash(b, seed: seed ^ (UInt64(tag.rawValue) << 56))))
        } else {
            hash = Int(bitPattern: UInt(Slots.mix(UInt64(bitPattern: number) ^ seed ^ UInt64(tag.rawValue))))
        }
        let found = bytes.withUnsafeBufferPointer { all in
            valueSlots.find(hash) { id in
                let v = Int(id)
                guard tags[v] == tag else { return false }
                guard let b else { return numbers[v] == number }
                guard Int(lengths[v]) == b.count else { return false }
                return b.count == 0 || Slots.same(UnsafeRawBufferPointer(start: all.baseAddress! + Int(numbers[v]), count: b.count), b)
            }
        }
        if found >= 0 { return found }
        let id = Int32(values.count)
        let v: RollupValue
        switch tag {
        case .null: v = .null
        case .integer: v = .integer(number)
        case .real: v = .real(Double(bitPattern: UInt64(bitPattern: number)))
        case .text: v = .text(Array(b!))
        case .blob: v = .blob(Array(b!))
        }
        values.append(v)
        tags.append(tag)
        numbers.append(b == nil ? number : Int64(bytes.count))
        lengths.append(Int32(b?.count ?? 0))
        if let b { bytes.append(contentsOf: b) }
        var h = Hasher()
        v.hash(into: &h)
        let classHash = h.finalize()
        let known = classSlots.find(classHash) { values[Int($0)] == v }
        if known >= 0 {
            classOf.append(known)
        } else {
            classOf.append(id)
            classSlots.insert(classHash, id)
        }
        valueSlots.insert(hash, id)
        return id
    }

    /// Entry `i`'s group value `g`, as its id in `values`.
    @inline(__always) public func groupID(_ i: Int, _ g: Int) -> Int32 { ids[i &* width &+ g] }

    /// Entry `i`'s group value `g`.
    @inline(__always) public func group(_ i: Int, _ g: Int) -> RollupValue { values[Int(groupID(i, g))] }

    // MARK: - entries

    /// A key's hash as `RollupAccumulator` finds its entries: that of its bucket, then of
    /// each group value as `RollupValue` hashes it (the caller's `groups` adds them).
    @inline(__always) public static func hash(bucket: Int64, groups: (inout Hasher) -> Void) -> Int {
        var h = Hasher()
        h.combine(bucket)
        groups(&h)
        return h.finalize()
    }

    /// The entry of `bucket` and the group values of ids `group` (`width` of them), or -1.
    @inline(__always)
    public func find(bucket: Int64, group: UnsafeBufferPointer<Int32>) -> Int {
        let hash = entryHash(bucket, group)
        return Int(entrySlots.find(hash) { e in matches(Int(e), bucket, group) })
    }

    /// A new entry (not held yet) of `bucket` and the group values of ids `group`, with
    /// its count: the caller then appends a part per measure (`append(part:)`).
    public mutating func append(bucket: Int64, group: UnsafeBufferPointer<Int32>, count: Int64) {
        let e = Int32(counts.count)
        entrySlots.insert(entryHash(bucket, group), e)
        buckets.append(bucket)
        for id in group {
            ids.append(id)
            classes.append(classOf[Int(id)])
        }
        counts.append(count)
    }

    @inline(__always) public mutating func append(part p: RollupPart) { parts.append(p) }

    /// Adds to entry `i` a count of rows.
    @inline(__always) public mutating func add(_ i: Int, count: Int64) { counts[i] += count }

    /// Adds to entry `i` another part of measure `m`.
    @inline(__always) public mutating func combine(_ i: Int, _ m: Int, _ part: RollupPart) throws {
        try parts[i &* kinds.count &+ m].combine(part, kind: kinds[m])
    }

    /// Adds a shard's (or a partial's) part of a bucket.
    public mutating func add(_ key: RollupKey, count: Int64, parts p: [RollupPart]) throws {
        var group = [Int32](repeating: 0, count: width)
        for g in 0..<width { group[g] = valueID(key.groups[g]) }
        try group.withUnsafeBufferPointer { group in
            let i = find(bucket: key.bucket, group: group)
            guard i >= 0 else {
                append(bucket: key.bucket, group: group, count: count)
                parts.append(contentsOf: p)
                return
            }
            add(i, count: count)
            for m in p.indices { try combine(i, m, p[m]) }
        }
    }

    @inline(__always) private func entryHash(_ bucket: Int64, _ group: UnsafeBufferPointer<Int32>) -> Int {
        var h = Slots.mix(UInt64(bitPattern: bucket) ^ seed)
        for id in group { h = Slots.mix(h ^ UInt64(UInt32(bitPattern: classOf[Int(id)]))) }
        return Int(bitPattern: UInt(h))
    }

    @inline(__always) private func matches(_ e: Int, _ bucket: Int64, _ group: UnsafeBufferPointer<Int32>) -> Bool {
        guard buckets[e] == bucket else { return false }
        var c = e &* width
        for id in group {
            if classes[c] != classOf[Int(id)] { return false }
            c &+= 1
        }
        return true
    }

    // MARK: - order

    /// The entries in order, ascending or descending (by bucket, then group values in
    /// SQLite's order), as indices. The partials come by bucket, each bucket's groups in
    /// order, so most answers are in order as added: that is checked first, in one pass.
    public func order(descending: Bool) -> [Int32] {
        var order = (0..<Int32(count)).map { $0 }
        let rank = ranks()
        let width = width
        buckets.withUnsafeBufferPointer { buckets in
            classes.withUnsafeBufferPointer { classes in
                rank.withUnsafeBufferPointer { rank in
                    let before = { (a: Int32, b: Int32) -> Bool in
                        let a = Int(a), b = Int(b)
                        if buckets[a] != buckets[b] { return buckets[a] < buckets[b] }
                        var x = a &* width, y = b &* width
                        for _ in 0..<width {
                            let rx = rank[Int(classes[x])], ry = rank[Int(classes[y])]
                            if rx != ry { return rx < ry }
                            x &+= 1
                            y &+= 1
                        }
                        return false
                    }
                    var e: Int32 = 1
                    while e < Int32(count) && before(e &- 1, e) { e &+= 1 }
                    // Else a sort that takes the runs already in order as they are.
                    if e < Int32(count) { order.sort(by: before) }
                }
            }
        }
        return descending ? order.reversed() : order
    }

    /// Each class id's rank among the classes in SQLite's order of values (other ids: 0).
    private func ranks() -> [Int32] {
        var rank = [Int32](repeating: 0, count: values.count)
        guard width > 0 else { return rank }
        let values = values, classOf = classOf   // the closures take these, not a copy of self
        let heads = values.indices.filter { classOf[$0] == Int32($0) }.sorted { values[$0] < values[$1] }
        for (r, id) in heads.enumerated() { rank[id] = Int32(r) }
        return rank
    }
}

/// An open-addressed table of ids by hash (linear probing; -1 is empty), kept at most
/// half full. Equal hashes are told apart by the caller's test.
struct Slots {
    private var hashes: [Int]
    private var ids: [Int32]
    private var mask: Int
    private var used = 0

    /// Room for `room` ids without growing (none: nothing is allocated until the first).
    init(room: Int = 0) {
        var size = room > 0 ? 16 : 0
        while size < 2 * room { size <<= 1 }
        hashes = [Int](repeating: 0, count: size)
        ids = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// The id of hash `hash` that `matches`, or -1.
    @inline(__always) func find(_ hash: Int, _ matches: (Int32) -> Bool) -> Int32 {
        guard used > 0 else { return -1 }
        var s = hash & mask
        while true {
            let id = ids[s]
            if id < 0 { return -1 }
            if hashes[s] == hash && matches(id) { return id }
            s = (s &+ 1) & mask
        }
    }

    /// Adds `id` under `hash` (not held yet).
    mutating func insert(_ hash: Int, _ id: Int32) {
        if 2 * (used + 1) > ids.count { grow() }
        var s = hash & mask
        while ids[s] >= 0 { s = (s &+ 1) & mask }
        hashes[s] = hash
        ids[s] = id
        used += 1
    }

    private mutating func grow() {
        let old = (hashes, ids)
        self = Slots(room: max(ids.count, 8))
        for (h, id) in zip(old.0, old.1) where id >= 0 { insert(h, id) }
    }

    /// A per-process seed, so entries' hashes cannot be chosen by the data.
    static let seed: UInt64 = {
        var h = Hasher()
        h.combine(0x5EED)
        return UInt64(bitPattern: Int64(h.finalize()))
    }()

    /// Whether two buffers of one length hold the same bytes (8 at a time).
    @inline(__always) static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = a.count
        var i = 0
        while i + 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// A bijective 64-bit mixer: every input bit moves about half the output bits.
    @inline(__always) static func mix(_ x: UInt64) -> UInt64 { SketchCoding.mix(x) }
}
