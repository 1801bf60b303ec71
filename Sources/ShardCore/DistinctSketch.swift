/// The approximate count of distinct values that a rollup's `distinct` measure keeps
/// per shard, bucket and group, and that `shards_distinct` merges.
///
/// Values enter as 64-bit hashes (`hash(int64:)`, `hash(double:)`, `hash(text:)`,
/// `hash(of:)`, `hash(blob:)`), and the sketch lives in one of three forms, chosen
/// only by the set of hashes it has seen, so merging two sketches gives exactly the
/// sketch of the union, in any order:
///
/// - exact: the sorted hashes themselves, while there are at most `exactLimit`
///   (256). The estimate is their count: exact up to a 64-bit hash collision.
/// - sparse: HyperLogLog++'s sparse list, one 32-bit entry per occupied register of
///   a 2^25-register HLL, while there are at most `sparseLimit` (8192) entries. The
///   estimate is linear counting over 2^25 registers: its standard error is below
///   0.02% at 8192 entries.
/// - dense: a HyperLogLog of 2^15 registers (precision 15) of 6 bits, 24 KiB.
///   Standard error 1.04 / √32768 = 0.57%, so ±2% is 3.5 standard errors (99.95% of
///   estimates). The estimator is Ertl's improved raw estimator (2017), which needs no
///   bias tables and holds from small to huge counts.
///
/// The dense register of a hash is the same whether it is set directly or from a
/// sparse entry (the sparse entry keeps the 10 bits dense needs), so the forms agree.
///
/// The state (`serialized()`), little-endian:
///
///     "SD" | version 1: u8 | form: u8 (0 exact, 1 sparse, 2 dense) | body | checksum: u32
///     exact:  count: varint | count × hash: u64, ascending
///     sparse: count: varint | bits, for each entry by ascending register index:
///             the index gap (the first index itself) as a Rice code with k = ⌊log2(2^25 / (count + 1))⌋,
///             then rank − 1 in unary; zero bits pad the last byte
///     dense:  2^15 registers of 6 bits, four to three bytes
///
/// A state holds at most 2 KiB exact, 2 to 2.6 bytes a register sparse (16 KiB
/// at most), and 24 KiB + 8 dense.
public struct DistinctSketch: Equatable, Sendable {
    /// The most hashes kept exactly.
    public static let exactLimit = 256
    /// The most entries kept sparse.
    public static let sparseLimit = 8192
    /// The dense HLL's precision: 2^15 registers.
    public static let precision = 15
    static let sparsePrecision = 25
    static let registerCount = 1 << precision
    static let denseBytes = registerCount * 6 / 8
    /// Hashes wait unsorted in `pending` until this many are folded in at once.
    static let pendingLimit = 256

    static let magic: [UInt8] = Array("SD".utf8)
    static let version: UInt8 = 1
    static let name = "shards distinct state"

    enum Form: UInt8 { case exact = 0, sparse = 1, dense = 2 }

    private var form = Form.exact
    /// Exact: the hashes, sorted, unique.
    private var hashes: [UInt64] = []
    /// Sparse: entries (25-bit register index << 6 | rank), sorted, one per index.
    private var entries: [UInt32] = []
    /// Dense: one rank a register.
    private var registers: [UInt8] = []
    /// Exact and sparse: hashes added since the last fold.
    private var pending: [UInt64] = []

    public init() {}

    /// Whether the estimate is the exact count of distinct hashes.
    public var isExact: Bool { normalized().form == .exact }

    // MARK: hashing SQL values

    /// The hash of a TEXT value given as its UTF-8 bytes (so a caller holding SQLite's
    /// text pointer hashes it without a copy); the same as `hash(text:)`.
    public static func hash(of bytes: UnsafeRawBufferPointer) -> UInt64 {
        SketchCoding.hash(bytes, seed: textSeed)
    }

    public static func hash(text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { hash(of: UnsafeRawBufferPointer($0)) }
    }

    /// A BLOB: never equal to a TEXT of the same bytes, as in SQL.
    public static func hash(blob bytes: UnsafeRawBufferPointer) -> UInt64 {
        SketchCoding.hash(bytes, seed: blobSeed)
    }

    public static func hash(int64 value: Int64) -> UInt64 {
        SketchCoding.mix(UInt64(bitPattern: value) &+ integerSeed)
    }

    /// A REAL with an integral value that an INTEGER can hold hashes as that integer,
    /// since SQL's DISTINCT finds 1 and 1.0 equal (-0.0 is 0). Others hash their bits,
    /// so 2^53 + 1 and 2^53 stay apart as SQLite keeps them.
    public static func hash(double value: Double) -> UInt64 {
        if value == value.rounded(.towardZero), value >= -9_223_372_036_854_775_808.0, value < 9_223_372_036_854_775_808.0 {
            return hash(int64: Int64(value))
        }
        return SketchCoding.mix(value.bitPattern ^ realSeed)
    }

