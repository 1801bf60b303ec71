import ShardCore
import XCTest

final class BlockTests: XCTestCase {
    func testRowsRoundTripAndMalformedBlocksAreErrors() throws {
        var w = Block.Writer()
        let docs = ["{\"a\":1}", "{}", "{\"b\":\"é\"}"]
        for (i, d) in docs.enumerated() {
            var d = d
            d.withUTF8 { w.append(id: Int64(100 + i), ts: Int64(-5 + i), document: UnsafeRawBufferPointer($0)) }
        }
        XCTAssertEqual(w.count, 3)
        try w.bytes.withUnsafeBytes { buffer in
            var r = try Block.Reader(buffer)
            var seen: [(Int64, Int64, String)] = []
            while let row = try r.next() { seen.append((row.id, row.ts, String(decoding: row.document, as: UTF8.self))) }
            XCTAssertEqual(seen.map(\.0), [100, 101, 102])
            XCTAssertEqual(seen.map(\.1), [-5, -4, -3])
            XCTAssertEqual(seen.map(\.2), docs)
        }
        // Cut anywhere after the header: an error, never a read past the end.
        for cut in 8..<w.bytes.count {
            try Array(w.bytes[..<cut]).withUnsafeBytes { buffer in
                var r = try Block.Reader(buffer)
                XCTAssertThrowsError(try { while try r.next() != nil {} }())
            }
        }
        XCTAssertThrowsError(try [UInt8]("NOPE\0\0\0\0".utf8).withUnsafeBytes { _ = try Block.Reader($0) })
    }

    func testFilterSaysNoOnlyWhenSure() {
        var b = BlockFilter.Builder(paths: ["$.type", "$.user.id"])
        let types = (0..<20).map { "type\($0)" }
        for t in types {
            var t = t
            t.withUTF8 { b.add(pathIndex: 0, .text(UnsafeRawBufferPointer($0))) }
        }
        for u in 0..<1000 { b.add(pathIndex: 1, .integer(Int64(u * 3))) }
        let filter = b.build()
        let typeHash = BlockFilter.pathHash("$.type"), userHash = BlockFilter.pathHash("$.user.id")
        filter.withUnsafeBytes { f in
            for t in types {
                var t = t
                XCTAssertTrue(t.withUTF8 { BlockFilter.mayContain(f, pathHash: typeHash, .text(UnsafeRawBufferPointer($0))) })
            }
            for u in 0..<1000 {
                XCTAssertTrue(BlockFilter.mayContain(f, pathHash: userHash, .integer(Int64(u * 3))))
                XCTAssertTrue(BlockFilter.mayContain(f, pathHash: userHash, .real(Double(u * 3))), "3.0 = 3 in SQLite")
            }
            let absent = (0..<1000).filter { !BlockFilter.mayContain(f, pathHash: userHash, .integer(Int64($0 * 3 + 1))) }
            XCTAssertGreaterThan(absent.count, 900, "few false positives")
            // A path the filter does not cover is always a maybe.
            XCTAssertTrue(BlockFilter.mayContain(f, pathHash: BlockFilter.pathHash("$.other"), .integer(1)))
        }
    }
}
