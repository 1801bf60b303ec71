import XCTest
@testable import ShardCore

/// The "shards: " prefix is the boundary's: a reason never carries it twice.
final class ShardErrorTests: XCTestCase {
    func testThePrefixIsPutOnOnce() {
        XCTAssertEqual(ShardError("no such collection: e").message, "shards: no such collection: e")
        XCTAssertEqual(ShardError("no such collection: e").reason, "no such collection: e")
    }

    func testNestingKeepsOnePrefix() {
        let inner = ShardError("bad time 'x'")
        XCTAssertEqual(inner.within("unreadable time at $.ts").message, "shards: unreadable time at $.ts: bad time 'x'")
        XCTAssertEqual(ShardError("bad JSON path").within("option time").within("index").message,
                       "shards: index: option time: bad JSON path")
    }
}
