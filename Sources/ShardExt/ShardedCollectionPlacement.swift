import CShardShim
import ShardCore

// Where a document goes: its time and category, read once, then its shard.
extension ShardedCollection {
    /// Reads the time and category of a document and checks that it is a JSON object.
    /// `explicitTs` is the INSERT's own `ts` value, allowed only without a `time` path.
    ///
    /// With `checkedByInsert` the caller's INSERT validates the JSON itself (the direct
    /// write path), so a text document is read by `DocumentScanner` without asking
    /// SQLite to parse it; whatever the scanner cannot answer exactly goes to SQLite.
    func place(doc: OpaquePointer?, explicitTs: OpaquePointer?, isUpdate: Bool = false,
               checkedByInsert: Bool = false) throws -> Placement {
        try placeReading(doc: doc, explicitTs: explicitTs, isUpdate: isUpdate, checkedByInsert: checkedByInsert).placement
    }

    /// `place`, and the insert's pass over the document when the scanner made it (the
    /// rollups fed by the insert take their values from it, `feedRollups`).
    func placeReading(doc: OpaquePointer?, explicitTs: OpaquePointer?, isUpdate: Bool = false,
                      checkedByInsert: Bool = false) throws -> (placement: Placement, read: InsertScan.Read?) {
        let docType = valueType(doc)
        guard docType == SQLITE_TEXT || docType == SQLITE_BLOB else {
            throw ShardError(docType == SQLITE_NULL
                ? "doc is NULL; insert a JSON object"
                : "doc must be a JSON object given as text, not a number")
        }
        if checkedByInsert && docType == SQLITE_TEXT, let (p, read) = try scannedPlacement(doc, explicitTs: explicitTs) {
            return (p, read)
        }
        let stmt = try probeStatement()
        stmt.bind(1, doc)
        defer { stmt.reset() }
        do {
            guard try stmt.step() else { throw ShardError("could not read the document") }
        } catch let e as SQLiteError where e.code == SQLITE_ERROR {
            // The probe only reads the value: a plain error is the document's.
            throw malformedDocument(doc, sqliteMessage: e.message)
        }
        let kind = stmt.text(0) ?? "null"
        guard kind == "object" else {
            let found = ["text": "a string", "array": "an array", "integer": "a number", "real": "a number",
                         "true": "a boolean", "false": "a boolean"][kind] ?? kind
            throw ShardError("a document must be a JSON object, not \(found)")
        }
        let ts = try time(explicitTs: explicitTs, isUpdate: isUpdate) { path in
            try readTime(type: stmt.text(1), stmt: stmt, column: 2, path: path)
        }
        var category: String? = nil
        if options.categoryPath != nil {
            let col: Int32 = options.timePath == nil ? 1 : 3
            category = CategoryName.encode(stmt.type(col) == SQLITE_NULL ? nil : stmt.text(col))
        }
        return (Placement(ts: ts, category: category), nil)
    }

    /// The document's time: read from the time path, or the explicit `ts`, or now.
    func time(explicitTs: OpaquePointer?, isUpdate: Bool, read: (JSONPath) throws -> Int64) throws -> Int64 {
        if let timePath = options.timePath {
            if let e = explicitTs, valueType(e) != SQLITE_NULL {
                throw ShardError("'\(name)' reads ts from \(timePath.text); ts cannot be given or set")
            }
            return try read(timePath)
        }
        if let e = explicitTs, valueType(e) != SQLITE_NULL { return try millisecondsArgument(e, what: "ts") }
        if explicitTs != nil && isUpdate { throw ShardError("ts cannot be set to NULL") }
        return Clock.nowMilliseconds()
    }


    /// Placement from the scanner (in the insert's one pass, `InsertScan`), or nil when
    /// SQLite must answer (not an object, a value the scanner cannot render exactly as
    /// json_extract would).
    func scannedPlacement(_ doc: OpaquePointer?, explicitTs: OpaquePointer?) throws -> (Placement, InsertScan.Read)? {
        guard let bytes = valueTextBytes(doc) else { return nil }
        guard DocumentScanner.startsWithObject(bytes) else { return nil }
        guard let read = insertScan.scan(bytes, for: self) else { return nil }
        let values = read.values
        var unanswered = false
        // A time the scanner refuses goes to SQLite too: the document may be malformed
        // further on, and that is said first.
        guard let ts = try? time(explicitTs: explicitTs, isUpdate: false, read: { path in
            switch values[0] {
            case .integer(let i): return try options.numericTimes.document(i, at: path)
            case .real(let d): return try options.numericTimes.document(d, at: path)
            case .text(let t): return try parseTime(t, path: path)
            default:
                unanswered = true   // SQLite words the error
                return 0
            }
        }) else { return nil }
        if unanswered { return nil }
        var category: String? = nil
        if options.categoryPath != nil {
            switch values[options.placementPaths.count - 1] {
            case .missing, .null: category = CategoryName.encode(nil)
            case .text(let t): category = CategoryName.encode(t)
            case .integer(let i): category = CategoryName.encode(String(i))
            case .bool(let b): category = CategoryName.encode(b ? "1" : "0")
            default: return nil   // reals and containers: SQLite renders them
            }
        }
        return (Placement(ts: ts, category: category), read)
    }

