import ShardCore
import XCTest

final class MergeHeapTests: XCTestCase {
    func testPopsInOrder() {
        var rng = SystemRandomNumberGenerator()
        let values = (0..<500).map { _ in Int.random(in: -50...50, using: &rng) }
        var heap = MergeHeap<Int>()
        for v in values { heap.push(v, by: <) }
        XCTAssertEqual(heap.count, values.count)
        var out: [Int] = []
        while let v = heap.popTop(by: <) { out.append(v) }
        XCTAssertEqual(out, values.sorted())
        XCTAssertTrue(heap.isEmpty)
        XCTAssertNil(heap.popTop(by: <))
    }

    /// The cursor's use: elements name streams, the order compares their current rows,
    /// the top's stream steps on (`topMoved`) or ends (`popTop`).
    func testKWayMergeOfSortedStreamsWithTies() {
        let streams: [[(ts: Int, id: Int)]] = [
            [(1, 10), (4, 11), (4, 12), (9, 13)],
            [(0, 20), (4, 2), (5, 21)],
            [],
            [(4, 30), (8, 31)],
        ]
        for descending in [false, true] {
            let rows = streams.map { descending ? $0.reversed() : $0 }
            var position = Array(repeating: 0, count: rows.count)
            func before(_ a: Int, _ b: Int) -> Bool {
                let x = rows[a][position[a]], y = rows[b][position[b]]
                return descending ? (x.ts, x.id) > (y.ts, y.id) : (x.ts, x.id) < (y.ts, y.id)
            }
            var heap = MergeHeap<Int>()
            for s in rows.indices where !rows[s].isEmpty { heap.push(s, by: before) }
            var merged: [Int] = []
            while let s = heap.top {
                merged.append(rows[s][position[s]].id)
                position[s] += 1
                if position[s] < rows[s].count { heap.topMoved(by: before) } else { heap.popTop(by: before) }
            }
            let expected = streams.joined().sorted { ($0.ts, $0.id) < ($1.ts, $1.id) }.map(\.id)
            XCTAssertEqual(merged, descending ? expected.reversed() : expected)
        }
    }

    func testRemoveAllKeepsNothing() {
        var heap = MergeHeap<Int>()
        for v in [3, 1, 2] { heap.push(v, by: <) }
        XCTAssertEqual(heap.top, 1)
        XCTAssertEqual(heap.all.sorted(), [1, 2, 3])
        heap.removeAll()
        XCTAssertTrue(heap.isEmpty)
        XCTAssertNil(heap.top)
    }
}
