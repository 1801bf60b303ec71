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
            registers.withUnsafeMutableBufferPointer { Self.setRegister($0, hash) }
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
                registers.withUnsafeMutableBufferPointer { r in
                    for e in other.entries { Self.setRegister(r, entry: e) }
                }
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
            return Self.sparseEstimate(s.entries.count)
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
            registers.withUnsafeMutableBufferPointer { r in
                for h in pending { Self.setRegister(r, h) }
            }
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
        r.withUnsafeMutableBufferPointer { r in
            for h in hashes { Self.setRegister(r, h) }
            for e in entries { Self.setRegister(r, entry: e) }
        }
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

    @inline(__always) static func setRegister(_ r: UnsafeMutableBufferPointer<UInt8>, _ h: UInt64) {
        let index = Int(truncatingIfNeeded: h >> UInt64(64 - precision))
        let rest = h << UInt64(precision)
        let rank = rest == 0 ? UInt8(64 - precision + 1) : UInt8(rest.leadingZeroBitCount + 1)
        r[index] = max(r[index], rank)   // no branch: whether it rises is a coin toss
    }

    /// The dense register a sparse entry sets: the same as `setRegister` of its hash.
    @inline(__always) static func setRegister(_ r: UnsafeMutableBufferPointer<UInt8>, entry e: UInt32) {
        let extra = UInt32(sparsePrecision - precision)
        let sparseIndex = e >> 6
        let index = Int(sparseIndex >> extra)
        let low = sparseIndex & ((1 << extra) - 1)
        let rank = low != 0
            ? UInt8(low.leadingZeroBitCount - (32 - Int(extra)) + 1)
            : UInt8(extra + (e & 0x3F))
        r[index] = max(r[index], rank)   // no branch: whether it rises is a coin toss
    }

    /// Linear counting over the sparse form's 2^25 registers, `n` of them set.
    static func sparseEstimate(_ n: Int) -> Int64 {
        let m = Double(1 << sparsePrecision)
        return Int64((m * SketchMath.ln(m / (m - Double(n)))).rounded())
    }

    /// Ertl's improved raw estimate from the registers.
    static func denseEstimate(_ registers: [UInt8]) -> Double {
        registers.withUnsafeBytes { r in
            var counts = RankCounts()
            for k in 0..<(registerCount / 8) { counts.add(UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))) }
            return denseEstimate(histogram: counts.histogram)
        }
    }

    /// How many registers hold each rank, eight registers (a byte each) at a time, in
    /// four tallies so that neighbours of the same rank do not wait on each other.
    struct RankCounts {
        private var tallies = [Int](repeating: 0, count: 4 * 64)

        @inline(__always) mutating func add(_ eight: UInt64) {
            tallies.withUnsafeMutableBufferPointer { t in
                for j in 0..<8 {
                    let rank = Int(truncatingIfNeeded: eight >> (8 * UInt64(j))) & 0x3F
                    t[(j & 3) << 6 | rank] += 1
                }
            }
        }

        var histogram: [Int] {
            (0..<64).map { tallies[$0] + tallies[64 + $0] + tallies[128 + $0] + tallies[192 + $0] }
        }
    }

    /// Ertl's improved raw estimate from the registers' histogram (registers by rank).
    static func denseEstimate(histogram: [Int]) -> Double {
        let q = 64 - precision
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
        var r = try Self.open(bytes)
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
            entries = try [UInt32](unsafeUninitializedCapacity: Int(n)) { buffer, initialized in
                var i = 0
                guard Self.readSparse(rest, count: Int(n), { buffer[i] = $0; i += 1 }) else { throw bad }
                initialized = i
            }
        case .dense:
            guard let body = r.bytes(Self.denseBytes), Self.denseBodyIsValid(body) else { throw bad }
            registers = [UInt8](repeating: 0, count: Self.registerCount)
            Self.raise(&registers, toPacked: body)
        }
        guard r.atEnd else { throw bad }
    }

    /// A state's reader after its header, once the magic, version and checksum hold.
    private static func open(_ bytes: UnsafeRawBufferPointer) throws -> SketchCoding.Reader {
        try SketchCoding.Reader(bytes, magic: magic, version: version, name: name)
    }

    /// Reads a sparse body of `n` entries, handing each to `body` in order; false
    /// when the bits are not `n` entries (indexes ascending below 2^25, ranks 1 to
    /// 40) then zero padding. `body` may have seen some entries by then.
    @inline(__always) private static func readSparse(_ rest: UnsafeRawBufferPointer, count n: Int, _ body: (UInt32) -> Void) -> Bool {
        let k = riceParameter(n)
        let indexes = UInt64(1) << UInt64(sparsePrecision)
        let maxRank = UInt64(64 - sparsePrecision + 1)
        var bits = BitReader(rest)
        var index: UInt64 = 0
        for i in 0..<n {
            guard let (gap, ones) = bits.riceThenUnary(k: k, limit: indexes, unaryLimit: maxRank - 1), i == 0 || gap > 0 else {
                return false
            }
            index &+= gap   // both below 2^26: the check below is exact
            guard index < indexes else { return false }
            body(UInt32(truncatingIfNeeded: index << 6 | (ones + 1)))
        }
        return bits.atPaddedEnd
    }

    /// The same as `merge(DistinctSketch(serialized: bytes))`, and for a dense state
    /// without making its registers first (a month of daily states merges at the
    /// speed of the bytes). Bytes that are not a state throw and change nothing.
    public mutating func merge(serialized bytes: UnsafeRawBufferPointer) throws {
        guard let body = try Self.denseBody(bytes) else {
            merge(try DistinctSketch(serialized: bytes))
            return
        }
        toDense()
        Self.raise(&registers, toPacked: body)
    }

    /// The same as `DistinctSketch(serialized: bytes).estimate`, without making the
    /// sketch: a sparse state's entries are checked and counted, a dense state's
    /// registers counted where they lie packed (a rollup answers a day from its
    /// stored state).
    public static func estimate(serialized bytes: UnsafeRawBufferPointer) throws -> Int64 {
        if let body = try denseBody(bytes) {
            var counts = RankCounts()
            for k in 0..<(registerCount / 8) { counts.add(unpack8(body, 6 * k)) }
            return Int64(denseEstimate(histogram: counts.histogram).rounded())
        }
        var r = try open(bytes)
        guard r.byte() == Form.sparse.rawValue else { return try DistinctSketch(serialized: bytes).estimate }
        guard let n = r.varint(), n <= UInt64(sparseLimit), let rest = r.bytes(r.remaining),
              readSparse(rest, count: Int(n), { _ in }) else { throw ShardError("not a \(name)") }
        return sparseEstimate(Int(n))
    }

    /// The packed registers of a dense state, checked; nil when the bytes have the
    /// size of another form. Bytes of a dense state's size that are not one throw.
    private static func denseBody(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        let head = magic.count + 1
        guard bytes.count == head + 1 + denseBytes + SketchCoding.checksumBytes,
              bytes[head] == Form.dense.rawValue else { return nil }
        var r = try open(bytes)
        _ = r.byte()
        guard let body = r.bytes(denseBytes), r.atEnd, denseBodyIsValid(body) else {
            throw ShardError("not a \(name)")
        }
        return body
    }

    // MARK: packed registers, eight at a time

    /// The eight registers packed in 6 bytes at `offset`, one a byte (lowest first):
    /// the 6-bit fields spread apart in three steps, 24, 12 then 6 bits at a time.
    @inline(__always) static func unpack8(_ body: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        let x = UInt64(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            | UInt64(UInt16(littleEndian: body.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self))) << 32
        var z = (x & 0xFF_FFFF) | (x & 0xFFFF_FF00_0000) << 8
        z = (z & 0x0000_0FFF_0000_0FFF) | (z & 0x00FF_F000_00FF_F000) << 4
        return (z & 0x003F_003F_003F_003F) | (z & 0x0FC0_0FC0_0FC0_0FC0) << 2
    }

    static let highBits: UInt64 = 0x8080_8080_8080_8080
    static let lowBits: UInt64 = 0x0101_0101_0101_0101

    /// The larger of each pair of bytes of `a` and `b`, all below 128: a byte of
    /// (a | 0x80) − b keeps its high bit exactly where a ≥ b, and never borrows.
    @inline(__always) static func byteMax(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let aWins = (((a | highBits) &- b) & highBits) >> 7 &* 0xFF
        return (a & aWins) | (b & ~aWins)
    }

    /// Whether every packed register is a rank the dense form can hold (at most 50):
    /// 77 added to a byte of at most 63 sets its high bit exactly when the byte is 51
    /// or more, and never carries into the next.
    private static func denseBodyIsValid(_ body: UnsafeRawBufferPointer) -> Bool {
        let over = (128 - UInt64(64 - precision + 2)) &* lowBits
        var seen: UInt64 = 0
        for k in 0..<(registerCount / 8) { seen |= unpack8(body, 6 * k) &+ over }
        return seen & highBits == 0
    }

    /// Each register to at least its packed value, eight at a time.
    private static func raise(_ registers: inout [UInt8], toPacked body: UnsafeRawBufferPointer) {
        registers.withUnsafeMutableBytes { r in
            for k in 0..<(registerCount / 8) {
                let mine = UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))
                r.storeBytes(of: byteMax(mine, unpack8(body, 6 * k)).littleEndian, toByteOffset: 8 * k, as: UInt64.self)
            }
        }
    }
}
