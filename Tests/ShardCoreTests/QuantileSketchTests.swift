import Foundation
import XCTest
@testable import ShardCore

final class QuantileSketchTests: XCTestCase {
    static let qs = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]

    /// The quantile the sketch promises: rank ⌊q · (n − 1)⌋ of the sorted values.
    private func truth(_ sorted: [Double], _ q: Double) -> Double {
        sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
    }

    private func sketch(_ values: [Double]) -> QuantileSketch {
        var s = QuantileSketch()
        for v in values { s.add(v) }
        return s
    }

    /// Values of several shapes: durations, heavy tails, signs mixed, zeros, repeats.
    private func values(_ n: Int, shape: Int, seed: UInt64) -> [Double] {
        var g = SplitMix(seed: seed)
        func unit() -> Double { Double(g.next() >> 11) / Double(1 << 53) }
        return (0..<n).map { _ in
            switch shape {
            case 0: return unit() * 1000                                   // uniform
            case 1: return -log(1 - unit()) * 250                           // exponential durations
            case 2: return exp(unit() * 40 - 20)                            // 17 orders of magnitude
            case 3: return 1 / pow(1 - unit(), 1.5)                         // Pareto tail
            case 4: return (unit() - 0.3) * 2e6                             // negatives and positives
            case 5: return unit() < 0.2 ? 0 : Double(Int(unit() * 20) - 5)  // zeros, small integers
            default: return -exp(unit() * 10)                               // negatives only
            }
        }
    }

    func testEveryQuantileWithinOnePercent() throws {
        var worst = 0.0
        for seed in UInt64(0)..<30 {
            for shape in 0..<7 {
                for n in [1, 2, 3, 10, 101, 1000, 20_000] {
                    let v = values(n, shape: shape, seed: seed * 31 + UInt64(n))
                    let s = sketch(v)
                    let sorted = v.sorted()
                    XCTAssertEqual(s.count, Int64(n))
                    for q in Self.qs {
                        let expected = truth(sorted, q)
                        let got = try XCTUnwrap(try s.quantile(q))
                        let error = expected == 0 ? abs(got) : abs(got - expected) / abs(expected)
                        worst = max(worst, error)
                        XCTAssertLessThanOrEqual(error, QuantileSketch.relativeAccuracy + 1e-12,
                                                 "seed \(seed) shape \(shape) n \(n) q \(q): \(got) for \(expected)")
                    }
                }
            }
        }
        print("quantile: worst relative error \(worst)")
    }

    func testEmptyNaNAndOutOfRange() throws {
        var s = QuantileSketch()
        XCTAssertNil(try s.quantile(0.5))
        XCTAssertEqual(s.count, 0)
        s.add(.nan)
        s.add(.infinity)
        s.add(-.infinity)
        XCTAssertEqual(s.count, 0)
        XCTAssertFalse(QuantileSketch.accepts(.infinity))
        XCTAssertTrue(QuantileSketch.accepts(-1e308))
        s.add(.greatestFiniteMagnitude)
        s.add(-.greatestFiniteMagnitude)
        s.add(.leastNonzeroMagnitude)   // counts as zero
        XCTAssertEqual(try s.quantile(0)!, -.greatestFiniteMagnitude, accuracy: .greatestFiniteMagnitude * 0.01)
        XCTAssertEqual(try s.quantile(0.5), 0)
        XCTAssertEqual(try s.quantile(1)!, .greatestFiniteMagnitude, accuracy: .greatestFiniteMagnitude * 0.01)
        for q in [-0.01, 1.01, .nan, .infinity] {
            assertShardError(try s.quantile(q), "the quantile must be a number from 0 to 1")
        }
        // The smallest magnitude kept is a normal double and answers within 1%.
        var tiny = QuantileSketch()
        tiny.add(QuantileSketch.minMagnitude)
        XCTAssertEqual(try tiny.quantile(0.5)!, QuantileSketch.minMagnitude, accuracy: QuantileSketch.minMagnitude * 0.01)
        XCTAssertTrue(try tiny.quantile(0.5)!.isNormal)
    }

    func testMergeIsTheSketchOfTheUnionInAnyOrder() throws {
        for seed in UInt64(0)..<20 {
            for (shapeA, shapeB) in [(0, 1), (2, 4), (5, 6), (2, 2), (1, 3)] {
                let a = values(Int(seed % 7) * 300, shape: shapeA, seed: seed)
                let b = values(1000, shape: shapeB, seed: seed + 500)
                // b's values far above a's fold a's lowest bins: the union folds them the same way.
                let scaled = b.map { $0 * 1e15 }
                for right in [b, scaled] {
                    let expected = sketch(a + right)
                    var ab = sketch(a)
                    ab.merge(sketch(right))
                    var ba = sketch(right)
                    ba.merge(sketch(a))
                    XCTAssertEqual(ab, expected)
                    XCTAssertEqual(ba, expected)
                    XCTAssertEqual(ab.serialized(), expected.serialized())
                    XCTAssertEqual(try ab.quantile(0.5), try expected.quantile(0.5))
                }
            }
        }
    }

    func testFoldingLosesOnlyTheLowestBins() throws {
        // Values from 1e-20 to 1e20 need more bins than a store keeps.
        let v = (0...4000).map { pow(10, Double($0) / 100 - 20) }
        let s = sketch(v)
        let sorted = v.sorted()
        let span = pow(QuantileSketch.gamma, Double(QuantileSketch.binLimit - 1))
        for q in stride(from: 0.0, through: 1.0, by: 0.01) {
            let expected = truth(sorted, q)
            let got = try s.quantile(q)!
            if expected * span > sorted.last! * 1.05 {
                XCTAssertEqual(got, expected, accuracy: expected * 0.01, "q \(q)")
            } else if expected * span * 1.05 < sorted.last! {
                // Folded: the answer is the lowest kept bin, above the true value.
                XCTAssertGreaterThan(got, expected, "q \(q)")
                XCTAssertEqual(got, sorted.last! / span, accuracy: sorted.last! / span * 0.03, "q \(q)")
            }
        }
        XCTAssertLessThanOrEqual(s.serialized().count, 8 + 3 * QuantileSketch.binLimit + 20)
    }

    func testStatesRoundTrip() throws {
        for shape in 0..<7 {
            for n in [0, 1, 50, 5000] {
                let s = sketch(values(n, shape: shape, seed: UInt64(shape)))
                let bytes = s.serialized()
                let back = try bytes.withUnsafeBytes { try QuantileSketch(serialized: $0) }
                XCTAssertEqual(back, s)
                XCTAssertEqual(back.serialized(), bytes)
                XCTAssertEqual(back.count, s.count)
                for q in Self.qs { XCTAssertEqual(try back.quantile(q), try s.quantile(q)) }
            }
        }
    }

    func testBadBytesAreNotAState() throws {
        for n in [0, 5, 2000] {
            let bytes = sketch(values(n, shape: 4, seed: 1)).serialized()
            for i in 0..<bytes.count {
                var bad = bytes
                bad[i] ^= 0x08
                let expected = i == 2 ? "shards quantile state version" : "not a shards quantile state"
                assertShardError(try bad.withUnsafeBytes { try QuantileSketch(serialized: $0) }, expected)
            }
            for cut in 0..<bytes.count {
                assertShardError(try Array(bytes[..<cut]).withUnsafeBytes { try QuantileSketch(serialized: $0) }, "not a shards quantile state")
            }
        }
        let distinct = DistinctSketch().serialized()
        assertShardError(try distinct.withUnsafeBytes { try QuantileSketch(serialized: $0) }, "not a shards quantile state")
        // Checksummed but malformed: an empty bin, bins out of order, too wide, a count past Int64.
        func state(_ body: (inout SketchCoding.Writer) -> Void) -> [UInt8] {
            var w = SketchCoding.Writer(magic: QuantileSketch.magic, version: QuantileSketch.version, capacity: 0)
            body(&w)
            return w.finish()
        }
        let malformed = [
            state { $0.varint(0); $0.varint(1); $0.signedVarint(3); $0.varint(0); $0.varint(0) },
            state { $0.varint(0); $0.varint(2); $0.signedVarint(3); $0.varint(1); $0.varint(0); $0.varint(1); $0.varint(0) },
            state { $0.varint(0); $0.varint(2); $0.signedVarint(3); $0.varint(1); $0.varint(UInt64(QuantileSketch.binLimit)); $0.varint(1); $0.varint(0) },
            state { $0.varint(UInt64(Int64.max)); $0.varint(1); $0.signedVarint(3); $0.varint(1); $0.varint(0) },
            state { $0.varint(0); $0.varint(1); $0.signedVarint(40_000); $0.varint(1); $0.varint(0) },
            state { $0.varint(0); $0.varint(0) },
            state { $0.varint(0); $0.varint(0); $0.varint(0); $0.byte(0) },
        ]
        for bad in malformed {
            assertShardError(try bad.withUnsafeBytes { try QuantileSketch(serialized: $0) }, message: "shards: not a shards quantile state")
        }
        XCTAssertNoThrow(try state { $0.varint(2); $0.varint(1); $0.signedVarint(-3); $0.varint(7); $0.varint(0) }
            .withUnsafeBytes { try QuantileSketch(serialized: $0) })
    }

    func testStateSizes() {
        var report: [String] = []
        for (shape, name) in [(1, "durations"), (0, "uniform"), (2, "17 decades")] {
            for n in [1, 10, 100, 1000, 10_000, 100_000] {
                let size = sketch(values(n, shape: shape, seed: 5)).serialized().count
                report.append("\(name) \(n): \(size) B")
                XCTAssertLessThanOrEqual(size, 8 + 3 * 2 * QuantileSketch.binLimit + 20)
                XCTAssertLessThanOrEqual(size, 12 + 4 * n)
            }
        }
        print("quantile state sizes: " + report.joined(separator: ", "))
    }
}

