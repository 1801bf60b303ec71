import CShardShim
import ShardCore

// The `shards_rollup` virtual-table module (SPEC 11): a thin adapter from SQLite's
// calling convention to `RollupTable`. Read-only; its shadow tables hold partials
// (`RollupTable`, "partials"), written by `shard_rollup_refresh` only.
//
// idxStr, from xBestIndex to xFilter: `<order>|<term>,<term>...` where order is `n`
// (none asked: ascending all the same), `a` or `d` (by bucket, then group values,
// ascending or descending; ORDER BY a prefix of those), and each term is
// `<column>:<op>` with op one of eq gt ge lt le in, in argv order. Terms on `bucket`
// and `bucket_ms` bound the buckets read (and prune shards by time); terms on group
// columns become SQL on the group values inside each shard. SQLite tests every term
// again on the rows (none is omitted): they only narrow what is read.
// Then `|<measures>`: a character per measure, `1` when the query reads it (its column
// or its state's, by colUsed), `0` when not: a partial's part of a measure not read is
// neither read nor combined (its entry holds an empty part SQLite never asks for).

private final class RollupCursor {
    let table: RollupTable
    /// The answer's entries, and their order.
    var answer: RollupBuckets
    var order: [Int32] = []
    var position = 0
    /// The entry at `position`.
    var entry = 0
    /// The answer's group values as xColumn hands them out.
    var values = RollupColumnValues()
    /// The `bucket` text of `bucketMs` (rows of one bucket come together).
    var bucketMs = Int64.min
    var bucketLength = 0
    let bucketText = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
    /// Of the table's options, read at every xColumn (not copied from them each time).
    let groups: Int
    let kinds: [RollupMeasure.Kind]
    /// The measure of each hidden sketch state column.
    let sketches: [Int]
    init(_ table: RollupTable) {
        self.table = table
        answer = RollupBuckets(measures: [], groups: 0)
        groups = table.options.groups.count
        let kinds = table.options.measures.map(\.kind)
        self.kinds = kinds
        sketches = kinds.indices.filter { kinds[$0].isSketch }
    }

    deinit {
        bucketText.deallocate()
        values.free()
    }
}

/// An answer's distinct group values laid out for xColumn: per value its type and
/// number, or the place of its bytes, in memory the cursor owns (no Swift value is
/// copied, retained or released to hand one out).
private struct RollupColumnValues {
    struct Item {
        var type: Int32 = SQLITE_NULL
        var length: Int32 = 0
        /// An integer, a real's bits, or the offset of text or blob bytes.
        var number: Int64 = 0
    }
    private var items = UnsafeMutableBufferPointer<Item>(start: nil, count: 0)
    private var bytes = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// Lays out `values` (replacing what was held).
    mutating func set(_ values: [RollupValue]) {
        free()
        items = .allocate(capacity: values.count)
        var size = 0
        for v in values {
            switch v {
            case .text(let b), .blob(let b): size += b.count
            default: break
            }
        }
        bytes = .allocate(byteCount: max(size, 1), alignment: 1)
        var at = 0
        for (i, v) in values.enumerated() {
            var item = Item()
            switch v {
            case .null: break
            case .integer(let x): item.type = SQLITE_INTEGER; item.number = x
            case .real(let d): item.type = SQLITE_FLOAT; item.number = Int64(bitPattern: d.bitPattern)
            case .text(let b), .blob(let b):
                if case .text = v { item.type = SQLITE_TEXT } else { item.type = SQLITE_BLOB }
                item.number = Int64(at)
                item.length = Int32(b.count)
                b.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: bytes[at..<(at + b.count)]).copyMemory(from: $0) }
                at += b.count
            }
            items.initializeElement(at: i, to: item)
        }
    }

    /// Value `id` as the result of `ctx`.
    @inline(__always) func result(_ ctx: OpaquePointer?, _ id: Int32) {
        let item = items[Int(id)]
        switch item.type {
        case SQLITE_INTEGER: resultInt64(ctx, item.number)
        case SQLITE_FLOAT: api.pointee.result_double(ctx, Double(bitPattern: UInt64(bitPattern: item.number)))
        case SQLITE_TEXT:
            api.pointee.result_text(ctx, (bytes.baseAddress! + Int(item.number)).assumingMemoryBound(to: CChar.self),
                                    item.length, shard_transient())
        case SQLITE_BLOB:
            api.pointee.result_blob(ctx, bytes.baseAddress! + Int(item.number), item.length, shard_transient())
        default: resultNull(ctx)
        }
    }

    func free() {
        items.deallocate()
        bytes.deallocate()
    }
}

