import CShardShim
import ShardCore

// shard_storage(collection, 'text' | 'jsonb'): every document rewritten in the other
// storage, in the caller's transaction. It is how a JSONB collection made by a newer
// SQLite becomes readable by one older than 3.45.
//
// - Hot and sealed shards: each document is rewritten in its table (`json(doc)` or
//   `jsonb(doc)`); the functional indexes follow. Text that was JSONB comes back
//   minified, as json() writes it.
// - Compressed shards: their blocks hold JSON text whatever the storage (what a read
//   returns), so there is nothing to rewrite and they are not counted.
// - Archived shards: their rows sit in other database files, which cannot join the
//   caller's transaction; a collection with any is refused, rather than left with
//   documents its reads would take for the other storage.
//
// The config's `storage` row changes with the rows. Other connections see it move
// when they next catch up (`reload`), and a ROLLBACK takes both back.
extension ShardedCollection {
    /// Rewrites every document of the collection in `target` storage and records it;
    /// returns the rows rewritten (0 when the collection stores that way already).
    func changeStorage(to target: String) throws -> Int64 {
        let toJSONB: Bool
        switch target.lowercased() {
        case "text": toJSONB = false
        case "jsonb": toJSONB = true
        default: throw ShardError("bad storage '\(target)'; valid: text, jsonb")
        }
        if toJSONB && sqliteVersionNumber < ShardedCollection.jsonbVersion {
            throw ShardError("storage jsonb needs SQLite 3.45.0 or newer; this SQLite is \(sqliteVersion)")
        }
        return try lifecycle("shards_change_storage") { () -> Int64 in
            let archived = catalog.shards.filter { $0.file != nil && !$0.isRetired }
            if !archived.isEmpty {
                let files = Set(archived.compactMap(\.file)).sorted().joined(separator: ", ")
                throw ShardError("'\(name)' has \(archived.count) archived shard(s) (in \(files)); "
                    + "shard_storage cannot rewrite archive files inside your transaction, so it changes only "
                    + "collections without archived shards")
            }
            guard toJSONB != jsonb else { return 0 }
            let rewrite = toJSONB ? "jsonb(doc)" : "json(doc)"
            let live = catalog.shards.filter(\.isLive)
            statements.forgetShardStatements()
            let rows = try inSavepoint("shards_storage") { () -> Int64 in
                var total: Int64 = 0
                for s in live {
                    try db.exec("UPDATE \(qualified(s.tableName)) SET doc = \(rewrite)")
                    total += db.changes
                }
                try store.setStorage(toJSONB ? "jsonb" : "text")
                return total
            }
            setLayout(ColumnLayout(indexes: options.indexes, added: Array(columns.indexes[columns.declaredCount...]),
                                   jsonb: toJSONB))
            return rows
        }
    }
}
