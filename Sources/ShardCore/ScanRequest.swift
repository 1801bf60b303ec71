/// What one xFilter asks of the shards, worked out without SQLite: the plan's terms
/// and their arguments become the WHERE conditions every shard runs, the bounds and
/// summary conditions that prune the catalog's shards, and the statement parameters,
/// numbered here (`ScanNumbering`) and nowhere else.
///
/// The cursor hands each argument over as a `Value` (an IN list as its items), keeps
/// its own copies of them in the same order, and binds `parameters[i]` as `?(i+1)`:
/// `.argument(n)` is its n-th copy as given, `.value` a value computed here.
public struct ScanRequest {
    /// An xFilter argument as the request sees it.
    public enum Value: Equatable, Sendable {
        case integer(Int64), real(Double), text([UInt8]), null, blob
    }

    /// One argument per term that takes one, in term order: a value, or an IN list's items.
    public enum Argument: Equatable, Sendable {
        case value(Value)
        case list([Value])
    }

    public enum Parameter: Equatable, Sendable {
        /// A value handed over, bound as xFilter gave it: its place among all the
        /// values, in argument order, an IN list's items each counted.
        case argument(Int)
        case value(SQLParameter)
    }

    /// The WHERE clause's terms, and what binds them.
    public private(set) var conditions: [ShardSelect.Condition] = []
    /// Every parameter, `?1` first: the conditions', the five bounds, then the cap.
    public private(set) var parameters: [Parameter] = []
    public private(set) var numbering = ScanNumbering(conditionCount: 0, limited: false)
    /// The id, ts, key and shard-number bounds that prune shards.
    public var pruning = ShardFilter()
    /// What summaries can judge: the conditions on indexed paths every row must meet.
    public private(set) var summaryConditions: [SummaryCondition] = []
    public private(set) var blockProbe: ShardSelect.BlockProbe?
    /// LIMIT + OFFSET, `.max` without a LIMIT.
    public private(set) var cap: Int64 = .max
    /// The first query document's value (its place, as `.argument`'s): the value of the `filter` column.
    public private(set) var documentArgument: Int?

    private let columns: ColumnLayout

    /// `spelling`: a number argument as SQLite spells it in text (for a text-typed
    /// path, compared as SQLite compares a number with a TEXT column).
    /// `variableLimit`: the host's SQLITE_LIMIT_VARIABLE_NUMBER.
    public init(plan: ScanPlan, columns: ColumnLayout, arguments: [Argument], variableLimit: Int,
                spelling: (Int) -> String) throws {
        self.columns = columns
        var limit: Int64 = -1, offset: Int64 = 0
        var argi = 0, place = 0
        for term in plan.terms {
            let column = columns.column(term.column)
            guard term.op.takesArgument else {
                pruning.add(column, op: .isnull, value: .other)
                if let path = indexedPath(column) { summaryConditions.append(SummaryCondition(path: path, op: .isNull, values: [])) }
                conditions.append(.init("\(columns.expression(column)) IS NULL"))
                continue
            }
            let ref = place
            let argument = arguments[argi]
            argi += 1
            if case .list(let list) = argument { place += list.count } else { place += 1 }
            switch (term.op, argument) {
            case (.in, .list(let list)):
                addList(list, first: ref, column: column, variableLimit: variableLimit, spelling: spelling)
            case (_, .list):
                preconditionFailure("an IN list for a term that is not IN")
            case (.limit, .value(let v)):
                if case .integer(let n) = v { limit = n }
            case (.offset, .value(let v)):
                if case .integer(let n) = v { offset = max(n, 0) }
            case (.like, .value(let v)), (.glob, .value(let v)):
                pruning.add(column, op: term.op, value: Self.pruneValue(v))
            case (.match, .value(let v)):
                if documentArgument == nil { documentArgument = ref }
                guard v != .null else { continue }
                let compiled = try QueryDocument.compile(Self.string(v), firstParameter: parameters.count + 1)
                parameters += compiled.parameters.map { .value($0) }
                summaryConditions += compiled.conditions
                conditions.append(.init(compiled.sql))
            case (_, .value(let v)):
                addComparison(term.op, v, ref: ref, column: column, spelling: spelling)
            }
        }
        cap = limit < 0 ? .max : limit.addingReportingOverflow(offset).overflow ? .max : limit + offset
        numbering = ScanNumbering(conditionCount: parameters.count, limited: cap != .max)
        for bound in [pruning.ids.lo, pruning.ids.hi, pruning.times.lo, pruning.times.hi, 0] {
            parameters.append(.value(.integer(bound)))
        }
        if cap != .max { parameters.append(.value(.integer(cap))) }
    }

