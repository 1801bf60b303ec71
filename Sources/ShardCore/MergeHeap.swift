/// A binary heap for a k-way merge: the element first in the merge's order is on top.
/// The order is not stored but given to each call (`before`), so the owner can compare
/// what the elements name (a scan's streams, compared on their current rows) without
/// a closure kept alive or a key copied out. Its storage keeps its capacity: pushing,
/// replacing and popping the top allocate nothing once it has held its most elements.
public struct MergeHeap<Element> {
    @usableFromInline var elements: [Element] = []

    public init() {}

    @inlinable public var isEmpty: Bool { elements.isEmpty }
    @inlinable public var count: Int { elements.count }
    /// The first element in the merge's order.
    @inlinable public var top: Element? { elements.first }
    /// Every element, in no particular order.
    @inlinable public var all: [Element] { elements }

    @inlinable @inline(__always) public mutating func push(_ element: Element, by before: (Element, Element) -> Bool) {
        elements.append(element)
        var i = elements.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(elements[i], elements[parent]) else { return }
            elements.swapAt(i, parent)
            i = parent
        }
    }

    /// The top's place after its key moved on (its stream stepped to its next row).
    @inlinable @inline(__always) public mutating func topMoved(by before: (Element, Element) -> Bool) {
        siftDown(from: 0, by: before)
    }

    /// Removes and returns the top.
    @inlinable @inline(__always) @discardableResult
    public mutating func popTop(by before: (Element, Element) -> Bool) -> Element? {
        guard let first = elements.first else { return nil }
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            siftDown(from: 0, by: before)
        }
        return first
    }

    /// Empties the heap, keeping its storage.
    @inlinable public mutating func removeAll() { elements.removeAll(keepingCapacity: true) }

    @inlinable @inline(__always) mutating func siftDown(from start: Int, by before: (Element, Element) -> Bool) {
        let n = elements.count
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < n && before(elements[l], elements[best]) { best = l }
            if r < n && before(elements[r], elements[best]) { best = r }
            if best == i { return }
            elements.swapAt(i, best)
            i = best
        }
    }
}
