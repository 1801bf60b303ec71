/// Items grouped where their inclusive ranges overlap or touch: the groups an ordered
/// scan reads one after the other, merging the items of a group. Groups come in order
/// of their ranges (each group's range is the union of its items', and the groups'
/// ranges are disjoint); items within a group in order of their lower bounds.
///
/// Ranges that only touch share a value, and rows equal on it are ordered by id, so
/// they are merged too. Any range that meets a group's union belongs to that group:
/// a reader may select a group's items by that union alone.
public func overlapGroups<T>(_ items: [T], bounds: (T) -> (lo: Int64, hi: Int64)) -> [[T]] {
    var groups: [[T]] = []
    var groupHi = Int64.min
    for item in items.sorted(by: { bounds($0).lo < bounds($1).lo }) {
        let (lo, hi) = bounds(item)
        if groups.isEmpty || lo > groupHi {
            groups.append([item])
            groupHi = hi
        } else {
            groups[groups.count - 1].append(item)
            groupHi = max(groupHi, hi)
        }
    }
    return groups
}
