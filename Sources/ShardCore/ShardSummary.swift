/// What a shard that no longer receives rows holds on each indexed path (README, "Reads and routing": summaries):
/// whether a value is NULL (or missing), the smallest and largest other value in
/// SQLite's order, and which values occur: their exact keys when few, else a Bloom
/// filter with the same keys and bits as a compressed block's `BlockFilter`. A read
/// skips the shard when its summary shows that no row can match. "Maybe" is always
/// safe; a "no" is only given for a path the summary covers.
///
///     u8 version (2) | u8 paths | per path:
///       u64 fnv64(path text) | u8 flags (1 null, 2 min, 4 max, 8 exact, 16 bloom, 32 values)
///       | min value | max value | exact: u16 n, n × u64 | bloom: u32 bytes, bits
///     | u64 check: fnv64 of the shard's number (i64) and every byte before it
///     value: 'i' i64 | 'r' f64 bits | 't' u16 length, UTF-8 bytes      (little endian)
///
/// The check makes a summary one shard's: a byte changed in the catalog, or a summary
/// copied from another shard's row, does not check out, and the summary is then not
/// used (the shard is visited, and upkeep builds its summary again). Version 1, the
/// same without the check, is not trusted either, for the same reason.
///
/// A text longer than `maxText` bytes is kept as its prefix for the minimum (still a
/// lower bound); as the maximum it is left out, which means "no upper bound".
/// Immutable, and a class: a read reaches every shard's summary, and a class is one
/// reference to retain where a struct of arrays is several.
public final class ShardSummary: Equatable, Sendable {
    public struct Path: Equatable, Sendable {
        public var hasNull = false
        /// nil with no non-NULL value (min), or no known upper bound (max when `hasValues`).
        public var min: SummaryValue?
        public var max: SummaryValue?
        public var hasValues = false
        /// The values' keys (`BlockFilter.key(...).0`), sorted, when at most `maxExact` distinct.
        public var exact: [UInt64]?
        /// Otherwise their Bloom bits.
        public var bloom: [UInt8]?

        public init() {}
    }

    public static let maxExact = 32
    public static let maxText = 128
    static let bloomBitsPerKey = 10

    /// The paths' hashes in ascending order, and their summaries at the same index:
    /// a shard has a few paths, and a read asks every shard, so a linear search over
    /// these beats hashing into a dictionary.
    private let hashes: [UInt64]
    private let parts: [Path]

    public var paths: [UInt64: Path] { Dictionary(uniqueKeysWithValues: zip(hashes, parts)) }

    public init(paths: [UInt64: Path] = [:]) {
        let sorted = paths.sorted(by: { $0.key < $1.key })
        hashes = sorted.map(\.key)
        parts = sorted.map(\.value)
    }

    private init(hashes: [UInt64], parts: [Path]) {
        self.hashes = hashes
        self.parts = parts
    }

    public static func == (a: ShardSummary, b: ShardSummary) -> Bool {
        a.hashes == b.hashes && a.parts == b.parts
    }

    // MARK: - building

    /// Collects the values of each path (in the order given), then `build()`.
    public struct Builder {
        private let hashes: [UInt64]
        private var parts: [Path]
        private var keys: [[UInt64: UInt64]]

        public init(paths: [String]) {
            hashes = paths.map(BlockFilter.pathHash)
            parts = Array(repeating: Path(), count: paths.count)
            keys = Array(repeating: [:], count: paths.count)
        }

        /// One value of the path at `pathIndex`; nil for NULL (or a missing field).
        public mutating func add(pathIndex i: Int, _ value: BlockFilter.Value?) {
            guard var value else {
                parts[i].hasNull = true
                return
            }
            // json_extract never gives a blob; should one come, it is keyed as the text it holds.
            if case .blob(let b) = value { value = .text(b) }
            let (h1, h2) = BlockFilter.key(hashes[i], value)
            keys[i][h1] = h2
            let v = SummaryValue(value)
            if !parts[i].hasValues {
                parts[i].hasValues = true
                parts[i].min = v.truncated(ShardSummary.maxText)
                parts[i].max = v.fits(ShardSummary.maxText) ? v : nil
                parts[i].exact = []
                return
            }
            if let m = parts[i].min, v < m { parts[i].min = v.truncated(ShardSummary.maxText) }
            if let m = parts[i].max, m < v { parts[i].max = v.fits(ShardSummary.maxText) ? v : nil }
            // Once the maximum is unbounded it stays so.
        }