    /// `column op value` for =, <, <=, >, >=.
    private mutating func addComparison(_ op: ScanPlan.Op, _ v: Value, ref: Int, column: Column,
                                        spelling: (Int) -> String) {
        let value = Self.pruneValue(v)
        pruning.add(column, op: op, value: value)
        // `shard` terms are settled by pruning; SQLite checks them again.
        guard column != .shard else { return }
        let parameter = converted(v, ref, column: column, spelling: spelling)
        if let path = indexedPath(column), let sop = Self.summaryOp(op), let sv = summaryValue(parameter, v) {
            summaryConditions.append(SummaryCondition(path: path, op: sop, values: [sv]))
        }
        parameters.append(parameter)
        if op == .eq, case .index(let n) = column, blockProbe == nil {
            blockProbe = .init(pathHash: BlockFilter.pathHash(columns.indexes[n].path.text), parameter: parameters.count)
        }
        var numeric = false
        if case .integer = value { numeric = true } else if case .real = value { numeric = true }
        conditions.append(.init("\(columns.expression(column)) \(op.sql) \(SQLText.parameter(parameters.count))",
                                timeBound: column == .ts && numeric ? Self.timeBound(op) : []))
    }

    /// `column IN (list)`.
    private mutating func addList(_ list: [Value], first: Int, column: Column, variableLimit: Int,
                                  spelling: (Int) -> String) {
        pruning.add(column, inList: list.map(Self.pruneValue))
        if column == .shard || list.isEmpty {
            if column != .shard { conditions.append(.init("0")) }
            return
        }
        let items = list.indices.map { converted(list[$0], first + $0, column: column, spelling: spelling) }
        if let path = indexedPath(column) {
            let values = items.indices.compactMap { summaryValue(items[$0], list[$0]) }
            if values.count == items.count { summaryConditions.append(SummaryCondition(path: path, op: .eq, values: values)) }
        }
        // A long list is one JSON value (`InListJSON`): one parameter per value would
        // stop at SQLite's variable limit.
        if items.count > InListJSON.threshold(variableLimit: variableLimit), let json = Self.inListJSON(items, list) {
            parameters.append(.value(.text(json)))
            conditions.append(.init("\(columns.expression(column)) IN (SELECT value FROM json_each(\(SQLText.parameter(parameters.count))))"))
            return
        }
        var marks: [String] = []
        for item in items {
            parameters.append(item)
            marks.append(SQLText.parameter(parameters.count))
        }
        conditions.append(.init("\(columns.expression(column)) IN (\(marks.joined(separator: ", ")))"))
    }

    /// The ids' shard numbers mapped to the tables holding them now (merged shards').
    public mutating func mapShardNumbers(_ holder: (Int64) throws -> Int64?) rethrows {
        if let numbers = pruning.numbers { pruning.numbers = Set(try numbers.compactMap(holder)) }
    }

    /// The shards to visit among `shards`, and how many more their summaries ruled out.
    public func visits(_ shards: [ShardInfo]) -> (shards: [ShardInfo], skippedBySummary: Int) {
        // Constants, not captured properties: a closure over a struct with arrays
        // copies and retains them at each shard.
        let filter = pruning, judged = summaryConditions
        var skipped = 0
        var visited: [ShardInfo] = []
        for s in shards where !s.isRetired && filter.mayContain(s) {
            if !judged.isEmpty, let summary = s.summary, !summary.mayMatch(judged) {
                skipped += 1
            } else {
                visited.append(s)
            }
        }
        return (visited, skipped)
    }

    /// The ends of the scan's ts range that a shard's whole span lies inside: their
    /// terms are left out of its SQL (`ShardSelect.tail(covering:)`), so they cost
    /// nothing there and cannot steer SQLite away from the index of another term.
    public func coveredTimeBounds(of shard: ShardInfo) -> TimeBound { pruning.times.covered(shard.timeBounds) }

    /// Everything the shard SELECT is built from, as one text: scans with equal keys
    /// share their shape. `plan`: the encoded plan.
    public func shapeKey(plan: String) -> String {
        var key = plan
        for c in conditions {
            key += "\u{1}\(c.timeBound.rawValue)"
            key += c.sql
        }
        key += "\u{2}\(numbering.block) \(cap == .max ? 0 : 1)"
        if let blockProbe { key += " \(blockProbe.pathHash) \(blockProbe.parameter)" }
        return key
    }

    // MARK: - values

    /// The path of an indexed column, the key of its summaries; nil for other columns.
    private func indexedPath(_ column: Column) -> String? {
        if case .index(let n) = column { return columns.indexes[n].path.text }
        return nil
    }

