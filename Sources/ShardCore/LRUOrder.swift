/// Keys in order of last use, with O(1) use, removal and eviction of the oldest: a
/// doubly linked list threaded through an array, found by a dictionary.
public struct LRUOrder<Key: Hashable> {
    private struct Node {
        var key: Key?
        var older = -1
        var newer = -1
    }

    private var nodes: [Node] = []
    private var free: [Int] = []
    private var slot: [Key: Int] = [:]
    private var oldest = -1
    private var newest = -1

    public init() {}

    public var count: Int { slot.count }

    public func contains(_ key: Key) -> Bool { slot[key] != nil }

    /// Makes `key` the most recently used, adding it when absent.
    public mutating func use(_ key: Key) {
        if let i = slot[key] {
            guard i != newest else { return }
            unlink(i)
            link(i)
            return
        }
        let i: Int
        if let f = free.popLast() {
            i = f
            nodes[i] = Node(key: key)
        } else {
            i = nodes.count
            nodes.append(Node(key: key))
        }
        slot[key] = i
        link(i)
    }

    public mutating func remove(_ key: Key) {
        guard let i = slot.removeValue(forKey: key) else { return }
        unlink(i)
        nodes[i] = Node()
        free.append(i)
    }

    /// Removes and returns the least recently used key.
    public mutating func popOldest() -> Key? {
        guard oldest >= 0, let key = nodes[oldest].key else { return nil }
        remove(key)
        return key
    }

    public mutating func removeAll() {
        self = LRUOrder()
    }

    private mutating func unlink(_ i: Int) {
        let (o, n) = (nodes[i].older, nodes[i].newer)
        if o >= 0 { nodes[o].newer = n } else { oldest = n }
        if n >= 0 { nodes[n].older = o } else { newest = o }
        nodes[i].older = -1
        nodes[i].newer = -1
    }

    private mutating func link(_ i: Int) {
        nodes[i].older = newest
        nodes[i].newer = -1
        if newest >= 0 { nodes[newest].newer = i } else { oldest = i }
        newest = i
    }
}