        public func build() -> ShardSummary {
            var out: [UInt64: Path] = [:]
            for (i, h) in hashes.enumerated() {
                var p = parts[i]
                if keys[i].count <= ShardSummary.maxExact {
                    p.exact = keys[i].keys.sorted()
                    p.bloom = nil
                } else {
                    p.exact = nil
                    p.bloom = BlockFilter.bits(keys[i].map { ($0.key, $0.value) }, bitsPerKey: ShardSummary.bloomBitsPerKey)
                }
                out[h] = p
            }
            return ShardSummary(paths: out)
        }
    }

    // MARK: - widening

    /// Room a Bloom filter made from exact keys leaves for more, in keys per key it
    /// starts with (and at least `minimumWidenedKeys`): a widened filter fills as late
    /// rows come, and every bit set only makes "maybe" likelier.
    static let widenedRoom = 4
    static let minimumWidenedKeys = 256

    /// This summary widened to cover one more row, whose value on the path with hash
    /// `pathHashes[i]` is `values[i]` (nil for NULL); nil when it covers the row
    /// already. A late row then costs no read of its table: the summary stays true,
    /// if less sharp than one built again (a merge or `shard_merge` builds it again).
    public func widened(pathHashes: [UInt64], values: [BlockFilter.Value?]) -> ShardSummary? {
        var parts: [Path]?
        for (h, value) in zip(pathHashes, values) {
            guard let i = hashes.firstIndex(of: h) else { continue }   // not covered: always "maybe"
            var p = parts?[i] ?? self.parts[i]
            guard p.widen(pathHash: h, value) else { continue }
            if parts == nil { parts = self.parts }
            parts![i] = p
        }
        return parts.map { ShardSummary(hashes: hashes, parts: $0) }
    }

    // MARK: - probing

    /// False only when no row of the shard can satisfy every condition.
    public func mayMatch(_ conditions: [SummaryCondition]) -> Bool {
        for c in conditions where !mayMatch(c) { return false }
        return true
    }

    public func mayMatch(_ c: SummaryCondition) -> Bool {
        guard let i = hashes.firstIndex(of: c.pathHash) else { return true }
        // Fields are read from the array in place, not from a copy of the path.
        switch c.op {
        case .isNull:
            return parts[i].hasNull
        case .eq:
            for j in c.values.indices where parts[i].mayEqual(c.values[j], key: c.keys[j]) { return true }
            return false
        case .gt, .ge, .lt, .le:
            guard let v = c.values.first else { return true }
            guard parts[i].hasValues else { return false }
            switch c.op {
            case .gt: if let m = parts[i].max { return v < m }
            case .ge: if let m = parts[i].max { return !(m < v) }
            case .lt: if let m = parts[i].min { return m < v }
            default: if let m = parts[i].min { return !(v < m) }
            }
            return true
        }
    }

    // MARK: - bytes

    /// FNV-1a over the shard's number and the bytes: any one byte changed changes it.
    static func check(_ bytes: [UInt8], shard: Int64) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for i in 0..<8 { h = (h ^ UInt64(UInt8(truncatingIfNeeded: shard >> (8 * i)))) &* 0x100000001b3 }
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }

    /// The bytes stored in the catalog row of shard number `shard`.
    public func encoded(shard: Int64) -> [UInt8] {
        var out: [UInt8] = [2, UInt8(Swift.min(hashes.count, 255))]
        for (hash, p) in zip(hashes, parts).prefix(255) {
            put64(&out, hash)
            var flags: UInt8 = p.hasNull ? 1 : 0
            if p.min != nil { flags |= 2 }
            if p.max != nil { flags |= 4 }
            if p.exact != nil { flags |= 8 }
            if p.bloom != nil { flags |= 16 }
            if p.hasValues { flags |= 32 }
            out.append(flags)
            if let v = p.min { v.encode(into: &out) }
            if let v = p.max { v.encode(into: &out) }
            if let e = p.exact {
                out.append(UInt8(e.count & 0xFF)); out.append(UInt8(e.count >> 8))
                for k in e { put64(&out, k) }
            }
            if let b = p.bloom {
                for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: b.count >> (8 * i))) }
                out += b
            }
        }
        put64(&out, Self.check(out, shard: shard))
        return out
    }

    /// nil for bytes this version did not write for shard number `shard`, or that do
    /// not check out (the shard is then always visited).
    public convenience init?(encoded stored: [UInt8], shard: Int64) {
        guard stored.count >= 10 else { return nil }
        let bytes = Array(stored[..<(stored.count - 8)])
        var tail = ByteReader(Array(stored[(stored.count - 8)...]))
        guard tail.u64() == Self.check(bytes, shard: shard) else { return nil }
        var r = ByteReader(bytes)
        guard r.u8() == 2, let n = r.u8() else { return nil }
        var paths: [UInt64: Path] = [:]
        for _ in 0..<n {
            guard let hash = r.u64(), let flags = r.u8() else { return nil }
            var p = Path()
            p.hasNull = flags & 1 != 0
            p.hasValues = flags & 32 != 0
            if flags & 2 != 0 { guard let v = SummaryValue.decode(&r) else { return nil }; p.min = v }
            if flags & 4 != 0 { guard let v = SummaryValue.decode(&r) else { return nil }; p.max = v }
            if flags & 8 != 0 {
                guard let lo = r.u8(), let hi = r.u8() else { return nil }
                var e: [UInt64] = []
                for _ in 0..<(Int(lo) | Int(hi) << 8) {
                    // Ascending, as built: probes search them by halves.
                    guard let k = r.u64(), e.last.map({ $0 < k }) ?? true else { return nil }
                    e.append(k)
                }
                p.exact = e
            }
            if flags & 16 != 0 {
                guard let count = r.u32(), let b = r.bytes(Int(count)) else { return nil }
                p.bloom = b
            }
            paths[hash] = p
        }
        guard r.atEnd else { return nil }
        self.init(paths: paths)
    }
}