@inline(__always) private func rollupOf(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?) -> RollupTable {
    vtabObject(vtab, as: RollupTable.self)
}

/// The cursor of `cur`, borrowed (not retained) for `body`: SQLite holds it through
/// the call. xColumn, xNext and xEof run once a row or more.
@inline(__always) private func borrowedCursor(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?,
                                              _ body: (RollupCursor) -> Int32) -> Int32 {
    Unmanaged<RollupCursor>.fromOpaque(cursorStruct(cur).pointee.object!)._withUnsafeGuaranteedRef(body)
}

@inline(__always) private func rollupCursorOf(_ cur: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> RollupCursor {
    cursorObject(cur, as: RollupCursor.self)
}

/// xCreate / xConnect (through `connectVtab`): parse the options, check the source at
/// CREATE; the columns are declared.
/// A rollup whose source was dropped still connects (so it can be dropped); its
/// queries say the source is gone.
private func openRollup(_ a: VtabArguments, create: Bool) throws -> (object: RollupTable, declaration: String) {
    let options = try RollupOptions.parse(arguments: a.arguments)
    guard a.schema == "main" else { throw ShardError("a rollup lives in the main database, beside its source collection") }
    let table = RollupTable(connection: a.connection, db: a.db, name: a.name, options: options)
    if create { _ = try table.source() }
    return (table, options.declaration)
}

private enum RollupOp: String {
    case eq, gt, ge, lt, le, `in`

    init?(_ op: Int32) {
        switch op {
        case SQLITE_INDEX_CONSTRAINT_EQ: self = .eq
        case SQLITE_INDEX_CONSTRAINT_GT: self = .gt
        case SQLITE_INDEX_CONSTRAINT_GE: self = .ge
        case SQLITE_INDEX_CONSTRAINT_LT: self = .lt
        case SQLITE_INDEX_CONSTRAINT_LE: self = .le
        default: return nil
        }
    }

    var test: RollupTable.Query.Test.Op {
        switch self {
        case .eq: .eq
        case .gt: .gt
        case .ge: .ge
        case .lt: .lt
        case .le: .le
        case .in: .in
        }
    }

    var sql: String {
        switch self {
        case .eq: "="
        case .gt: ">"
        case .ge: ">="
        case .lt: "<"
        case .le: "<="
        case .in: "IN"
        }
    }
}

/// xBestIndex: which constraints narrow the read (see the idxStr grammar above).
private func bestIndex(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, _ info: UnsafeMutablePointer<sqlite3_index_info>?) -> Int32 {
    let table = rollupOf(vtab)
    let info = info!
    let groupColumns = 2..<(2 + table.options.groups.count)
    var terms: [String] = []
    var argv: Int32 = 0
    var bucketBounded = false
    for i in 0..<Int(info.pointee.nConstraint) {
        let c = info.pointee.aConstraint[i]
        let column = Int(c.iColumn)
        guard c.usable != 0, column == 0 || column == 1 || groupColumns.contains(column), var op = RollupOp(Int32(c.op)) else { continue }
        // Text compared under another collation would not match what the shards test.
        if let coll = api.pointee.vtab_collation(info, Int32(i)), String(cString: coll).uppercased() != "BINARY" { continue }
        if op == .eq && groupColumns.contains(column) && api.pointee.vtab_in(info, Int32(i), -1) != 0 {
            _ = api.pointee.vtab_in(info, Int32(i), 1)
            op = .in
        } else if op == .eq && api.pointee.vtab_in(info, Int32(i), -1) != 0 {
            continue   // an IN list on bucket: SQLite tests it, no bound from it
        }
        argv += 1
        info.pointee.aConstraintUsage[i].argvIndex = argv
        terms.append("\(column):\(op.rawValue)")
        if column <= 1 { bucketBounded = true }
    }
    // An answer comes sorted by bucket, then group values in SQLite's order: ORDER BY
    // bucket (or bucket_ms), then the first groups in order, one direction, is done (SQLite
    // passes an ORDER BY here only under the columns' own collation, BINARY). Sorting
    // thousands of rows again in SQLite's sorter was a third of a year's answer.
    var order = "n"
    let sorts = Int(info.pointee.nOrderBy)
    if sorts >= 1, sorts <= 1 + table.options.groups.count, let o = info.pointee.aOrderBy,
       o[0].iColumn == 0 || o[0].iColumn == 1,
       (1..<sorts).allSatisfy({ Int(o[$0].iColumn) == 1 + $0 && o[$0].desc == o[0].desc }) {
        order = o[0].desc != 0 ? "d" : "a"
        info.pointee.orderByConsumed = 1
    }
    info.pointee.idxStr = shard_strdup(order + "|" + terms.joined(separator: ",") + "|" + measuresRead(table, info))
    info.pointee.needToFreeIdxStr = 1
    // Fewer shards to read with bounds: prefer them.
    info.pointee.estimatedCost = (bucketBounded ? 1_000 : 100_000) / Double(1 + terms.count)
    info.pointee.estimatedRows = bucketBounded ? 100 : 10_000
    return SQLITE_OK
}

/// Which measures the query reads (idxStr's last part): a measure's column, or its
/// state's for a sketch, in colUsed (whose last bit stands for every column from 63 on).
private func measuresRead(_ table: RollupTable, _ info: UnsafeMutablePointer<sqlite3_index_info>) -> String {
    let used = info.pointee.colUsed
    let first = 2 + table.options.groups.count, measures = table.options.measures
    func uses(_ column: Int) -> Bool { used & (1 << UInt64(min(column, 63))) != 0 }
    var sketch = 0
    return String(measures.indices.map { m in
        var read = uses(first + m)
        if measures[m].kind.isSketch {
            read = read || uses(first + measures.count + sketch)
            sketch += 1
        }
        return read ? "1" : "0"
    })
}

/// xFilter: the query's bounds and conditions from idxStr and argv, then every bucket.
private func filter(_ cursor: RollupCursor, _ idxStr: String, _ argc: Int32, _ argv: ValueArray?) throws {
    let table = cursor.table
    let parts = idxStr.split(separator: "|", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[2].count == table.options.measures.count else {
        throw ShardError("internal error: bad rollup plan")
    }
    var query = RollupTable.Query()
    query.reads = parts[2].map { $0 == "1" }
    var argi = 0
    for term in parts[1].split(separator: ",") {
        let cv = term.split(separator: ":")
        guard cv.count == 2, let column = Int(cv[0]), let op = RollupOp(rawValue: String(cv[1])) else {
            throw ShardError("internal error: bad rollup plan")
        }
        let v = argv![argi]
        argi += 1
        if column <= 1 {
            if let b = bounds(column == 0 ? .text : .ms, op, v) {
                query.starts = (max(query.starts.lo, b.lo), min(query.starts.hi, b.hi))
            }
            continue
        }
        let group = column - 2
        if op == .in {
            let list = try ValueCopy.inList(v, db: table.db).filter { valueType($0.handle) != SQLITE_NULL }
            if list.isEmpty { query.empty = true; continue }
            query.tests.append(.init(group: group, op: .in, values: list.map { rollupValue($0.handle) }))
            var marks: [String] = []
            for item in list {
                query.parameters.append(item)
                marks.append("?\(query.parameters.count + 2)")
            }
            query.conditions.append((group, "IN (\(marks.joined(separator: ", ")))"))
        } else {
            if valueType(v) == SQLITE_NULL { query.empty = true; continue }
            query.parameters.append(ValueCopy(v))
            query.tests.append(.init(group: group, op: op.test, values: [rollupValue(v)]))
            query.conditions.append((group, "\(op.sql) ?\(query.parameters.count + 2)"))
        }
    }
    cursor.answer = try table.aggregate(query)
    cursor.values.set(cursor.answer.values)
    cursor.bucketMs = .min
    cursor.order = cursor.answer.order(descending: parts[0] == "d")
    cursor.position = 0
    cursor.entry = cursor.order.isEmpty ? 0 : Int(cursor.order[0])
}

private enum BucketColumn { case text, ms }

/// Inclusive bounds on bucket starts from one constraint on `bucket` (text) or
/// `bucket_ms`; nil when it says nothing usable (SQLite tests it anyway).
private func bounds(_ column: BucketColumn, _ op: RollupOp, _ v: OpaquePointer?) -> (lo: Int64, hi: Int64)? {
    switch column {
    case .text:
        guard valueType(v) == SQLITE_TEXT, let text = valueText(v) else { return nil }
        let bop: RollupBucket.BoundOp
        switch op {
        case .eq: bop = .eq
        case .gt: bop = .gt
        case .ge: bop = .ge
        case .lt: bop = .lt
        case .le: bop = .le
        case .in: return nil
        }
        return RollupBucket.startBounds(text: text, op: bop)
    case .ms:
        let type = valueType(v)
        guard type == SQLITE_INTEGER || type == SQLITE_FLOAT else { return nil }
        let d = valueDouble(v)
        guard d.isFinite, abs(d) < 9.0e18 else { return nil }
        let down = type == SQLITE_INTEGER ? valueInt64(v) : Int64(d.rounded(.down))
        let up = type == SQLITE_INTEGER ? valueInt64(v) : Int64(d.rounded(.up))
        switch op {
        case .eq: return (down, up)
        case .gt, .ge: return (down, .max)
        case .lt, .le: return (.min, up)
        case .in: return nil
        }
    }
}

/// xColumn: bucket, bucket_ms, the groups, the measures, the sketch states. Buckets,
/// group values, counts and sums are handed out without a Swift value made or
/// retained; other measures (whose result can fail: a quantile) go through `measure`.
private func column(_ cursor: RollupCursor, _ ctx: OpaquePointer?, _ i: Int,
                    _ vtab: UnsafeMutablePointer<sqlite3_vtab>?) -> Int32 {
    let e = cursor.entry
    let groups = cursor.groups
    switch i {
    case 0:
        let bucket = cursor.answer.buckets[e]
        if cursor.bucketMs != bucket {
            cursor.bucketMs = bucket
            cursor.bucketLength = RollupBucket.text(bucket, into: cursor.bucketText)
        }
        api.pointee.result_text(ctx, UnsafeRawPointer(cursor.bucketText).assumingMemoryBound(to: CChar.self),
                                Int32(cursor.bucketLength), shard_transient())
    case 1: resultInt64(ctx, cursor.answer.buckets[e])
    case 2..<(2 + groups): cursor.values.result(ctx, cursor.answer.groupID(e, i - 2))
    default:
        let m = i - 2 - groups
        if m < cursor.kinds.count {
            switch cursor.kinds[m] {
            case .count:
                resultInt64(ctx, cursor.answer.counts[e])
                return SQLITE_OK
            case .sum:
                if case .sum(let count, let total) = cursor.answer.parts[e &* cursor.kinds.count &+ m] {
                    // sum: NULL over no value (RollupPart.result), without building a value.
                    if count == 0 {
                        resultNull(ctx)
                        return SQLITE_OK
                    }
                    switch total {
                    case .integer(let x): resultInt64(ctx, x); return SQLITE_OK
                    case .real(let d): api.pointee.result_double(ctx, d); return SQLITE_OK
                    default: break
                    }
                }
            default: break
            }
        }
        return guarded(vtab) { try measure(cursor, ctx, e, m) }
    }
    return SQLITE_OK
}

/// A measure's column (`m` past the measures: the sketch states, in order).
private func measure(_ cursor: RollupCursor, _ ctx: OpaquePointer?, _ e: Int, _ m: Int) throws {
    let measures = cursor.kinds.count
    guard m < measures else {
        // The n-th sketch measure's state.
        let n = m - measures
        guard n < cursor.sketches.count, let state = cursor.answer.parts[e * measures + cursor.sketches[n]].state else {
            return resultNull(ctx)
        }
        state.withUnsafeBytes { api.pointee.result_blob(ctx, $0.baseAddress, Int32($0.count), shard_transient()) }
        return
    }
    result(ctx, try cursor.answer.parts[e * measures + m].result(kind: cursor.kinds[m]))
}

private func result(_ ctx: OpaquePointer?, _ v: RollupValue) {
    switch v {
    case .null: resultNull(ctx)
    case .integer(let i): resultInt64(ctx, i)
    case .real(let d): api.pointee.result_double(ctx, d)
    case .text(let t):
        t.withUnsafeBytes { b in
            b.baseAddress.map { api.pointee.result_text(ctx, $0.assumingMemoryBound(to: CChar.self), Int32(b.count), shard_transient()) }
                ?? resultText(ctx, "")
        }
    case .blob(let b):
        b.withUnsafeBytes { api.pointee.result_blob(ctx, $0.baseAddress, Int32($0.count), shard_transient()) }
    }
}

let rollupModule: UnsafeMutablePointer<sqlite3_module> = {
    let m = UnsafeMutablePointer<sqlite3_module>.allocate(capacity: 1)
    m.initialize(to: sqlite3_module())
    m.pointee.iVersion = 3
    m.pointee.xCreate = { connectVtab($0, $1, $2, $3, $4, $5, open: { try openRollup($0, create: true) },
                                      connected: { t, a in a.connection.rollups[a.name] = t }) }
    m.pointee.xConnect = { connectVtab($0, $1, $2, $3, $4, $5, open: { try openRollup($0, create: false) },
                                       connected: { t, a in a.connection.rollups[a.name] = t }) }
    m.pointee.xBestIndex = { bestIndex($0, $1) }
    m.pointee.xDisconnect = { vtab in
        let table = rollupOf(vtab)
        if table.connection.rollups[table.name] === table { table.connection.rollups[table.name] = nil }
        return freeVtab(vtab)
    }
    m.pointee.xDestroy = { vtab in
        let table = rollupOf(vtab)
        let rc = guarded(vtab) { try table.dropShadowTables() }
        if rc != SQLITE_OK { return rc }
        if table.connection.rollups[table.name] === table { table.connection.rollups[table.name] = nil }
        return freeVtab(vtab)
    }
    m.pointee.xOpen = { vtab, out in makeCursor(RollupCursor(rollupOf(vtab)), out) }
    m.pointee.xClose = { freeCursor($0) }
    m.pointee.xFilter = { cur, _, idxStr, argc, argv in
        let cursor = rollupCursorOf(cur)
        return guarded(cur!.pointee.pVtab) {
            guard let idxStr else { throw ShardError("internal error: bad rollup plan") }
            try filter(cursor, String(cString: idxStr), argc, argv)
        }
    }
    m.pointee.xNext = { cur in
        borrowedCursor(cur) { c in
            c.position += 1
            if c.position < c.order.count { c.entry = Int(c.order[c.position]) }
            return SQLITE_OK
        }
    }
    m.pointee.xEof = { cur in borrowedCursor(cur) { $0.position >= $0.order.count ? 1 : 0 } }
    m.pointee.xColumn = { cur, ctx, i in borrowedCursor(cur) { column($0, ctx, Int(i), cur!.pointee.pVtab) } }
    m.pointee.xRowid = { cur, out in
        out!.pointee = Int64(rollupCursorOf(cur).position)
        return SQLITE_OK
    }
    m.pointee.xRename = { vtab, _ in
        failVtab(vtab, ShardError("a rollup cannot be renamed; create a new one"))
    }
    // `<rollup>_partials` and `<rollup>_built`: read-only to SQL in defensive mode.
    m.pointee.xShadowName = { name in
        guard let name else { return 0 }
        return RollupTable.shadowSuffixes.contains(String(cString: name)) ? 1 : 0
    }
    return m
}()