    /// An argument compared with `column`, converted as SQLite converts a value
    /// compared with a column of the column's declared type (its affinity), so the
    /// shard's `json_extract(...) op ?` matches what SQLite would.
    private func converted(_ v: Value, _ ref: Int, column: Column, spelling: (Int) -> String) -> Parameter {
        guard case .index(let n) = column, let type = columns.indexes[n].type else { return .argument(ref) }
        switch (type, v) {
        case (.integer, .text), (.real, .text):
            // Text that reads as a number becomes that number.
            switch NumericAffinity.convert(Self.string(v)) {
            case .integer(let n): return .value(.integer(n))
            case .real(let d): return .value(.real(d))
            case nil: return .argument(ref)
            default: return .value(.null)   // convert returns numbers only
            }
        case (.text, .integer), (.text, .real):
            return .value(.text(spelling(ref)))
        default:
            return .argument(ref)
        }
    }

    /// The value a shard compares with, as summaries compare it (after `converted`, so a
    /// summary judges what the shard's SQL tests); nil for NULL and blobs.
    private func summaryValue(_ p: Parameter, _ given: Value) -> SummaryValue? {
        switch p {
        case .argument:
            switch given {
            case .integer(let i): return .integer(i)
            case .real(let d): return .real(d)
            case .text(let t): return .text(t)
            case .null, .blob: return nil
            }
        case .value(.integer(let i)): return .integer(i)
        case .value(.real(let d)): return .real(d)
        case .value(.text(let t)): return SummaryValue(t)
        case .value(.null): return nil
        }
    }

    private static func timeBound(_ op: ScanPlan.Op) -> TimeBound {
        switch op {
        case .gt, .ge: .lower
        case .lt, .le: .upper
        case .eq: [.lower, .upper]
        default: []
        }
    }

    private static func summaryOp(_ op: ScanPlan.Op) -> SummaryCondition.Op? {
        switch op {
        case .eq: .eq
        case .gt: .gt
        case .ge: .ge
        case .lt: .lt
        case .le: .le
        default: nil
        }
    }

    /// The values of a long IN list as one JSON array; nil when one cannot go as JSON.
    private static func inListJSON(_ items: [Parameter], _ given: [Value]) -> String? {
        var list = InListJSON()
        for (item, value) in zip(items, given) {
            let ok: Bool
            switch (item, value) {
            case (.argument, .integer(let i)), (.value(.integer(let i)), _): ok = list.add(.integer(i))
            case (.argument, .real(let d)), (.value(.real(let d)), _): ok = list.add(.real(d))
            case (.argument, .text(let t)): ok = t.withUnsafeBytes { list.add(.text($0)) }
            case (.value(.text(var t)), _): ok = t.withUTF8 { list.add(.text(UnsafeRawBufferPointer($0))) }
            case (.argument, _), (.value(.null), _): ok = list.add(.never)
            }
            guard ok else { return nil }
        }
        return list.text
    }

    private static func pruneValue(_ v: Value) -> PruneValue {
        switch v {
        case .integer(let i): .integer(i)
        case .real(let d): .real(d)
        case .text: .text(string(v))
        case .null, .blob: .other
        }
    }

    /// Text as the host's C string reads it: up to its first NUL.
    private static func string(_ v: Value) -> String {
        guard case .text(let bytes) = v else { return "" }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// The numbering of a scan's SQL parameters, the one agreement between the request
/// that binds them and the SELECT that names them (`ShardSelect`):
///
///     ?1 ... ?k      the conditions' values, in term order (an IN list one per value,
///                    or one JSON array when long; a query document its own)
///     ?k+1 ... ?k+4  the scan's lowest id, highest id, lowest ts, highest ts: the
///                    bounds of a compressed shard's blocks
///     ?k+5           the one block a stream reads alone (bound per stream)
///     ?k+6           LIMIT + OFFSET, when the scan has a LIMIT
public struct ScanNumbering: Equatable, Sendable {
    public let conditionCount: Int
    public let limited: Bool

    public init(conditionCount: Int, limited: Bool) {
        self.conditionCount = conditionCount
        self.limited = limited
    }

    public var lowestId: Int { conditionCount + 1 }
    public var highestId: Int { conditionCount + 2 }
    public var lowestTs: Int { conditionCount + 3 }
    public var highestTs: Int { conditionCount + 4 }
    public var block: Int { conditionCount + 5 }
    /// LIMIT + OFFSET; nil without a LIMIT.
    public var cap: Int? { limited ? conditionCount + 6 : nil }
    public var count: Int { conditionCount + (limited ? 6 : 5) }
}