extension ShardSummary.Path {
    /// Makes the path cover one more value; returns whether anything changed.
    mutating func widen(pathHash: UInt64, _ value: BlockFilter.Value?) -> Bool {
        guard var value else {
            if hasNull { return false }
            hasNull = true
            return true
        }
        if case .blob(let b) = value { value = .text(b) }   // as Builder.add keys it
        let key = BlockFilter.key(pathHash, value)
        var changed = false
        let v = SummaryValue(value)
        if !hasValues {
            hasValues = true
            min = v.truncated(ShardSummary.maxText)
            max = v.fits(ShardSummary.maxText) ? v : nil
            exact = [key.0]
            bloom = nil
            return true
        }
        if let m = min, v < m { min = v.truncated(ShardSummary.maxText); changed = true }
        if let m = max, m < v { max = v.fits(ShardSummary.maxText) ? v : nil; changed = true }
        if var e = exact {
            var lo = 0, hi = e.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if e[mid] < key.0 { lo = mid + 1 } else { hi = mid }
            }
            if lo < e.count && e[lo] == key.0 { return changed }
            e.insert(key.0, at: lo)
            if e.count <= ShardSummary.maxExact {
                exact = e
            } else {
                // Too many for exact keys: Bloom bits with room to widen further.
                let room = Swift.max(e.count * ShardSummary.widenedRoom, ShardSummary.minimumWidenedKeys)
                var bits = [UInt8](repeating: 0, count: Swift.max(8, (room * ShardSummary.bloomBitsPerKey + 7) / 8))
                for k in e { _ = BlockFilter.insert((k, BlockFilter.secondHash(k)), into: &bits) }
                exact = nil
                bloom = bits
            }
            return true
        }
        if bloom != nil {
            if BlockFilter.insert(key, into: &bloom!) { changed = true }
        }
        return changed
    }

    /// Whether some value of the path may equal `v` (SQLite's `=`, BINARY text), whose
    /// filter key on this path is `key`.
    func mayEqual(_ v: SummaryValue, key: SummaryCondition.Key) -> Bool {
        guard hasValues else { return false }
        if let lo = min, v < lo { return false }
        if let hi = max, hi < v { return false }
        if let exact {
            // Sorted: a binary search.
            var lo = 0, hi = exact.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if exact[mid] < key.h1 { lo = mid + 1 } else { hi = mid }
            }
            return lo < exact.count && exact[lo] == key.h1
        }
        if let bloom { return bloom.withUnsafeBytes { BlockFilter.test($0, (key.h1, key.h2)) } }
        return true
    }
}

/// One condition a read puts on an indexed path, as far as summaries can judge it.
/// `.eq` with several values is `IN`; `.isNull` takes none; ranges take one.
public struct SummaryCondition: Equatable, Sendable {
    public enum Op: Sendable { case eq, gt, ge, lt, le, isNull }
    public let pathHash: UInt64
    public let op: Op
    public let values: [SummaryValue]
    /// The filter key of each value (`.eq` only), computed once for all the shards asked.
    public let keys: [Key]
    public struct Key: Equatable, Sendable {
        let h1, h2: UInt64
    }

