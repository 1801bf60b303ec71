/// Every statement that creates or drops a collection's data tables: shard tables and
/// their indexes, the block tables of compressed shards (`<table>-z`), and an archive
/// file's owner table. The catalog's own tables (`<c>_shards`, `<c>_config`) are
/// CatalogStore's. Names come from `ShardTableName`; this file says what the tables
/// hold, and the caller runs the text.
///
/// `schema` is the database holding the table: the collection's, or `main` of an
/// archive file. Names and paths are quoted here (`SQLText`), never by the caller.
public enum ShardSchema {
    // MARK: - shard tables

    /// One JSON path index of a shard table: its name and the path it indexes.
    public struct PathIndex: Equatable {
        public let name: String
        public let path: String
        public init(name: String, path: String) {
            self.name = name
            self.path = path
        }
    }

    /// A shard table, its `ts` index, and one index per path (`jsonb`: documents are
    /// stored as JSONB blobs, else as text).
    public static func createShard(schema: String, table: String, jsonb: Bool, indexes: [PathIndex]) -> String {
        let s = SQLText.identifier(schema) + "."
        let t = SQLText.identifier(table)
        var sql = "CREATE TABLE \(s)\(t)(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, doc \(jsonb ? "BLOB" : "TEXT") NOT NULL);"
        sql += "CREATE INDEX \(s)\(SQLText.identifier(table + "_ts")) ON \(t)(ts);"
        for index in indexes {
            sql += createPathIndex(schema: schema, table: table, index: index) + ";"
        }
        return sql
    }

    /// The name of a path's index on a shard table: `<table>_<column>` for a declared
    /// index (`column`), `<table>_p<hash of the path>` for one ensure_json_index added.
    public static func pathIndexName(table: String, column: String?, path: String) -> String {
        if let column { return table + "_" + column }
        return table + "_p" + CategoryName.fnv1a64Hex(path)
    }

    /// A path's index, when the table lacks one of that name.
    public static func createPathIndex(schema: String, table: String, index: PathIndex) -> String {
        let name = SQLText.identifier(schema) + "." + SQLText.identifier(index.name)
        return "CREATE INDEX IF NOT EXISTS \(name) ON \(SQLText.identifier(table))\(pathIndexExpression(index.path))"
    }

    /// What an index of `path` indexes, as its CREATE INDEX text holds it: how an index
    /// is found whatever its name (a table taken over from a merged shard keeps the
    /// names of its indexes).
    public static func pathIndexExpression(_ path: String) -> String {
        "(json_extract(doc, \(SQLText.literal(path))))"
    }

    /// Drops a table (a shard's, or its blocks) if it is there.
    public static func dropIfExists(schema: String, table: String) -> String {
        "DROP TABLE IF EXISTS \(SQLText.identifier(schema)).\(SQLText.identifier(table));"
    }

    /// Drops a table that must be there: an error says it is not (or that SQLite
    /// cannot drop it now).
    public static func drop(schema: String, table: String) -> String {
        "DROP TABLE \(SQLText.identifier(schema)).\(SQLText.identifier(table));"
    }

    // MARK: - block tables

    /// The columns of a block table a compressed shard's rows are written into, in
    /// `insertBlock`'s parameter order: each block's id and ts ranges and row count,
    /// its filter (`BlockFilter`) and its zstd frame of rows (`Block`).
    public static let blockColumns = ["first_id", "last_id", "min_ts", "max_ts", "rows", "keys", "data"]

    /// A compressed shard's block table (`ShardTableName.blocks`).
    public static func createBlocks(schema: String, blocks: String) -> String {
        """
        CREATE TABLE \(SQLText.identifier(schema)).\(SQLText.identifier(blocks))(block INTEGER PRIMARY KEY, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,
                               min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, rows INTEGER NOT NULL,
                               keys BLOB NOT NULL, data BLOB NOT NULL);
        """
    }

    /// Writes one block: `?1...?7` are `blockColumns`.
    public static func insertBlock(schema: String, blocks: String) -> String {
        let params = blockColumns.indices.map { "?" + String($0 + 1) }.joined(separator: ", ")
        return "INSERT INTO \(SQLText.identifier(schema)).\(SQLText.identifier(blocks))(\(blockColumns.joined(separator: ", "))) VALUES (\(params))"
    }

    /// The index an ordered scan reads the blocks' ranges through, in ts order (shards
    /// compressed before it existed lack it, and are read through their table).
    public static func createBlockRanges(schema: String, blocks: String) -> String {
        "CREATE INDEX \(SQLText.identifier(schema)).\(SQLText.identifier(blocks + "-ts")) ON \(SQLText.identifier(blocks))(min_ts, max_ts, first_id, last_id)"
    }

    /// A compressed shard's counters from its blocks: rows, min id, max id, min ts, max ts.
    public static func blockTotals(schema: String, blocks: String) -> String {
        "SELECT coalesce(sum(rows), 0), min(first_id), max(last_id), min(min_ts), max(max_ts) FROM \(SQLText.identifier(schema)).\(SQLText.identifier(blocks))"
    }

    // MARK: - archive files

    /// The table in an archive file that records whose archive it is (keys
    /// `owner_id`, `collection`, `database`).
    public static let archiveOwner = "shards_owner"

    /// Makes `archiveOwner` in an archive file claimed for a collection.
    public static let createArchiveOwner = "CREATE TABLE \"main\".\(archiveOwner)(key TEXT PRIMARY KEY, value TEXT)"
}