    static let integerSeed: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let realSeed: UInt64 = 0xD1B5_4A32_D192_ED03
    static let textSeed: UInt64 = 0x8CB9_2BA7_2F3D_8DD7
    static let blobSeed: UInt64 = 0xA076_1D64_78BD_642F

    // MARK: adding and merging

    public mutating func add(hash: UInt64) {
        if form == .dense {
            Self.setRegister(&registers, hash)
            return
        }
        if pending.capacity == 0 { pending.reserveCapacity(Self.pendingLimit) }
        pending.append(hash)
        if pending.count >= Self.pendingLimit { fold() }
    }

    public mutating func merge(_ other: DistinctSketch) {
        let other = other.normalized()
        fold()
        switch other.form {
        case .exact:
            if form == .exact {
                hashes = Self.mergeSorted(hashes, other.hashes, ==)
                if hashes.count > Self.exactLimit { toSparse() }
            } else {
                for h in other.hashes { add(hash: h) }
            }
        case .sparse:
            switch form {
            case .exact:
                toSparse()
                mergeEntries(other.entries)
            case .sparse:
                mergeEntries(other.entries)
            case .dense:
                for e in other.entries { Self.setRegister(&registers, entry: e) }
            }
        case .dense:
            toDense()
            registers.withUnsafeMutableBufferPointer { mine in
                other.registers.withUnsafeBufferPointer { theirs in
                    for i in 0..<Self.registerCount { mine[i] = max(mine[i], theirs[i]) }
                }
            }
        }
    }

    /// The number of distinct values, estimated (exact in the exact form).
    public var estimate: Int64 {
        let s = normalized()
        switch s.form {
        case .exact:
            return Int64(s.hashes.count)
        case .sparse:
            let m = Double(1 << Self.sparsePrecision)
            return Int64((m * SketchMath.ln(m / (m - Double(s.entries.count)))).rounded())
        case .dense:
            return Int64(Self.denseEstimate(s.registers).rounded())
        }
    }

    public static func == (a: DistinctSketch, b: DistinctSketch) -> Bool {
        let a = a.normalized(), b = b.normalized()
        return a.form == b.form && a.hashes == b.hashes && a.entries == b.entries && a.registers == b.registers
    }

    // MARK: the forms

    /// The same sketch with nothing pending.
    private func normalized() -> DistinctSketch {
        if pending.isEmpty { return self }
        var copy = self
        copy.fold()
        return copy
    }

    /// Folds the pending hashes into the exact or sparse form, moving on to the next
    /// form when the current one passes its limit.
    private mutating func fold() {
        guard !pending.isEmpty else { return }
        pending.sort()
        switch form {
        case .exact:
            hashes = Self.mergeSorted(hashes, pending, ==)
            pending.removeAll(keepingCapacity: true)
            if hashes.count > Self.exactLimit { toSparse() }
        case .sparse:
            let more = Self.sparseEntries(pending)
            pending.removeAll(keepingCapacity: true)
            mergeEntries(more)
        case .dense:
            for h in pending { Self.setRegister(&registers, h) }
            pending.removeAll(keepingCapacity: true)
        }
    }

    private mutating func toSparse() {
        guard form == .exact else { return }
        entries = Self.sparseEntries(hashes)
        hashes = []
        form = .sparse
        if entries.count > Self.sparseLimit { toDense() }
    }

    private mutating func toDense() {
        fold()
        // Folding can itself pass the sparse limit and make the registers.
        guard form != .dense else { return }
        var r = [UInt8](repeating: 0, count: Self.registerCount)
        for h in hashes { Self.setRegister(&r, h) }
        for e in entries { Self.setRegister(&r, entry: e) }
        registers = r
        hashes = []
        entries = []
        pending = []
        form = .dense
    }

    /// Merges sorted entries into `entries`, keeping the higher rank per register.
    private mutating func mergeEntries(_ more: [UInt32]) {
        entries = Self.mergeSorted(entries, more, Self.sameRegister)
        if entries.count > Self.sparseLimit { toDense() }
    }

    @inline(__always) private static func sameRegister(_ a: UInt32, _ b: UInt32) -> Bool { a >> 6 == b >> 6 }

