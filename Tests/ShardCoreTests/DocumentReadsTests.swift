import XCTest
@testable import ShardCore

/// One scanner pass for several readers (placement, then each rollup fed by an
/// insert) gives each reader what a pass over its own paths gives.
final class DocumentReadsTests: XCTestCase {
    private func paths(_ texts: [String]) -> [JSONPath] { texts.map { try! JSONPath(parsing: $0) } }

    private func scan(_ doc: String, _ paths: [JSONPath]) -> [ScannedValue]? {
        Array(doc.utf8).withUnsafeBytes { DocumentScanner.scan($0, paths: paths) }
    }

    func testFirstPathsKeepTheirPlacesAndEachPathIsReadOnce() {
        var reads = DocumentReads(first: paths(["$.ts", "$.kind"]))
        let a = reads.add(paths(["$.type", "$.dur", "$.dur", "$.dur"]))
        let b = reads.add(paths(["$.kind", "$.dur", "$.user"]))
        XCTAssertEqual(reads.paths, paths(["$.ts", "$.kind", "$.type", "$.dur", "$.user"]))
        XCTAssertEqual(reads.positions(of: a), [2, 3, 3, 3])
        XCTAssertEqual(reads.positions(of: b), [1, 3, 4])
        XCTAssertEqual(reads.count, 2)
        var none = DocumentReads(first: [])
        let c = none.add(paths(["$.a", "$.a"]))
        XCTAssertEqual(none.positions(of: c), [0, 0])
    }

    /// Every reader's values out of the shared pass, when it answers, are those of a
    /// pass over the reader's own paths (when that answers too).
    private func checkShared(_ doc: String, _ lists: [[JSONPath]], file: StaticString = #filePath, line: UInt = #line) -> Bool {
        var reads = DocumentReads(first: lists[0])
        for list in lists.dropFirst() { reads.add(list) }
        guard let shared = scan(doc, reads.paths) else { return false }
        for (k, list) in lists.enumerated() {
            let positions = k == 0 ? Array(list.indices) : reads.positions(of: k - 1)
            if let own = scan(doc, list) {
                XCTAssertEqual(positions.map { shared[$0] }, own, "\(doc) \(list.map(\.text))", file: file, line: line)
            }
        }
        return true
    }

    func testSharedPassGivesEachReaderItsOwnValues() {
        let lists = [paths(["$.ts"]), paths(["$.type", "$.dur", "$.dur"]), paths(["$.a.b", "$.a", "$.type"])]
        let docs = [
            #"{"ts":1,"type":"view","user":7,"dur":12.5,"a":{"b":[1,2]}}"#,
            #"{"type":"x","type":"y","ts":2.5,"dur":null,"a":{"c":1,"b":"t"}}"#,
            #"{"a":[1],"ts":"2024-01-01","dur":-0,"type":true}"#,
            #"{"dur":1e3,"ts":3}"#,
            #"{"ts":1,"type":"plain","dur":{"x":1},"t\u0079pe":"esc"}"#,
        ]
        for doc in docs { XCTAssertTrue(checkShared(doc, lists), doc) }
        // A key that unescapes to a rollup's: the shared pass gives up where placement's
        // own would not (InsertScan then scans for placement alone).
        let escaped = #"{"t\u0079pe":"esc","type":"plain","ts":1,"dur":2}"#
        XCTAssertFalse(checkShared(escaped, lists))
        XCTAssertEqual(scan(escaped, lists[0]), [.integer(1)])
    }

    func testSharedPassOverGeneratedDocuments() {
        var rng = SystemRandomNumberGenerator()
        let keys = ["ts", "type", "dur", "a", "b", "t\\u0079pe"]
        func value(_ depth: Int) -> String {
            switch Int.random(in: 0..<(depth < 2 ? 9 : 7), using: &rng) {
            case 0: return "null"
            case 1: return Bool.random(using: &rng) ? "true" : "false"
            case 2: return String(Int.random(in: -1000...1000, using: &rng))
            case 3: return String(Double.random(in: -100...100, using: &rng))
            case 4: return #""s\#(Int.random(in: 0..<3, using: &rng))""#
            case 5: return #""\u00e9\n""#
            case 6: return "[]"
            case 7: return "[" + (0..<Int.random(in: 1...3, using: &rng)).map { _ in value(depth + 1) }.joined(separator: ",") + "]"
            default: return object(depth + 1)
            }
        }
        func object(_ depth: Int) -> String {
            "{" + (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                "\"\(keys.randomElement(using: &rng)!)\": \(value(depth))"
            }.joined(separator: ", ") + "}"
        }
        let lists = [paths(["$.ts", "$.b"]), paths(["$.type", "$.dur", "$.a.b", "$.a[1]"]),
                     paths(["$.a", "$.dur", "$.b.a"])]
        var answered = 0
        for _ in 0..<2_000 where checkShared(object(0), lists) { answered += 1 }
        XCTAssertGreaterThan(answered, 500)
    }
}
