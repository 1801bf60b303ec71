import XCTest
@testable import ShardCore

/// A seeded generator, so every run tests the same values.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class DistinctSketchTests: XCTestCase {
    /// `n` distinct user ids of this seed, as a rollup would see them: integers.
    private func ids(_ n: Int, seed: UInt64) -> [Int64] {
        (0..<n).map { Int64(seed) << 32 | Int64($0) }
    }

    private func sketch(_ values: [Int64]) -> DistinctSketch {
        var s = DistinctSketch()
        for v in values { s.add(hash: DistinctSketch.hash(int64: v)) }
        return s
    }

    func testExactUpToTheLimitEvenWithRepeats() {
        for seed in UInt64(0)..<50 {
            var g = SplitMix(seed: seed)
            for n in [0, 1, 2, 17, 100, 255, DistinctSketch.exactLimit] {
                let distinct = ids(n, seed: seed)
                // Each value 1 to 4 times, shuffled.
                var values: [Int64] = []
                for v in distinct { for _ in 0...Int(g.next() % 4) { values.append(v) } }
                values.shuffle(using: &g)
                let s = sketch(values)
                XCTAssertTrue(s.isExact, "n \(n)")
                XCTAssertEqual(s.estimate, Int64(n), "seed \(seed) n \(n)")
            }
        }
        XCTAssertFalse(sketch(ids(DistinctSketch.exactLimit + 1, seed: 1)).isExact)
    }

    func testWithinTwoPercentAboveTheExactLimit() {
        var worst = 0.0
        let sizes = [257, 300, 1000, 3000, 8000, 9000, 20_000, 50_000, 100_000]
        for seed in UInt64(0)..<30 {
            for n in sizes {
                let e = Double(sketch(ids(n, seed: seed)).estimate)
                let error = abs(e - Double(n)) / Double(n)
                worst = max(worst, error)
                XCTAssertLessThanOrEqual(error, 0.02, "seed \(seed) n \(n) estimate \(e)")
            }
        }
        // Large counts, text values, values added more than once.
        for seed in UInt64(100)..<104 {
            var s = DistinctSketch()
            let n = 1_000_000
            for i in 0..<n {
                s.add(hash: DistinctSketch.hash(text: "user-\(seed)-\(i)"))
                if i % 3 == 0 { s.add(hash: DistinctSketch.hash(text: "user-\(seed)-\(i / 2)")) }
            }
            let error = abs(Double(s.estimate) - Double(n)) / Double(n)
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(error, 0.02, "seed \(seed) estimate \(s.estimate)")
        }
        print("distinct: worst relative error above the exact limit \(worst)")
    }

    func testMergeIsTheSketchOfTheUnionInAnyOrder() throws {
        // Sizes on each side of each form's limit: exact, sparse and dense meet.
        let sizes = [0, 5, 200, 256, 257, 600, 5000, 8100, 9000, 40_000]
        for seed in UInt64(0)..<3 {
            var g = SplitMix(seed: seed)
            for a in sizes {
                for b in sizes {
                    // b overlaps a by half of the smaller side.
                    let overlap = min(a, b) / 2
                    let left = ids(a, seed: seed)
                    let right = Array(left.prefix(overlap)) + ids(b - overlap, seed: seed + 1000)
                    var union = left + right
                    union.shuffle(using: &g)
                    let expected = sketch(union)
                    var ab = sketch(left)
                    ab.merge(sketch(right))
                    var ba = sketch(right)
                    ba.merge(sketch(left))
                    XCTAssertEqual(ab, expected, "a \(a) b \(b)")
                    XCTAssertEqual(ba, expected, "b \(b) a \(a)")
                    XCTAssertEqual(ab.serialized(), expected.serialized(), "a \(a) b \(b)")
                    XCTAssertEqual(ab.estimate, expected.estimate)
                    var fromBytes = sketch(left)
                    try sketch(right).serialized().withUnsafeBytes { try fromBytes.merge(serialized: $0) }
                    XCTAssertEqual(fromBytes, expected, "from bytes: a \(a) b \(b)")
                }
            }
        }
        // Merging a sketch into itself changes nothing.
        var s = sketch(ids(3000, seed: 9))
        let before = s
        s.merge(before)
        XCTAssertEqual(s, before)
    }

    func testStatesRoundTrip() throws {
        for n in [0, 1, 256, 257, 3000, 8192, 20_000, 100_000] {
            let s = sketch(ids(n, seed: 7))
            let bytes = s.serialized()
            let back = try bytes.withUnsafeBytes { try DistinctSketch(serialized: $0) }
            XCTAssertEqual(back, s, "n \(n)")
            XCTAssertEqual(back.serialized(), bytes)
            XCTAssertEqual(back.estimate, s.estimate)
            XCTAssertEqual(try bytes.withUnsafeBytes { try DistinctSketch.estimate(serialized: $0) }, s.estimate, "n \(n)")
            // A read state goes on growing as the original does.
            var grown = back, original = s
            for v in ids(500, seed: 8) {
                grown.add(hash: DistinctSketch.hash(int64: v))
                original.add(hash: DistinctSketch.hash(int64: v))
            }
            XCTAssertEqual(grown, original)
        }
    }

    func testBadBytesAreNotAState() throws {
        for n in [0, 3, 300, 9000] {
            let bytes = sketch(ids(n, seed: 3)).serialized()
            // Every byte flipped (every 97th for the dense state), every cut, one byte more.
            let step = bytes.count > 1000 ? 97 : 1
            for i in stride(from: 0, to: bytes.count, by: step) {
                var bad = bytes
                bad[i] ^= 0x40
                let expected = i == 2 ? "shards distinct state version" : "not a shards distinct state"
                assertShardError(try bad.withUnsafeBytes { try DistinctSketch(serialized: $0) }, expected)
                assertShardError(try bad.withUnsafeBytes { try DistinctSketch.estimate(serialized: $0) }, expected)
            }
            for cut in stride(from: 0, to: bytes.count, by: step) {
                assertShardError(try Array(bytes[..<cut]).withUnsafeBytes { try DistinctSketch(serialized: $0) }, "not a shards distinct state")
                assertShardError(try Array(bytes[..<cut]).withUnsafeBytes { try DistinctSketch.estimate(serialized: $0) }, "not a shards distinct state")
            }
            assertShardError(try (bytes + [0]).withUnsafeBytes { try DistinctSketch(serialized: $0) }, "not a shards distinct state")
        }
        // A quantile state, text, a blob of zeros.
        let others = [QuantileSketch().serialized(), Array("hello world".utf8), [UInt8](repeating: 0, count: 40)]
        for other in others {
            assertShardError(try other.withUnsafeBytes { try DistinctSketch(serialized: $0) }, "not a shards distinct state")
        }
        // Checksummed but malformed: hashes out of order, too many, a register too high.
        func state(_ body: (inout SketchCoding.Writer) -> Void) -> [UInt8] {
            var w = SketchCoding.Writer(magic: DistinctSketch.magic, version: DistinctSketch.version, capacity: 0)
            body(&w)
            return w.finish()
        }
        // (gap, rank) pairs as the sparse form codes them.
        func sparse(count: Int, _ pairs: [(UInt64, UInt64)]) -> [UInt8] {
            var bits = BitWriter()
            let k = DistinctSketch.riceParameter(count)
            for (gap, rank) in pairs {
                bits.rice(gap, k: k)
                bits.unary(rank - 1)
            }
            let body = bits.finish()
            return state { w in w.byte(1); w.varint(UInt64(count)); for b in body { w.byte(b) } }
        }
        XCTAssertNoThrow(try sparse(count: 2, [(5, 1), (7, 40)]).withUnsafeBytes { try DistinctSketch(serialized: $0) })
        let malformed = [
            state { $0.byte(0); $0.varint(2); $0.word(5); $0.word(4) },
            state { $0.byte(0); $0.varint(2); $0.word(5); $0.word(5) },
            state { $0.byte(0); $0.varint(UInt64(DistinctSketch.exactLimit + 1)); for i in 0...DistinctSketch.exactLimit { $0.word(UInt64(i)) } },
            sparse(count: 2, [(5, 1), (0, 1)]),          // one register twice
            sparse(count: 1, [(5, 41)]),                 // a rank past 40
            sparse(count: 1, [(1 << 25, 1)]),            // an index past 2^25
            sparse(count: 2, [(5, 1)]),                  // an entry short
            sparse(count: 1, [(5, 1), (1, 1)]),          // bits left over
            state { $0.byte(2); for _ in 0..<DistinctSketch.denseBytes { $0.byte(0xFF) } },
            state { $0.byte(3) },
        ]
        let before = sketch(ids(300, seed: 2))
        for bad in malformed + [Array(sketch(ids(20_000, seed: 2)).serialized().dropLast()) + [0]] {
            if bad.count < 100 {
                assertShardError(try bad.withUnsafeBytes { try DistinctSketch(serialized: $0) }, message: "shards: not a shards distinct state")
            }
            XCTAssertThrowsError(try bad.withUnsafeBytes { try DistinctSketch.estimate(serialized: $0) })
            var s = before
            XCTAssertThrowsError(try bad.withUnsafeBytes { try s.merge(serialized: $0) })
            XCTAssertEqual(s, before)
        }
        XCTAssertNoThrow(try state { $0.byte(0); $0.varint(2); $0.word(4); $0.word(5) }.withUnsafeBytes { try DistinctSketch(serialized: $0) })
    }

    /// A dense state of these registers (each 0 to 63), packed as `serialized()` packs them.
    private func denseState(_ registers: [UInt8]) -> [UInt8] {
        var w = SketchCoding.Writer(magic: DistinctSketch.magic, version: DistinctSketch.version, capacity: DistinctSketch.denseBytes + 1)
        w.byte(2)
        for k in stride(from: 0, to: registers.count, by: 4) {
            let packed = UInt32(registers[k]) | UInt32(registers[k + 1]) << 6 | UInt32(registers[k + 2]) << 12 | UInt32(registers[k + 3]) << 18
            for i in 0..<3 { w.byte(UInt8(truncatingIfNeeded: packed >> (8 * UInt32(i)))) }
        }
        return w.finish()
    }

    private func randomRegisters(_ g: inout SplitMix, highest: UInt64 = 50) -> [UInt8] {
        (0..<DistinctSketch.registerCount).map { _ in
            // Mostly the low ranks real registers hold, some anywhere up to `highest`.
            UInt8(g.next() % 4 == 0 ? g.next() % (highest + 1) : g.next() % min(6, highest + 1))
        }
    }

    func testPackedRegistersEightAtATime() {
        var g = SplitMix(seed: 21)
        // Unpacking: eight 6-bit fields, a byte each.
        for _ in 0..<2000 {
            let fields = (0..<8).map { _ in UInt64(g.next() % 64) }
            var packed = [UInt8](repeating: 0, count: 6)
            for (j, f) in fields.enumerated() {
                for b in 0..<6 where f >> UInt64(b) & 1 == 1 { packed[(6 * j + b) / 8] |= 1 << UInt8((6 * j + b) % 8) }
            }
            let eight = packed.withUnsafeBytes { DistinctSketch.unpack8($0, 0) }
            for j in 0..<8 { XCTAssertEqual(eight >> (8 * UInt64(j)) & 0xFF, fields[j]) }
        }
        // The bytewise max, against the scalar one, on bytes below 128.
        for _ in 0..<20_000 {
            let a = g.next() & 0x7F7F_7F7F_7F7F_7F7F
            let b = g.next() % 3 == 0 ? a ^ (g.next() & 0x0101_0101_0101_0101) : g.next() & 0x7F7F_7F7F_7F7F_7F7F
            let m = DistinctSketch.byteMax(a, b)
            for j in stride(from: UInt64(0), to: 64, by: 8) { XCTAssertEqual(m >> j & 0xFF, max(a >> j & 0xFF, b >> j & 0xFF)) }
        }
    }

    func testDenseStatesMergeAndEstimateFromTheirBytes() throws {
        var g = SplitMix(seed: 22)
        for round in 0..<12 {
            let mine = randomRegisters(&g), theirs = randomRegisters(&g)
            let a = try denseState(mine).withUnsafeBytes { try DistinctSketch(serialized: $0) }
            let bytes = denseState(theirs)
            // Merged from the bytes (eight registers at a time) as from the sketch.
            var fromBytes = a, fromSketch = a
            try bytes.withUnsafeBytes { try fromBytes.merge(serialized: $0) }
            fromSketch.merge(try bytes.withUnsafeBytes { try DistinctSketch(serialized: $0) })
            XCTAssertEqual(fromBytes, fromSketch, "round \(round)")
            XCTAssertEqual(fromBytes.serialized(), denseState(zip(mine, theirs).map { max($0, $1) }), "round \(round)")
            // The estimate of the packed registers is that of the sketch read from them.
            let sketch = try bytes.withUnsafeBytes { try DistinctSketch(serialized: $0) }
            XCTAssertEqual(try bytes.withUnsafeBytes { try DistinctSketch.estimate(serialized: $0) }, sketch.estimate)
        }
        // Rank 50 is the highest a register holds; 51 anywhere is not a state.
        var registers = randomRegisters(&g)
        for i in [0, 1, 7, 8, 4095, DistinctSketch.registerCount - 1] {
            var top = registers
            top[i] = 50
            XCTAssertNoThrow(try denseState(top).withUnsafeBytes { try DistinctSketch(serialized: $0) })
            top[i] = 51
            let bad = denseState(top)
            var s = DistinctSketch()
            s.add(hash: 1)
            let before = s
            assertShardError(try bad.withUnsafeBytes { try DistinctSketch(serialized: $0) }, "not a shards distinct state")
            assertShardError(try bad.withUnsafeBytes { try DistinctSketch.estimate(serialized: $0) }, "not a shards distinct state")
            XCTAssertThrowsError(try bad.withUnsafeBytes { try s.merge(serialized: $0) })
            XCTAssertEqual(s, before, "a bad state changes nothing")
        }
        registers = registers.map { min($0, 50) }
        XCTAssertNoThrow(try denseState(registers).withUnsafeBytes { try DistinctSketch(serialized: $0) })
    }

    func testRiceThenUnaryReadsWhatRiceAndUnaryRead() {
        var g = SplitMix(seed: 5)
        for k in [0, 1, 7, 12, 25] as [UInt64] {
            for count in [0, 1, 2, 3, 10, 3000] {
                // Mostly short codes; now and then a quotient or a run of ones longer than a word.
                let values = (0..<count).map { _ in
                    g.next() % 50 == 0 ? g.next() % (UInt64(1) << (k + 7)) : g.next() % (UInt64(1) << (k + 2))
                }
                let runs = (0..<count).map { _ in g.next() % 8 == 0 ? 39 : g.next() % 4 }
                var w = BitWriter()
                for (v, r) in zip(values, runs) { w.rice(v, k: k); w.unary(r) }
                let bytes = w.finish()
                bytes.withUnsafeBytes { buffer in
                    var slow = BitReader(buffer), fast = BitReader(buffer)
                    for (v, r) in zip(values, runs) {
                        XCTAssertEqual(slow.rice(k: k, limit: 1 << 40), v)
                        XCTAssertEqual(slow.unary(limit: 39), r)
                        let pair = fast.riceThenUnary(k: k, limit: 1 << 40, unaryLimit: 39)
                        XCTAssertEqual(pair?.0, v, "k \(k) count \(count)")
                        XCTAssertEqual(pair?.1, r, "k \(k) count \(count)")
                    }
                    XCTAssertTrue(fast.atPaddedEnd)
                }
                // Limits hold on the fast path as on the slow one: a quotient past
                // limit >> k, a run of ones past unaryLimit.
                bytes.withUnsafeBytes { buffer in
                    guard let v = values.first, let r = runs.first else { return }
                    var a = BitReader(buffer), b = BitReader(buffer), c = BitReader(buffer), d = BitReader(buffer)
                    if v >> k > 0 {
                        XCTAssertNil(a.riceThenUnary(k: k, limit: (v >> k) << k - 1, unaryLimit: 39))
                        XCTAssertNil(d.rice(k: k, limit: (v >> k) << k - 1))
                    }
                    if r > 0 { XCTAssertNil(b.riceThenUnary(k: k, limit: 1 << 40, unaryLimit: r - 1)) }
                    XCTAssertNotNil(c.riceThenUnary(k: k, limit: (v >> k) << k, unaryLimit: r))
                }
            }
        }
    }

    func testRiceBitsRoundTrip() {
        var g = SplitMix(seed: 4)
        for k in [0, 1, 7, 15, 25] as [UInt64] {
            let values = (0..<2000).map { _ in g.next() % (UInt64(1) << (k + 3)) }
            var w = BitWriter()
            for v in values { w.rice(v, k: k); w.unary(v % 40) }
            let bytes = w.finish()
            bytes.withUnsafeBytes { buffer in
                var r = BitReader(buffer)
                for v in values {
                    XCTAssertEqual(r.rice(k: k, limit: 1 << 40), v)
                    XCTAssertEqual(r.unary(limit: 40), v % 40)
                }
                XCTAssertTrue(r.atPaddedEnd)
                XCTAssertNil(r.bits(8))
            }
        }
    }

    func testHashesFollowSQLDistinct() {
        typealias S = DistinctSketch
        XCTAssertEqual(S.hash(double: 1.0), S.hash(int64: 1))
        XCTAssertEqual(S.hash(double: -0.0), S.hash(int64: 0))
        XCTAssertEqual(S.hash(double: -9_223_372_036_854_775_808.0), S.hash(int64: .min))
        XCTAssertNotEqual(S.hash(double: 1.5), S.hash(int64: 1))
        XCTAssertNotEqual(S.hash(double: 9_007_199_254_740_992.0), S.hash(int64: 9_007_199_254_740_993))
        XCTAssertNotEqual(S.hash(double: 9.3e18), S.hash(int64: .max))
        XCTAssertNotEqual(S.hash(text: "1"), S.hash(int64: 1))
        XCTAssertNotEqual(S.hash(text: "a"), S.hash(text: "A"))
        XCTAssertNotEqual(S.hash(text: ""), S.hash(text: "\0"))
        var bytes: [UInt8] = Array("abc".utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { S.hash(of: $0) }, S.hash(text: "abc"))
        XCTAssertNotEqual(bytes.withUnsafeBytes { S.hash(blob: $0) }, S.hash(text: "abc"))
        bytes = []
        XCTAssertNotEqual(bytes.withUnsafeBytes { S.hash(blob: $0) }, S.hash(text: ""))
        // The hash is stored in states: it must not change between builds or machines.
        XCTAssertEqual(S.hash(int64: 42), 0xBDD7_3226_2FEB_6E95)
        XCTAssertEqual(S.hash(text: "shards"), 0x16C6_3613_7CD6_4289)
    }

    func testStateSizes() {
        var report: [String] = []
        for n in [0, 1, 10, 100, 256, 257, 1000, 4000, 8000, 12_000, 100_000, 1_000_000] {
            let size = sketch(ids(n, seed: 11)).serialized().count
            report.append("\(n): \(size) B")
            if n <= DistinctSketch.exactLimit {
                XCTAssertEqual(size, 4 + (n < 128 ? 1 : 2) + 8 * n + 4, "exact, n \(n)")
            } else {
                XCTAssertLessThanOrEqual(size, 4 + 4 + DistinctSketch.denseBytes, "n \(n)")
                XCTAssertLessThanOrEqual(Double(size), 12 + 2.8 * Double(n), "n \(n)")
            }
        }
        print("distinct state sizes: " + report.joined(separator: ", "))
    }
}
