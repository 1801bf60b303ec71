/// The quantiles that a rollup's `quantile` measure keeps per shard, bucket and
/// group, and that `shards_quantile` merges: a DDSketch (Masson, Rim, Lee, 2019)
/// with relative accuracy 1%.
///
/// A positive value x goes to bin k = ⌈log_γ x⌉, γ = (1 + α) / (1 − α), α = 0.01, and
/// a bin answers 2γ^k / (γ + 1), which is within 1% of every value in it. Negative
/// values go to a second store by magnitude; magnitudes below `minMagnitude` (about
/// 2.3e-308) count as zero. NaN and ±infinity are not added (`accepts`).
///
/// `quantile(q)` answers the value of rank ⌊q · (n − 1)⌋ (0-based) among the n sorted
/// values, the lower of the two nearest ranks (no interpolation), within 1% of it.
///
/// Bounded size: a store keeps at most `binLimit` (2048) bins, which spans values
/// from x to x · 6e17. When a larger value arrives, the lowest bins are folded into
/// the lowest one kept: the quantiles that fall in them come back as that bin's
/// value, too high, while every quantile above them keeps its 1% bound. (For the
/// negative store the folded bins are the magnitudes closest to zero.) The kept
/// range hangs from the largest value, so the folding depends only on the values
/// seen: merging two sketches gives exactly the sketch of all their values.
///
/// The state (`serialized()`), little-endian:
///
///     "SQ" | version 1: u8 | zero count: varint | positive store | negative store | checksum: u32
///     store: bins: varint | first bin index: zigzag varint | its count: varint
///            | (bins − 1) × (index delta: varint | count: varint)
///
/// About 2 to 3 bytes a non-empty bin: a few hundred bytes for values spanning
/// three orders of magnitude; at most 8 KiB a store while no bin counts 2^21 values.
public struct QuantileSketch: Equatable, Sendable {
    public static let relativeAccuracy = 0.01
    public static let binLimit = 2048
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    static let inverseLnGamma = 1 / SketchMath.ln(gamma)
    static let binValueFactor = 2 * gamma / (gamma + 1)
    /// Magnitudes below this count as zero (so every bin's value is a normal double).
    public static let minMagnitude = Double.leastNormalMagnitude * gamma * gamma
    static let minIndex = index(minMagnitude)
    static let maxIndex = index(Double.greatestFiniteMagnitude)

    static let magic: [UInt8] = Array("SQ".utf8)
    static let version: UInt8 = 1
    static let name = "shards quantile state"

    private var positive = BinStore()
    private var negative = BinStore()
    private var zeroCount: UInt64 = 0

    public init() {}

    /// Values added (or merged in).
    public var count: Int64 {
        Int64(clamping: BinStore.sum(BinStore.sum(positive.total, negative.total), zeroCount))
    }

    /// Whether `add` takes the value: any finite one.
    public static func accepts(_ value: Double) -> Bool { value.isFinite }

    /// Adds a finite value; NaN and ±infinity are ignored (check `accepts` first
    /// where that needs an error).
    public mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        let m = value.magnitude
        if m < Self.minMagnitude {
            zeroCount += 1
        } else if value > 0 {
            positive.add(Self.index(m), 1)
        } else {
            negative.add(Self.index(m), 1)
        }
    }

    public mutating func merge(_ other: QuantileSketch) {
        other.positive.forEachBin { positive.add($0, $1) }
        other.negative.forEachBin { negative.add($0, $1) }
        zeroCount = BinStore.sum(zeroCount, other.zeroCount)
    }

    /// The value of rank ⌊q · (n − 1)⌋ within 1%, nil when the sketch is empty;
    /// q outside [0, 1] throws.
    public func quantile(_ q: Double) throws -> Double? {
        guard q >= 0, q <= 1 else {
            throw ShardError("the quantile must be a number from 0 to 1, not \(q)")
        }
        let n = count
        guard n > 0 else { return nil }
        let rank = UInt64((q * Double(n - 1)).rounded(.down))
        if rank < negative.total {
            return -Self.value(negative.index(atRank: negative.total - 1 - rank))
        }
        if rank - negative.total < zeroCount { return 0 }
        return Self.value(positive.index(atRank: rank - negative.total - zeroCount))
    }

    @inline(__always) static func index(_ magnitude: Double) -> Int32 {
        Int32((SketchMath.ln(magnitude) * inverseLnGamma).rounded(.up))
    }

    /// 2γ^k / (γ + 1), written so it cannot overflow for the largest bin.
    static func value(_ k: Int32) -> Double {
        SketchMath.power(gamma, Int(k) - 1) * binValueFactor
    }

    // MARK: the state

    public func serialized() -> [UInt8] {
        var w = SketchCoding.Writer(magic: Self.magic, version: Self.version,
                                    capacity: 12 + 3 * (positive.binCount + negative.binCount))
        w.varint(zeroCount)
        for store in [positive, negative] {
            w.varint(UInt64(store.binCount))
            var previous: Int32? = nil
            store.forEachBin { k, c in
                if let p = previous { w.varint(UInt64(k - p)) } else { w.signedVarint(Int64(k)) }
                w.varint(c)
                previous = k
            }
        }
        return w.finish()
    }

    /// Reads a state made by `serialized()`; anything else throws "not a shards
    /// quantile state".
    public init(serialized bytes: UnsafeRawBufferPointer) throws {
        var r = try SketchCoding.Reader(bytes, magic: Self.magic, version: Self.version, name: Self.name)
        let bad = ShardError("not a \(Self.name)")
        guard let zeros = r.varint() else { throw bad }
        zeroCount = zeros
        var total = zeros
        for negativeStore in [false, true] {
            var store = BinStore()
            guard let bins = r.varint(), bins <= UInt64(Self.binLimit) else { throw bad }
            var first: Int64 = 0, k: Int64 = 0
            for i in 0..<Int(bins) {
                if i == 0 {
                    guard let s = r.signedVarint() else { throw bad }
                    k = s
                    first = s
                } else {
                    guard let d = r.varint(), d > 0, d < UInt64(Self.binLimit) else { throw bad }
                    k += Int64(d)
                }
                guard let c = r.varint(), c > 0, k >= Int64(Self.minIndex), k <= Int64(Self.maxIndex),
                      k - first < Int64(Self.binLimit) else { throw bad }
                let (t, overflow) = total.addingReportingOverflow(c)
                guard !overflow, t <= UInt64(Int64.max) else { throw bad }
                total = t
                store.add(Int32(k), c)
            }
            if negativeStore { negative = store } else { positive = store }
        }
        guard r.atEnd else { throw bad }
    }
}