    /// Two sorted arrays as one, sorted; where `same` says neighbours meet (in
    /// either array too), only the larger is kept.
    private static func mergeSorted<T: Comparable>(_ a: [T], _ b: [T], _ same: (T, T) -> Bool) -> [T] {
        var out: [T] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            let v: T
            if j == b.count || (i < a.count && a[i] <= b[j]) {
                v = a[i]; i += 1
            } else {
                v = b[j]; j += 1
            }
            if let last = out.last, same(last, v) {
                out[out.count - 1] = max(last, v)
            } else {
                out.append(v)
            }
        }
        return out
    }

    /// The Rice parameter for `count` sorted register indexes: about their mean gap.
    static func riceParameter(_ count: Int) -> UInt64 {
        let bitLength = 64 - UInt64(count + 1).leadingZeroBitCount
        return UInt64(max(0, sparsePrecision - bitLength))
    }

    // MARK: registers

    /// The sparse entry of a hash: its top 25 bits name the register, the rank is the
    /// position of the first 1 among the other 39 bits (40 when they are all 0).
    @inline(__always) static func entry(_ h: UInt64) -> UInt32 {
        let index = UInt32(truncatingIfNeeded: h >> UInt64(64 - sparsePrecision))
        let rest = h << UInt64(sparsePrecision)
        let rank = rest == 0 ? UInt32(64 - sparsePrecision + 1) : UInt32(rest.leadingZeroBitCount + 1)
        return index << 6 | rank
    }

    /// Sorted entries of sorted hashes, one per register (the highest rank): hashes
    /// in order have their registers in order.
    private static func sparseEntries(_ sortedHashes: [UInt64]) -> [UInt32] {
        mergeSorted(sortedHashes.map(entry), [], sameRegister)
    }

    @inline(__always) static func setRegister(_ r: inout [UInt8], _ h: UInt64) {
        let index = Int(truncatingIfNeeded: h >> UInt64(64 - precision))
        let rest = h << UInt64(precision)
        let rank = rest == 0 ? UInt8(64 - precision + 1) : UInt8(rest.leadingZeroBitCount + 1)
        if rank > r[index] { r[index] = rank }
    }

    /// The dense register a sparse entry sets: the same as `setRegister` of its hash.
    @inline(__always) static func setRegister(_ r: inout [UInt8], entry e: UInt32) {
        let extra = UInt32(sparsePrecision - precision)
        let sparseIndex = e >> 6
        let index = Int(sparseIndex >> extra)
        let low = sparseIndex & ((1 << extra) - 1)
        let rank = low != 0
            ? UInt8(low.leadingZeroBitCount - (32 - Int(extra)) + 1)
            : UInt8(extra + (e & 0x3F))
        if rank > r[index] { r[index] = rank }
    }

    /// Ertl's improved raw estimate from the registers' histogram.
    static func denseEstimate(_ registers: [UInt8]) -> Double {
        let q = 64 - precision
        var histogram = [Int](repeating: 0, count: q + 2)
        for r in registers { histogram[Int(r)] += 1 }
        let m = Double(registerCount)
        var z = m * tau((m - Double(histogram[q + 1])) / m)
        for k in stride(from: q, through: 1, by: -1) {
            z = 0.5 * (z + Double(histogram[k]))
        }
        z += m * sigma(Double(histogram[0]) / m)
        return m * m / (2 * SketchMath.ln2 * z)
    }

    private static func sigma(_ x0: Double) -> Double {
        if x0 == 1 { return .infinity }
        var x = x0, y = 1.0, z = x0
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if z == previous { return z }
        }
    }

    private static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0, y = 1.0, z = 1 - x0
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == previous { return z / 3 }
        }
    }

    // MARK: the state

    public func serialized() -> [UInt8] {
        let s = normalized()
        var w: SketchCoding.Writer
        switch s.form {
        case .exact:
            w = SketchCoding.Writer(magic: Self.magic, version: Self.version, capacity: 3 + 8 * s.hashes.count)
            w.byte(Form.exact.rawValue)
            w.varint(UInt64(s.hashes.count))
            for h in s.hashes { w.word(h) }
        case .sparse:
            w = SketchCoding.Writer(magic: Self.magic, version: Self.version, capacity: 3 + 3 * s.entries.count)
            w.byte(Form.sparse.rawValue)
            w.varint(UInt64(s.entries.count))
            let k = Self.riceParameter(s.entries.count)
            var bits = BitWriter()
            var previous: UInt32 = 0
            for e in s.entries {
                bits.rice(UInt64(e >> 6 - previous), k: k)
                bits.unary(UInt64(e & 0x3F) - 1)
                previous = e >> 6
            }
            for b in bits.finish() { w.byte(b) }
        case .dense:
            w = SketchCoding.Writer(magic: Self.magic, version: Self.version, capacity: 1 + Self.denseBytes)
            w.byte(Form.dense.rawValue)
            var i = 0
            while i < Self.registerCount {
                let packed = UInt32(s.registers[i]) | UInt32(s.registers[i + 1]) << 6
                    | UInt32(s.registers[i + 2]) << 12 | UInt32(s.registers[i + 3]) << 18
                w.byte(UInt8(truncatingIfNeeded: packed))
                w.byte(UInt8(truncatingIfNeeded: packed >> 8))
                w.byte(UInt8(truncatingIfNeeded: packed >> 16))
                i += 4
            }
        }
        return w.finish()
    }

    /// Reads a state made by `serialized()`; anything else throws "not a shards
    /// distinct state".
    public init(serialized bytes: UnsafeRawBufferPointer) throws {
        var r = try SketchCoding.Reader(bytes, magic: Self.magic, version: Self.version, name: Self.name)
        let bad = ShardError("not a \(Self.name)")
        guard let raw = r.byte(), let form = Form(rawValue: raw) else { throw bad }
        self.form = form
        switch form {
        case .exact:
            guard let n = r.varint(), n <= UInt64(Self.exactLimit), r.remaining == 8 * Int(n) else { throw bad }
            hashes.reserveCapacity(Int(n))
            for _ in 0..<Int(n) {
                guard let h = r.word(), hashes.last.map({ $0 < h }) ?? true else { throw bad }
                hashes.append(h)
            }
        case .sparse:
            guard let n = r.varint(), n <= UInt64(Self.sparseLimit), let rest = r.bytes(r.remaining) else { throw bad }
            entries.reserveCapacity(Int(n))
            let k = Self.riceParameter(Int(n))
            let indexes = UInt64(1) << UInt64(Self.sparsePrecision)
            let maxRank = UInt64(64 - Self.sparsePrecision + 1)
            var bits = BitReader(rest)
            var index: UInt64 = 0
            for i in 0..<Int(n) {
                guard let gap = bits.rice(k: k, limit: indexes), i == 0 || gap > 0,
                      let rank = bits.unary(limit: maxRank - 1) else { throw bad }
                index += gap
                guard index < indexes else { throw bad }
                entries.append(UInt32(index << 6 | (rank + 1)))
            }
            guard bits.atPaddedEnd else { throw bad }
        case .dense:
            guard let body = r.bytes(Self.denseBytes), Self.denseBodyIsValid(body) else { throw bad }
            registers = [UInt8](repeating: 0, count: Self.registerCount)
            Self.raise(&registers, toPacked: body)
        }
        guard r.atEnd else { throw bad }
    }

    /// The same as `merge(DistinctSketch(serialized: bytes))`, and for a dense state
    /// without making its registers first (a month of daily states merges at the
    /// speed of the bytes). Bytes that are not a state throw and change nothing.
    public mutating func merge(serialized bytes: UnsafeRawBufferPointer) throws {
        let head = Self.magic.count + 1
        guard bytes.count == head + 1 + Self.denseBytes + SketchCoding.checksumBytes,
              bytes[head] == Form.dense.rawValue else {
            merge(try DistinctSketch(serialized: bytes))
            return
        }
        var r = try SketchCoding.Reader(bytes, magic: Self.magic, version: Self.version, name: Self.name)
        _ = r.byte()
        guard let body = r.bytes(Self.denseBytes), r.atEnd, Self.denseBodyIsValid(body) else {
            throw ShardError("not a \(Self.name)")
        }
        toDense()
        Self.raise(&registers, toPacked: body)
    }

    /// Whether every packed register is a rank the dense form can hold.
    private static func denseBodyIsValid(_ body: UnsafeRawBufferPointer) -> Bool {
        var highest: UInt32 = 0
        for k in 0..<(registerCount / 4) {
            let packed = UInt32(body[3 * k]) | UInt32(body[3 * k + 1]) << 8 | UInt32(body[3 * k + 2]) << 16
            highest = max(highest, packed & 0x3F, packed >> 6 & 0x3F, packed >> 12 & 0x3F, packed >> 18)
        }
        return highest <= UInt32(64 - precision + 1)
    }

    /// Each register to at least its packed value.
    private static func raise(_ registers: inout [UInt8], toPacked body: UnsafeRawBufferPointer) {
        registers.withUnsafeMutableBufferPointer { r in
            for k in 0..<(registerCount / 4) {
                let packed = UInt32(body[3 * k]) | UInt32(body[3 * k + 1]) << 8 | UInt32(body[3 * k + 2]) << 16
                for j in 0..<4 {
                    r[4 * k + j] = max(r[4 * k + j], UInt8(truncatingIfNeeded: packed >> (6 * UInt32(j))) & 0x3F)
                }
            }
        }
    }
}