/// Random bodies behind a valid header and checksum: a state is refused or read,
/// never trapped on, and a state that is read is read again from its own bytes.
final class SketchStateFuzzTests: XCTestCase {
    func testRandomBodiesAreRefusedOrReadBack() {
        var g = SplitMix(seed: 77)
        var read = 0
        for i in 0..<20_000 {
            let n = Int(g.next() % 40)
            var body = (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            // Small numbers make more of them readable.
            if i % 2 == 0 { body = body.map { $0 & 0x07 } }
            if i % 4 == 0 { body.insert(UInt8(g.next() % 3), at: 0) }
            let distinct = state(DistinctSketch.magic, DistinctSketch.version, body)
            if let s = try? distinct.withUnsafeBytes({ try DistinctSketch(serialized: $0) }) {
                read += 1
                _ = s.estimate
                XCTAssertEqual(try s.serialized().withUnsafeBytes { try DistinctSketch(serialized: $0) }, s)
            }
            let quantile = state(QuantileSketch.magic, QuantileSketch.version, body)
            if let s = try? quantile.withUnsafeBytes({ try QuantileSketch(serialized: $0) }) {
                read += 1
                _ = try? s.quantile(0.5)
                XCTAssertEqual(try s.serialized().withUnsafeBytes { try QuantileSketch(serialized: $0) }, s)
            }
        }
        XCTAssertGreaterThan(read, 100, "the fuzzing reached the readers' insides")
        print("sketch state fuzzing: \(read) of 40000 random states read")
    }

    private func state(_ magic: [UInt8], _ version: UInt8, _ body: [UInt8]) -> [UInt8] {
        var w = SketchCoding.Writer(magic: magic, version: version, capacity: body.count)
        for b in body { w.byte(b) }
        return w.finish()
    }
}
