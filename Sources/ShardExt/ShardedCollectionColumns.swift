import CShardShim
import ShardCore

// Columns added after CREATE: ensure_json_index(collection, 'name: $.path [type]').
//
// The column is recorded in the config (`column:<name>`), and the vtab declares the
// declared columns and the recorded ones at every xConnect (`declareColumns`). SQLite
// connects again after a schema change, so the change is announced as one:
// - other connections: an index on the config table, made for the column, changes
//   the schema cookie in the caller's transaction (even when every shard had the
//   path's index already), so their next statement reads the schema again;
// - this connection: its in-memory schema follows its own changes without reading
//   the file again, so `PRAGMA writable_schema = RESET` drops it first, and its next
//   statement reads it afresh, with the uncommitted column.
// A ROLLBACK takes the row and the index back; SQLite then reads the schema again
// (the cookie moved back) and the column is gone.
extension ShardedCollection {
    /// ensure_json_index with `name: path [type]`: the path's index on every shard,
    /// and the column. The same column again changes nothing; returns the shards that
    /// gained the index.
    func ensureColumn(_ spec: IndexSpec) throws -> Int64 {
        try lifecycle("shards_ensure_column") { () -> Int64 in
            // The columns as the config lists them now (another connection may have added
            // some since this one connected).
            let added = try store.addedColumns().compactMap { try? IndexSpec(parsing: $0) }
            let existing = options.indexes + added
            let name = spec.name.lowercased()
            if let same = existing.first(where: { $0.name.lowercased() == name }) {
                guard same.path == spec.path && same.type == spec.type else {
                    throw ShardError("column '\(same.name)' exists already, as '\(same.text)'; "
                        + "give the new column another name")
                }
                return try ensureIndex(spec.path)
            }
            if let other = existing.first(where: { $0.path == spec.path }) {
                throw ShardError("path '\(spec.path.text)' is column '\(other.name)' already; "
                    + "a path has one column")
            }
            return try inSavepoint("shards_column") {
                let gained = try ensureIndex(spec.path)
                try store.recordColumn(name: spec.name, spec: spec.text)
                try announceSchemaChange(column: spec.name)
                return gained
            }
        }
    }

    /// Makes every connection, this one included, read the schema again at its next
    /// statement (see the note above).
    private func announceSchemaChange(column: String) throws {
        let writable = (try db.scalarInt("PRAGMA writable_schema") ?? 0) != 0
        try db.exec("PRAGMA writable_schema = RESET")
        if writable { try db.exec("PRAGMA writable_schema = ON") }
        let config = name + "_config"
        try db.exec("CREATE INDEX \(qualified(config + "_column_" + column)) ON \(SQLText.identifier(config))(key)"
                    + " WHERE key = \(SQLText.literal("column:" + column))")
    }
}