    /// The error for a document SQLite found malformed, saying where: by SQLite's
    /// json_error_position (3.42+, in characters), else by `JSONSyntax` (what older
    /// SQLite accepts). A cold path.
    func malformedDocument(_ doc: OpaquePointer?, sqliteMessage: String? = nil) -> ShardError {
        let plain = ShardError("malformed JSON document" + (sqliteMessage.map { " (\($0))" } ?? ""))
        guard valueType(doc) == SQLITE_TEXT else { return plain }
        var position: Int64? = nil
        if sqliteVersionNumber >= 3_042_000 {
            guard let stmt = try? db.prepare("SELECT json_error_position(?1)") else { return plain }
            stmt.bind(1, doc)
            guard (try? stmt.step()) == true, stmt.int64(0) > 0 else { return plain }
            position = stmt.int64(0)
        }
        guard let bytes = valueTextBytes(doc) else { return plain }
        let offset = position.map { JSONSyntax.byteOffset(ofCharacter: Int($0), in: bytes) } ?? JSONSyntax.firstError(bytes)
        guard let offset else { return plain }
        return ShardError("malformed JSON document: " + JSONSyntax.describe(errorAt: offset, in: bytes))
    }

    func parseTime(_ text: String, path: JSONPath) throws -> Int64 {
        do { return try Time.parse(text) } catch let e as ShardError {
            throw e.within("unreadable time at \(path.text)")
        }
    }

    func readTime(type: String?, stmt: Statement, column: Int32, path: JSONPath) throws -> Int64 {
        switch type {
        case nil:
            throw ShardError("document has no time at \(path.text)")
        case "integer":
            return try options.numericTimes.document(stmt.int64(column), at: path)
        case "real":
            return try options.numericTimes.document(stmt.double(column), at: path)
        case "text":
            return try parseTime(stmt.text(column) ?? "", path: path)
        default:
            throw ShardError("time at \(path.text) must be a number or a time string, not \(type!)")
        }
    }

    /// A document time given as an SQL value (an INSERT's `ts`, shard_key's time):
    /// epoch ms (integer or real), where a number that reads as Unix seconds is
    /// refused (see `NumericTimes`), or a time string.
    func millisecondsArgument(_ v: OpaquePointer?, what: String) throws -> Int64 {
        switch valueType(v) {
        case SQLITE_INTEGER: return try options.numericTimes.milliseconds(valueInt64(v), what: what)
        case SQLITE_FLOAT: return try options.numericTimes.milliseconds(valueDouble(v), what: what)
        default: return try timeArgument(v, what: what)
        }
    }

    /// The `before` of shard_drop, shard_archive, shard_compress and shard_merge: epoch
    /// ms or a time string. A number that reads as Unix seconds is refused as an
    /// INSERT's `ts` is: taken as ms it would cut at 1970 and silently match nothing.
    /// 0 is the same instant in either unit, so it stays (the usual "nothing yet").
    func cutoffArgument(_ v: OpaquePointer?) throws -> Int64 {
        switch valueType(v) {
        case SQLITE_INTEGER where valueInt64(v) != 0, SQLITE_FLOAT where valueDouble(v) != 0:
            return try millisecondsArgument(v, what: "before")
        default: return try timeArgument(v, what: "before")
        }
    }

    /// A time given as an SQL value: epoch ms (integer or real) or a time string.
    func timeArgument(_ v: OpaquePointer?, what: String) throws -> Int64 {
        switch valueType(v) {
        case SQLITE_INTEGER: return try Time.milliseconds(fromInteger: valueInt64(v), unit: .ms)
        case SQLITE_FLOAT: return try Time.milliseconds(fromNumber: valueDouble(v), unit: .ms)
        case SQLITE_TEXT: return try Time.parse(valueText(v) ?? "")
        default: throw ShardError("\(what) must be epoch milliseconds or a time string")
        }
    }

    /// One statement reads everything routing needs, so the document is handed to SQLite once.
    func probeStatement() throws -> Statement {
        try statements.placementProbe {
            var cols = ["json_type(?1)"]
            if let t = options.timePath {
                cols.append("json_type(?1, \(SQLText.literal(t.text)))")
                cols.append("json_extract(?1, \(SQLText.literal(t.text)))")
            }
            if let c = options.categoryPath {
                cols.append("json_extract(?1, \(SQLText.literal(c.text)))")
            }
            return "SELECT " + cols.joined(separator: ", ")
        }
    }

    /// The key a placement routes to now, and the shard if it exists and has room.
    @inline(__always) func route(_ p: Placement) -> (key: ShardKey, shard: ShardInfo?) {
        catalog.route(p)
    }
}
