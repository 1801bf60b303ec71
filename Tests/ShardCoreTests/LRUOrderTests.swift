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
        p.wrote()
        XCTAssertFalse(p.mayStep, "nothing due")
        p.due()
        XCTAssertTrue(p.mayStep, "the first write after a new period runs a step")
        // Small steps: several to a write.
        var steps = 0
        while p.mayStep { p.spent(rows: 0); steps += 1 }
        XCTAssertEqual(steps, Int(UpkeepPacer.rowsPerWrite / UpkeepPacer.minimumStepCost))
        // A large step: the writes after it wait.
        p.wrote()
        p.spent(rows: 800)
        var waits = 0
        while !p.mayStep { p.wrote(); waits += 1 }
        XCTAssertEqual(waits, Int(800 / UpkeepPacer.rowsPerWrite))
        p.done()
        XCTAssertFalse(p.mayStep)
    }

    func testAFlushPaysForItsRowsAndNoMore() {
        var p = UpkeepPacer()
        p.due()
        p.spent(rows: 100)
        // A flush of 20 rows pays what 20 writes would: 160 rows of upkeep...
        p.wrote(rows: 20)
        XCTAssertTrue(p.mayStep)
        var worked: Int64 = 0
        while p.mayStep { p.spent(rows: 10); worked += 10 }
        XCTAssertEqual(worked, 20 * UpkeepPacer.rowsPerWrite - 100)
        // ...and nothing is banked for later: a second flush starts from its own rows.
        var q = UpkeepPacer()
        q.due()
        q.wrote(rows: 1000)
        q.wrote(rows: 2)
        worked = 0
        while q.mayStep { q.spent(rows: 2); worked += 2 }
        XCTAssertEqual(worked, 2 * UpkeepPacer.rowsPerWrite)
    }
}
