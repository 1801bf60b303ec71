/// What the catalog's `state` column says of a shard.
public enum ShardState: String, CaseIterable, Sendable {
    /// Live: holds its rows uncompressed in the collection's database and takes inserts
    /// while it has room.
    case hot
    /// Dropped (by shard_drop or retain) but its table not removed yet: SQLite drops a
    /// table only while no other statement runs, so the catalog marks it first and
    /// the table goes at the next chance. Readers, listings and counts skip it.
    case retired
    /// Retired after compression: the table left to drop is its blocks table.
    case retiredCompressed = "retired-compressed"
    /// Moved into an archive file (the catalog's `file`): read from there, never written.
    case archived
    /// Rewritten into compressed blocks (table `ShardInfo.blocksTable`): read-only.
    case compressed
    /// Folded into another table by a merge (README, "Merging finished shards"; the catalog's `merged_into`): only
    /// its key and number remain, so its ids find that table and its seq is never reused.
    case merged
}
