/// Which indexed values a compressed block holds: a Bloom filter over
/// (path, value) keys, with the paths it covers listed exactly, so a block can be
/// skipped when a query's equality on an indexed path cannot match any of its rows.
/// A "maybe" is always safe; a "no" is only given for a covered path.
///
///     paths: u8 | paths × fnv64(path text): u64 | bits: the filter (k = 4)
///
/// Values are keyed as SQLite compares them: an integral real is the integer, text
/// and numbers never meet.
public enum BlockFilter {
    public enum Value {
        case integer(Int64)
        case real(Double)
        case text(UnsafeRawBufferPointer)
        case blob(UnsafeRawBufferPointer)
    }

    static let hashes = 4

    public struct Builder {
        private let paths: [UInt64]
        private var keys: [(UInt64, UInt64)] = []

        public init(paths: [String]) {
            self.paths = Array(paths.prefix(255).map(BlockFilter.pathHash))
        }

        /// Adds the value of the path at `pathIndex` (in the order given to init).
        public mutating func add(pathIndex: Int, _ value: Value) {
            guard pathIndex < paths.count else { return }
            keys.append(BlockFilter.key(paths[pathIndex], value))
        }

        public func build() -> [UInt8] {
            var out: [UInt8] = [UInt8(paths.count)]
            for p in paths { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: p >> (8 * UInt64(i)))) } }
            return out + BlockFilter.bits(keys, bitsPerKey: 8)
        }
    }

    /// False only when the block certainly holds no row whose `path` equals `value`.
    public static func mayContain(_ filter: UnsafeRawBufferPointer, pathHash: UInt64, _ value: Value) -> Bool {
        guard filter.count >= 1 else { return true }
        let n = Int(filter[0])
        let start = 1 + 8 * n
        guard filter.count > start else { return true }
        var covered = false
        for i in 0..<n {
            var p: UInt64 = 0
            for b in 0..<8 { p |= UInt64(filter[1 + 8 * i + b]) << (8 * UInt64(b)) }
            if p == pathHash { covered = true; break }
        }
        guard covered else { return true }
        return test(UnsafeRawBufferPointer(rebasing: filter[start...]), key(pathHash, value))
    }

    /// The Bloom bits of a set of keys: at least 64, `bitsPerKey` per key, k = 4.
    /// Shards' summaries (ShardSummary) use the same bits.
    public static func bits(_ keys: [(UInt64, UInt64)], bitsPerKey: Int) -> [UInt8] {
        let bits = max(64, (keys.count * bitsPerKey + 7) / 8 * 8)
        var filter = [UInt8](repeating: 0, count: bits / 8)
        for (h1, h2) in keys {
            for i in 0..<UInt64(hashes) {
                let bit = Int((h1 &+ i &* h2) % UInt64(bits))
                filter[bit >> 3] |= 1 << UInt8(bit & 7)
            }
        }
        return filter
    }

    /// False only when `key` was certainly not among the keys of `bits`.
    public static func test(_ bits: UnsafeRawBufferPointer, _ key: (UInt64, UInt64)) -> Bool {
        guard !bits.isEmpty else { return true }
        let n = UInt64(bits.count * 8)
        let (h1, h2) = key
        for i in 0..<UInt64(hashes) {
            let bit = Int((h1 &+ i &* h2) % n)
            if bits[bit >> 3] & (1 << UInt8(bit & 7)) == 0 { return false }
        }
        return true
    }

    public static func pathHash(_ path: String) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in path.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }

    /// Two 64-bit hashes of (path, value) for double hashing.
    public static func key(_ path: UInt64, _ value: Value) -> (UInt64, UInt64) {
        var h: UInt64 = 0xcbf29ce484222325 ^ path
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        func mix64(_ v: UInt64) { for i in 0..<8 { mix(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        switch value {
        case .integer(let i): mix(0x6E); mix64(UInt64(bitPattern: i))
        case .real(let d):
            if d.rounded() == d, d >= -9.2e18, d <= 9.2e18 { mix(0x6E); mix64(UInt64(bitPattern: Int64(d))) } else { mix(0x72); mix64(d.bitPattern) }
        case .text(let t): mix(0x74); for b in t { mix(b) }
        case .blob(let b): mix(0x62); for x in b { mix(x) }
        }
        return (h, secondHash(h))
    }

    /// The second hash of a key follows from its first: a set of first hashes (a
    /// summary's exact keys) can become Bloom bits.
    @inline(__always) public static func secondHash(_ h1: UInt64) -> UInt64 {
        (h1 ^ (h1 >> 29)) &* 0xbf58476d1ce4e5b9 | 1
    }

    /// Sets the bits of one key in Bloom bits made by `bits`; returns whether any was clear.
    public static func insert(_ key: (UInt64, UInt64), into filter: inout [UInt8]) -> Bool {
        guard !filter.isEmpty else { return false }
        let n = UInt64(filter.count * 8)
        var changed = false
        for i in 0..<UInt64(hashes) {
            let bit = Int((key.0 &+ i &* key.1) % n)
            if filter[bit >> 3] & (1 << UInt8(bit & 7)) == 0 {
                filter[bit >> 3] |= 1 << UInt8(bit & 7)
                changed = true
            }
        }
        return changed
    }
}