    public init(path: String, op: Op, values: [SummaryValue]) {
        let pathHash = BlockFilter.pathHash(path)
        self.pathHash = pathHash
        self.op = op
        self.values = values
        keys = op != .eq ? [] : values.map { v in
            let (h1, h2) = v.withFilterValue { BlockFilter.key(pathHash, $0) }
            return Key(h1: h1, h2: h2)
        }
    }
}

/// A non-NULL value as SQLite orders it: every number (integers and reals compared
/// by value) before every text (compared byte by byte, the BINARY collation).
public enum SummaryValue: Equatable, Sendable, Comparable {
    case integer(Int64)
    case real(Double)
    case text([UInt8])

    public init(_ v: BlockFilter.Value) {
        switch v {
        case .integer(let i): self = .integer(i)
        case .real(let d): self = .real(d)
        case .text(let t), .blob(let t): self = .text(Array(t))
        }
    }

    public init(_ s: String) { self = .text(Array(s.utf8)) }

    public static func < (a: SummaryValue, b: SummaryValue) -> Bool {
        switch (a, b) {
        case (.text(let x), .text(let y)): return x.lexicographicallyPrecedes(y)
        case (.text, _): return false
        case (_, .text): return true
        case (.integer(let x), .integer(let y)): return x < y
        case (.real(let x), .real(let y)): return x < y
        case (.integer(let x), .real(let y)): return compare(x, y) < 0
        case (.real(let x), .integer(let y)): return compare(y, x) > 0
        }
    }

    /// -1, 0, 1 as the integer `i` is below, equal to or above the real `d`.
    static func compare(_ i: Int64, _ d: Double) -> Int {
        if d.isNaN { return 1 }
        if d >= 9.2233720368547758e18 { return -1 }
        if d < -9.2233720368547758e18 { return 1 }
        let id = Double(i)
        if id < d { return -1 }
        if id > d { return 1 }
        let t = Int64(d)   // d is integral here: it equals a converted Int64
        return i < t ? -1 : i > t ? 1 : 0
    }

    func fits(_ limit: Int) -> Bool {
        if case .text(let t) = self { return t.count <= limit }
        return true
    }

    func truncated(_ limit: Int) -> SummaryValue {
        if case .text(let t) = self, t.count > limit { return .text(Array(t.prefix(limit))) }
        return self
    }

    func withFilterValue<T>(_ body: (BlockFilter.Value) -> T) -> T {
        switch self {
        case .integer(let i): return body(.integer(i))
        case .real(let d): return body(.real(d))
        case .text(let t): return t.withUnsafeBytes { body(.text($0)) }
        }
    }

    func encode(into out: inout [UInt8]) {
        switch self {
        case .integer(let i): out.append(UInt8(ascii: "i")); put64(&out, UInt64(bitPattern: i))
        case .real(let d): out.append(UInt8(ascii: "r")); put64(&out, d.bitPattern)
        case .text(let t):
            let t = t.prefix(0xFFFF)
            out.append(UInt8(ascii: "t")); out.append(UInt8(t.count & 0xFF)); out.append(UInt8(t.count >> 8))
            out += t
        }
    }

    static func decode(_ r: inout ByteReader) -> SummaryValue? {
        switch r.u8() {
        case UInt8(ascii: "i"): return r.u64().map { .integer(Int64(bitPattern: $0)) }
        case UInt8(ascii: "r"): return r.u64().map { .real(Double(bitPattern: $0)) }
        case UInt8(ascii: "t"):
            guard let lo = r.u8(), let hi = r.u8(), let b = r.bytes(Int(lo) | Int(hi) << 8) else { return nil }
            return .text(b)
        default: return nil
        }
    }
}

private func put64(_ out: inout [UInt8], _ v: UInt64) {
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
}

/// Reads little-endian fields; nil past the end.
struct ByteReader {
    private let bytes: [UInt8]
    private var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var atEnd: Bool { at == bytes.count }

    mutating func u8() -> UInt8? {
        guard at < bytes.count else { return nil }
        at += 1
        return bytes[at - 1]
    }

    mutating func u32() -> UInt32? {
        guard let b = self.bytes(4) else { return nil }
        return b.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    mutating func u64() -> UInt64? {
        guard let b = self.bytes(8) else { return nil }
        return b.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    mutating func bytes(_ n: Int) -> [UInt8]? {
        guard n >= 0, bytes.count - at >= n else { return nil }
        at += n
        return Array(bytes[(at - n)..<at])
    }
}
