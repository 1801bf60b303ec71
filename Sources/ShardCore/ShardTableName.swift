/// Names of the tables a collection keeps, and the test SQLite asks of them.
///
/// A shard's table is `<collection>_<suffix>`, where the suffix is the shard key after
/// the collection with `-` between its parts (`events_2025-01-001`,
/// `events_billing-2025-01-002`, `events_001`). The suffix never holds a `_`, so the
/// name before the last `_` is always the collection: SQLite's rule for shadow tables
/// (sqlite3ShadowTableName), which makes defensive mode guard every shard table and
/// keeps collections from colliding (`evc` with category `x` cannot make a table of a
/// collection `evc_x`). A `_` inside a category value is written `~5f` (category values
/// never hold `~` unencoded, see `CategoryName`). A compressed shard keeps its blocks in
/// `<table>-z`.
///
/// Collections made before this scheme keep their tables (`events_2025_01_001`,
/// blocks in `..._z`): the catalog records each shard's table, and old names stay
/// recognised as shadow tables when SQLite marks a collection's tables at connect.
public enum ShardTableName {
    /// The table of a shard key.
    public static func table(for key: ShardKey) -> String {
        var s = key.collection + "_"
        if let category = key.category {
            for ch in category.unicodeScalars {
                if ch == "_" { s += "~5f" } else { s.unicodeScalars.append(ch) }
            }
            s += "-"
        }
        for ch in key.period.unicodeScalars { s.unicodeScalars.append(ch == ":" ? "-" : ch) }
        if !key.period.isEmpty { s += "-" }
        s += ShardKey.seqText(key.seq)
        s += String(decoding: ShardKey.partLetters(key.part), as: UTF8.self)
        return s
    }

    /// Whether `table` is the table of `key`, named by this scheme or the one before it
    /// (`events_2025_01_001`, `events_billing_2025_01_002`).
    public static func isTable(_ table: String, of key: ShardKey) -> Bool {
        if table == self.table(for: key) { return true }
        var legacy = key.collection
        if let category = key.category { legacy += "_" + category }
        for part in key.period.split(separator: ":") { legacy += "_" + part }
        return table == legacy + "_" + ShardKey.seqText(key.seq)
    }

    /// Whether `table` is named as one of `collection`'s shard tables (not its catalog,
    /// not its blocks): the only tables a shard may take over from a merged one.
    public static func isShardTable(_ table: String, collection: String) -> Bool {
        guard table.hasPrefix(collection + "_") else { return false }
        let suffix = String(table.dropFirst(collection.count + 1))
        return suffix != "shards" && suffix != "config" && !suffix.hasSuffix("-z") && !suffix.hasSuffix("_z")
            && isShadowSuffix(suffix)
    }

    /// The table holding a compressed shard's blocks.
    public static func blocks(of table: String, collection: String) -> String {
        isLegacy(table, collection: collection) ? table + "_z" : table + "-z"
    }

    /// A table named before the `_`-free scheme.
    static func isLegacy(_ table: String, collection: String) -> Bool {
        table.utf8.dropFirst(collection.utf8.count + 1).contains(UInt8(ascii: "_"))
    }

    /// xShadowName: whether `suffix` (what follows `<collection>_`) names one of a
    /// collection's tables: `shards`, `config`, a shard table or its blocks. Shard
    /// suffixes end in a sequence of three or more digits (before `-z` for blocks), and
    /// a merged table's in `000` and its part letters (`000b`).
    public static func isShadowSuffix(_ suffix: String) -> Bool {
        if suffix == "shards" || suffix == "config" { return true }
        let bytes = Array(suffix.utf8)
        if !bytes.contains(UInt8(ascii: "_")) {
            var body = bytes[...]
            if body.count > 2 && body.suffix(2).elementsEqual("-z".utf8) { body = body.dropLast(2) }
            return endsInSeq(body, separator: UInt8(ascii: "-"))
        }
        // Legacy names: `2025_01_001`, blocks `2025_01_001_z`.
        var body = bytes[...]
        if body.count > 2 && body.suffix(2).elementsEqual("_z".utf8) { body = body.dropLast(2) }
        return endsInSeq(body, separator: UInt8(ascii: "_"))
    }

    private static func endsInSeq(_ body: ArraySlice<UInt8>, separator: UInt8) -> Bool {
        let last = body.split(separator: separator, omittingEmptySubsequences: false).last ?? []
        let digits = last.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        let letters = last.dropFirst(digits.count)
        return digits.count >= 3
            && (letters.isEmpty || (digits.allSatisfy { $0 == UInt8(ascii: "0") }
                                    && letters.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }))
    }
}
