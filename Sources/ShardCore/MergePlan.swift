/// Merging finished shards (README, "Merging finished shards"): which tables fold into which.
///
/// A table's period is finished once `cut` (per category) is at or past its end: for
/// `merge = auto` the start of the newest period written (`cutForData`), for
/// `shard_merge(collection, before)` the time `before`. Each live table goes to the
/// coarsest finished period of its merge levels (`Partition.mergeLevels`: the splits
/// of an hour, then hours into their day, days into their month). There the tables of
/// one category and period are packed, oldest first, into that period's merged tables
/// (seq 0: `000`, `000b`, ...), each holding at most `mergeRows` rows. Existing merged
/// tables with room take rows first; a table holding more than half of `mergeRows`
/// stays as it is, so a big table is never copied for little gain, and a period
/// whose only table would be copied alone into a new one is left alone.
///
/// `isOpen` says which shards still take rows (the newest of their line, with room).
/// Such a shard of a finished period may be receiving late documents; it waits one or
/// two periods more (see below).
public enum MergePlan {
    public enum Target {
        case existing(ShardInfo)
        case new(ShardKey, Period)

        public var keyText: String {
            switch self {
            case .existing(let s): return s.keyText
            case .new(let k, _): return k.text
            }
        }
    }

    /// Sources, oldest first, that go into one target.
    public struct Group {
        public let target: Target
        public let sources: [ShardInfo]

        public var rows: Int64 { sources.reduce(0) { $0 + $1.rows } }
    }

    /// The merges due, oldest period first. `shards` are every table of the collection
    /// (any state: merged keys already taken are never handed out again).
    public static func plan(shards: [ShardInfo], collection: String, mergeRows: Int64,
                            isOpen: (ShardInfo) -> Bool = { _ in false }, cut: (String?) -> Int64?) -> [Group] {
        struct Place: Hashable { let category: String?; let label: String }
        var sources: [Place: [ShardInfo]] = [:]
        var targets: [Place: [ShardInfo]] = [:]
        var periods: [Place: Period] = [:]
        var lastPart: [Place: Int] = [:]
        for s in shards where s.key.isMerged {
            let place = Place(category: s.key.category, label: s.key.period)
            lastPart[place] = max(lastPart[place] ?? -1, s.key.part)
        }
        // Live shards per line, counted when first needed (most plans find no open
        // shard with a finished target).
        var counted: [ShardKey.Line: Int]?
        func liveInLine(_ line: ShardKey.Line) -> Int {
            if counted == nil {
                counted = [:]
                for s in shards where s.isLive && !s.key.isMerged { counted![s.key.lineKey, default: 0] += 1 }
            }
            return counted![line] ?? 0
        }
        for s in shards where s.isLive {
            guard let cut = cut(s.key.category), !s.mergeLevels.isEmpty else { continue }
            let level = s.mergeLevels[0].level
            var target: (level: Partition, period: Period)?
            for (l, p) in s.mergeLevels {
                if let end = p.end, end <= cut { target = (l, p) } else { break }
            }
            guard let (targetLevel, period) = target else { continue }
            // A shard still taking rows waits until the period after its own ended too;
            // one made for late rows after its line merged (alone in its line, seq > 1)
            // until two periods after its target, so late rows gather instead of each
            // making a shard that is merged at once.
            if isOpen(s), let ownEnd = s.period.end, let targetEnd = period.end {
                let late = s.key.seq > 1 && liveInLine(s.key.lineKey) == 1
                let waitUntil = late
                    ? targetLevel.period(containing: targetLevel.period(containing: targetEnd).end ?? .max).end
                    : level.period(containing: ownEnd).end
                if (waitUntil ?? .max) > cut { continue }
            }
            let place = Place(category: s.key.category, label: period.label)
            periods[place] = period
            if targetLevel == level && s.key.isMerged {
                if s.rows < mergeRows { targets[place, default: []].append(s) }
            } else if s.rows <= mergeRows / 2 {
                sources[place, default: []].append(s)
            }
        }
        var out: [(start: Int64, group: Group)] = []
        for (place, list) in sources {
            let into = (targets[place] ?? []).sorted { $0.key.part < $1.key.part }
            if into.isEmpty && list.count == 1 { continue }
            let period = periods[place]!
            var nextPart = (lastPart[place] ?? -1) + 1
            var open: (target: Target, rows: Int64, sources: [ShardInfo])?
            var nextExisting = 0
            func close() {
                guard let o = open, !o.sources.isEmpty else { return }
                if case .new = o.target, o.sources.count == 1 { return }
                out.append((period.start ?? .min, Group(target: o.target, sources: o.sources)))
            }
            for s in list.sorted(by: { ($0.period.start ?? .min, $0.number) < ($1.period.start ?? .min, $1.number) }) {
                while open == nil || open!.rows + s.rows > mergeRows {
                    close()
                    if nextExisting < into.count {
                        open = (.existing(into[nextExisting]), into[nextExisting].rows, [])
                        nextExisting += 1
                    } else {
                        let key = ShardKey.merged(collection: collection, category: place.category,
                                                  period: place.label, part: nextPart)
                        nextPart += 1
                        open = (.new(key, period), 0, [])
                    }
                }
                open!.sources.append(s)
                open!.rows += s.rows
            }
            close()
        }
        return out.sorted { ($0.start, $0.group.target.keyText) < ($1.start, $1.group.target.keyText) }.map(\.group)
    }

    /// `merge = auto`'s finish line for each category: the start of its newest period,
    /// where a period that starts after the wall clock's current one (`nowPeriodStart`)
    /// never counts as newest (the guard `retain` has too).
    public static func cutForData(shards: [ShardInfo], nowPeriodStart: Int64) -> [String?: Int64] {
        var cut: [String?: Int64] = [:]
        for s in shards {
            guard let start = s.period.start, start <= nowPeriodStart else { continue }
            cut[s.key.category] = max(cut[s.key.category] ?? .min, start)
        }
        return cut
    }
}
