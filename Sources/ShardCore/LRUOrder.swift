/// Keys in order of last use, with O(1) use, removal and eviction of the oldest: a
/// doubly linked list threaded through an array, found by a dictionary. Inlinable,
/// so callers in other modules get it specialized for their key type: it sits on
/// the statement cache's path, twice per shard a scan visits.
public struct LRUOrder<Key: Hashable> {
    @usableFromInline struct Node {
        @usableFromInline var key: Key?
        @usableFromInline var older = -1
        @usableFromInline var newer = -1
        @inlinable init(key: Key? = nil) { self.key = key }
    }

    @usableFromInline var nodes: [Node] = []
    @usableFromInline var free: [Int] = []
    @usableFromInline var slot: [Key: Int] = [:]
    @usableFromInline var oldest = -1
    @usableFromInline var newest = -1

    @inlinable public init() {}

    @inlinable public var count: Int { slot.count }

    @inlinable public func contains(_ key: Key) -> Bool { slot[key] != nil }

    /// Makes `key` the most recently used, adding it when absent.
    @inlinable public mutating func use(_ key: Key) {
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

    @inlinable public mutating func remove(_ key: Key) {
        guard let i = slot.removeValue(forKey: key) else { return }
        unlink(i)
        nodes[i] = Node()
        free.append(i)
    }

    /// Removes and returns the least recently used key.
    @inlinable public mutating func popOldest() -> Key? {
        guard oldest >= 0, let key = nodes[oldest].key else { return nil }
        remove(key)
        return key
    }

    @inlinable public mutating func removeAll() {
        self = LRUOrder()
    }

    @inlinable mutating func unlink(_ i: Int) {
        let (o, n) = (nodes[i].older, nodes[i].newer)
        if o >= 0 { nodes[o].newer = n } else { oldest = n }
        if n >= 0 { nodes[n].older = o } else { newest = o }
        nodes[i].older = -1
        nodes[i].newer = -1
    }

    @inlinable mutating func link(_ i: Int) {
        nodes[i].older = newest
        nodes[i].newer = -1
        if newest >= 0 { nodes[newest].newer = i } else { oldest = i }
        newest = i
    }
}