/// Counts of bins k in [lo, hi], at most `binLimit` of them, in one array that
/// grows at either end; bins below hi − binLimit + 1 fold into that one.
struct BinStore: Equatable, Sendable {
    private var counts: [UInt64] = []
    /// The bin of counts[0].
    private var offset: Int32 = 0
    /// The lowest and highest bins that may be non-empty, when total > 0.
    private var lo: Int32 = 0
    private var hi: Int32 = 0
    private(set) var total: UInt64 = 0

    /// Counts add up without trapping, even from hostile states.
    @inline(__always) static func sum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (s, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : s
    }

    mutating func add(_ index: Int32, _ n: UInt64) {
        var k = index
        if total == 0 {
            reserve(k, k)
            lo = k
            hi = k
        } else if k > hi {
            let floor = k - Int32(QuantileSketch.binLimit) + 1
            if floor > lo {
                var folded: UInt64 = 0
                var i = lo
                while i <= hi && i < floor {
                    folded = Self.sum(folded, counts[Int(i - offset)])
                    counts[Int(i - offset)] = 0
                    i += 1
                }
                lo = floor
                reserve(lo, k)
                counts[Int(floor - offset)] = Self.sum(counts[Int(floor - offset)], folded)
            } else {
                reserve(lo, k)
            }
            hi = k
        } else if k < lo {
            k = max(k, hi - Int32(QuantileSketch.binLimit) + 1)
            if k < lo {
                reserve(k, hi)
                lo = k
            }
        }
        counts[Int(k - offset)] = Self.sum(counts[Int(k - offset)], n)
        total = Self.sum(total, n)
    }

    /// Makes counts cover [a, b], keeping the bins already there (any outside [a, b]
    /// are empty by then), with room to grow at both ends: half the span again, so
    /// a store filled bin by bin upwards copies itself a few times, not once a bin.
    private mutating func reserve(_ a: Int32, _ b: Int32) {
        if !counts.isEmpty, a >= offset, Int(b - offset) < counts.count { return }
        let pad = max(32, min(Int32(QuantileSketch.binLimit), b - a) / 2)
        let newOffset = a - pad
        var grown = [UInt64](repeating: 0, count: Int(b - a + 2 * pad + 1))
        let start = max(lo, a, offset), end = min(hi, b, offset + Int32(counts.count) - 1)
        if total > 0, start <= end {
            grown[Int(start - newOffset)...Int(end - newOffset)] = counts[Int(start - offset)...Int(end - offset)]
        }
        counts = grown
        offset = newOffset
    }

    var binCount: Int {
        var n = 0
        forEachBin { _, _ in n += 1 }
        return n
    }

    /// The non-empty bins, lowest first.
    func forEachBin(_ body: (Int32, UInt64) -> Void) {
        guard total > 0 else { return }
        for k in lo...hi {
            let c = counts[Int(k - offset)]
            if c > 0 { body(k, c) }
        }
    }

    /// The bin holding the value of 0-based rank `rank` (< total).
    func index(atRank rank: UInt64) -> Int32 {
        var seen: UInt64 = 0
        for k in lo...hi {
            seen = Self.sum(seen, counts[Int(k - offset)])
            if seen > rank { return k }
        }
        return hi
    }

    static func == (a: BinStore, b: BinStore) -> Bool {
        guard a.total == b.total else { return false }
        var binsA: [(Int32, UInt64)] = [], binsB: [(Int32, UInt64)] = []
        a.forEachBin { binsA.append(($0, $1)) }
        b.forEachBin { binsB.append(($0, $1)) }
        return binsA.elementsEqual(binsB, by: ==)
    }
}
