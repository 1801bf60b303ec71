import XCTest
@testable import ShardCore

final class LRUOrderTests: XCTestCase {
    func testEvictsInOrderOfLastUse() {
        var lru = LRUOrder<String>()
        for k in ["a", "b", "c", "d"] { lru.use(k) }
        lru.use("a")
        lru.remove("c")
        XCTAssertEqual(lru.count, 3)
        XCTAssertFalse(lru.contains("c"))
        XCTAssertEqual(lru.popOldest(), "b")
        lru.use("e")
        XCTAssertEqual(lru.popOldest(), "d")
        XCTAssertEqual(lru.popOldest(), "a")
        XCTAssertEqual(lru.popOldest(), "e")
        XCTAssertNil(lru.popOldest())
        XCTAssertEqual(lru.count, 0)
    }

    func testMatchesASimpleModelUnderRandomUse() {
        var lru = LRUOrder<Int>()
        var model: [Int] = []   // oldest first
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let k = Int.random(in: 0..<50, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                lru.remove(k)
                model.removeAll { $0 == k }
            case 1:
                let got = lru.popOldest()
                XCTAssertEqual(got, model.first)
                if !model.isEmpty { model.removeFirst() }
            default:
                lru.use(k)
                model.removeAll { $0 == k }
                model.append(k)
            }
            XCTAssertEqual(lru.count, model.count)
        }
    }
}

final class UpkeepPacerTests: XCTestCase {
    func testStepsArePaidForByWrites() {
        var p = UpkeepPacer()
        XCTAssertFalse(p.pending)
        p.due()
        XCTAssertTrue(p.pending)
        XCTAssertTrue(p.wrote(), "the first write after a new period runs a step")
        p.spent(rows: 800)
        let waits = (0..<1000).firstIndex { _ in p.wrote() }!
        XCTAssertEqual(waits, Int(UpkeepPacer.writesPerStep + 800 / UpkeepPacer.rowsPerWrite))
        p.spent(rows: 0)
        XCTAssertEqual((0..<1000).firstIndex { _ in p.wrote() }!, Int(UpkeepPacer.writesPerStep))
        p.done()
        XCTAssertFalse(p.pending)
    }
}
