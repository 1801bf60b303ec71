/// The options of a rollup (`CREATE VIRTUAL TABLE ... USING shards_rollup(...)`,
/// SPEC 11): its source collection, its bucket, its group columns and measures.
public struct RollupOptions: Equatable, Sendable {
    public var source = ""
    public var bucket = RollupBucket(count: 1, unit: .day)
    public var groups: [RollupGroup] = []
    public var measures: [RollupMeasure] = []
    /// Buckets older than this, before the newest bucket's start, are dropped.
    public var retain: Retention? = nil

    public init() {}

    private enum Key: String, CaseIterable {
        case source, bucket, group, measure, retain
    }

    /// Columns every rollup has.
    public static let reservedNames = ["bucket", "bucket_ms"]

    /// Reads `key = value` arguments; every mistake is an error naming the option.
    public static func parse(arguments: [String]) throws -> RollupOptions {
        var options = RollupOptions()
        let given = try OptionArgument.read(arguments, repeatable: [Key.group, .measure],
                                            repeatableNames: "group and measure") { key, value in
            switch key {
            case .source:
                try CollectionName.validate(value)
                options.source = value
            case .bucket: options.bucket = try RollupBucket(parsing: value)
            case .group: options.groups.append(try RollupGroup(parsing: value))
            case .measure: options.measures.append(try RollupMeasure(parsing: value))
            case .retain: options.retain = try Retention(parsing: value)
            }
        }
        guard given.contains(.source) else {
            throw ShardError("option source is missing; name the collection, e.g. source = events")
        }
        guard !options.measures.isEmpty else {
            throw ShardError("option measure is missing; give at least one, e.g. measure = 'n: count'")
        }
        var names = Set(reservedNames)
        for name in options.columnNames.dropFirst(reservedNames.count) {
            guard names.insert(ASCII.lowercased(name)).inserted else {
                throw ShardError("column name '\(name)' is used twice (by a group, a measure or a built-in column); "
                    + "name one of them, e.g. 'my_\(name): ...'")
            }
        }
        return options
    }

    /// Every column in order: bucket, bucket_ms, the groups, the measures, then the
    /// hidden `<measure>_state` columns of sketch measures.
    public var columnNames: [String] {
        Self.reservedNames + groups.map(\.name) + measures.map(\.name) + sketchMeasures.map { $0.name + "_state" }
    }

    /// The measures kept as a mergeable sketch, in order.
    public var sketchMeasures: [RollupMeasure] { measures.filter(\.kind.isSketch) }

    /// The table's declaration for `sqlite3_declare_vtab`.
    public var declaration: String {
        var columns = ["bucket TEXT", "bucket_ms INTEGER"]
        columns += groups.map { SQLText.identifier($0.name) }
        columns += measures.map { SQLText.identifier($0.name) + $0.kind.declaredType }
        columns += sketchMeasures.map { SQLText.identifier($0.name + "_state") + " BLOB HIDDEN" }
        return "CREATE TABLE x(" + columns.joined(separator: ", ") + ")"
    }
}

/// `bucket = 'N unit'`: buckets of N minutes, hours, days, weeks (starting Monday) or
/// months, in UTC. Buckets of minutes, hours and days are counted from 1970-01-01,
/// of weeks from Monday 1969-12-29, of months from January 1970.
public typealias RollupBucket = UnitCount<RollupBucketUnit>
public enum RollupBucketUnit: String, CaseIterable, Sendable { case minute, hour, day, week, month }

extension RollupBucket {
    /// "1 day", "15 minutes", "day" (one), singular or plural.
    public init(parsing text: String) throws {
        try self.init(parsing: text, countOptional: true, digitsOnly: true, unitNamed: { word in
            Unit(rawValue: word.hasSuffix("s") ? String(word.dropLast()) : word)
        }) { units in
            ShardError("bad bucket \(Message.quote(text)); valid: '<n> <unit>' with n a whole number from 1 to 100000 "
                + "and unit one of \(units) (UTC), e.g. '1 day' or '15 minutes'")
        }
    }

    /// For buckets of a fixed length: that length and a bucket start, in ms.
    public var fixedWidth: (width: Int64, origin: Int64)? {
        switch unit {
        case .minute: return (count * Civil.msPerMinute, 0)
        case .hour: return (count * Civil.msPerHour, 0)
        case .day: return (count * Civil.msPerDay, 0)
        case .week: return (count * 7 * Civil.msPerDay, -3 * Civil.msPerDay)   // Monday 1969-12-29
        case .month: return nil
        }
    }

    /// The start of the bucket holding `ms`.
    public func start(of ms: Int64) -> Int64 {
        if let (w, o) = fixedWidth { return Civil.floorDiv(ms - o, w) * w + o }
        let (y, m, _) = Civil.date(days: Civil.floorDiv(ms, Civil.msPerDay))
        let months = Civil.floorDiv((y - 1970) * 12 + m - 1, count) * count
        return Self.monthStart(months)
    }

    /// The start of the bucket after the one starting at `start`.
    public func end(ofBucketStartingAt start: Int64) -> Int64 {
        if let (w, _) = fixedWidth { return start + w }
        let (y, m, _) = Civil.date(days: Civil.floorDiv(start, Civil.msPerDay))
        return Self.monthStart((y - 1970) * 12 + m - 1 + count)
    }

    /// The longest a bucket lasts, in ms.
    public var maxWidth: Int64 { fixedWidth?.width ?? count * 31 * Civil.msPerDay }

    private static func monthStart(_ monthsSince1970: Int64) -> Int64 {
        let y = 1970 + Civil.floorDiv(monthsSince1970, 12)
        let m = monthsSince1970 - Civil.floorDiv(monthsSince1970, 12) * 12 + 1
        return Civil.days(year: y, month: m, day: 1) * Civil.msPerDay
    }

    /// A bucket's `bucket` column: its start as `YYYY-MM-DD HH:MM:SS` UTC.
    public static func text(_ ms: Int64) -> String {
        var t = Array(Time.format(ms).utf8)   // 2025-01-31T23:59:59.250Z, ASCII: bytes, not characters
        t.removeLast(5)
        if let i = t.lastIndex(of: UInt8(ascii: "T")) { t[i] = UInt8(ascii: " ") }
        return String(decoding: t, as: UTF8.self)
    }

    /// `text(ms)`'s bytes written at `out` (room for 32 is enough); returns how many.
    /// Without making a string for years 0 to 9999.
    public static func text(_ ms: Int64, into out: UnsafeMutablePointer<UInt8>) -> Int {
        let days = Civil.floorDiv(ms, Civil.msPerDay)
        let (year, month, day) = Civil.date(days: days)
        guard year >= 0 && year <= 9999 else {
            let t = Array(text(ms).utf8)
            for (i, b) in t.enumerated() { out[i] = b }
            return t.count
        }
        let second = (ms - days * Civil.msPerDay) / Civil.msPerSecond
        var at = 0
        func put(_ n: Int64, _ width: Int) {
            var n = n
            for i in stride(from: width - 1, through: 0, by: -1) {
                out[at + i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            }
            at += width
        }
        func put(_ c: Unicode.Scalar) {
            out[at] = UInt8(ascii: c)
            at += 1
        }
        put(year, 4); put("-"); put(month, 2); put("-"); put(day, 2); put(" ")
        put(second / 3600, 2); put(":"); put(second / 60 % 60, 2); put(":"); put(second % 60, 2)
        return at
    }

    /// Inclusive bounds on the bucket starts whose `bucket` text can compare with
    /// `text` as `op` says (a superset: SQLite tests the constraint again), from the
    /// longest prefix of `text` that reads as a UTC time: `2025`, `2025-03`,
    /// `2025-03-07`, `2025-03-07 10`, `2025-03-07 10:30`, `2025-03-07 10:30:15`.
    /// nil when nothing can be said.
    public static func startBounds(text: String, op: BoundOp) -> (lo: Int64, hi: Int64)? {
        guard let (start, end) = prefixRange(text) else { return nil }
        switch op {
        case .eq: return (start, end - 1)
        case .gt, .ge: return (start, .max)
        case .lt, .le: return (.min, end - 1)
        }
    }

    public enum BoundOp: Sendable { case eq, gt, ge, lt, le }

    /// The times the longest time prefix of `text` spans: [start, end).
    static func prefixRange(_ text: String) -> (Int64, Int64)? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ n: Int) -> Int64? {
            guard b.count >= from + n, b[from..<(from + n)].allSatisfy(ASCII.isDigit) else { return nil }
            return b[from..<(from + n)].reduce(0) { $0 * 10 + Int64($1 - 48) }
        }
        func sep(_ at: Int, _ c: [UInt8]) -> Bool { b.count > at && c.contains(b[at]) }
        guard let year = number(0, 4) else { return nil }
        let yearStart = Civil.days(year: year, month: 1, day: 1) * Civil.msPerDay
        guard sep(4, [45]), let month = number(5, 2), (1...12).contains(month) else {
            return (yearStart, Civil.days(year: year + 1, month: 1, day: 1) * Civil.msPerDay)
        }
        let monthStart = Civil.days(year: year, month: month, day: 1) * Civil.msPerDay
        let dim = Civil.daysInMonth(year: year, month: month)
        guard sep(7, [45]), let day = number(8, 2), (1...dim).contains(day) else {
            return (monthStart, monthStart + dim * Civil.msPerDay)
        }
        let dayStart = monthStart + (day - 1) * Civil.msPerDay
        guard sep(10, [32, 84]), let hour = number(11, 2), hour < 24 else { return (dayStart, dayStart + Civil.msPerDay) }
        let hourStart = dayStart + hour * Civil.msPerHour
        guard sep(13, [58]), let minute = number(14, 2), minute < 60 else { return (hourStart, hourStart + Civil.msPerHour) }
        let minuteStart = hourStart + minute * Civil.msPerMinute
        guard sep(16, [58]), let second = number(17, 2), second < 60 else { return (minuteStart, minuteStart + Civil.msPerMinute) }
        let secondStart = minuteStart + second * Civil.msPerSecond
        return (secondStart, secondStart + Civil.msPerSecond)
    }
}

/// `group = '$.path'` or `'name: $.path'`: a column of the rollup, named as for
/// `index` (after the path's last step unless named).
public struct RollupGroup: Equatable, Sendable {
    public let name: String
    public let path: JSONPath

    public init(parsing spec: String) throws {
        let text = ASCII.trimmed(spec)
        let context = "bad group \(Message.quote(text))"
        let (name, path) = try parseNamedPath(text, context: context)
        self.name = name
        self.path = path
    }
}

/// `measure = 'name: kind'`, kind one of `count`, `sum(path)`, `min(path)`,
/// `max(path)`, `avg(path)`, `distinct(path)`, `quantile(path, q)`.
public struct RollupMeasure: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case count, sum, min, max, avg, distinct
        case quantile(Double)

        public var isSketch: Bool {
            switch self {
            case .distinct, .quantile: true
            default: false
            }
        }

        var declaredType: String {
            switch self {
            case .count, .distinct: " INTEGER"
            case .avg, .quantile: " REAL"
            default: ""
            }
        }

        static let names = "count, sum(path), min(path), max(path), avg(path), distinct(path), quantile(path, q)"
    }

    public let name: String
    public let kind: Kind
    /// The measured path; nil for count.
    public let path: JSONPath?

    public init(parsing spec: String) throws {
        let text = ASCII.trimmed(spec)
        let context = "bad measure \(Message.quote(text))"
        guard let colon = text.firstIndex(of: ":") else {
            throw ShardError("\(context): expected 'name: kind', kind one of \(Kind.names), e.g. 'n: count'")
        }
        let name = ASCII.trimmed(String(text[..<colon]))
        try checkColumnName(name, context: context)
        let body = ASCII.trimmed(String(text[text.index(after: colon)...]))
        let lower = ASCII.lowercased(body)
        self.name = name
        if lower == "count" || lower == "count(*)" {
            kind = .count
            path = nil
            return
        }
        guard let open = body.firstIndex(of: "("), body.hasSuffix(")") else {
            throw ShardError("\(context): unknown measure \(Message.quote(body)); valid: \(Kind.names)")
        }
        let function = ASCII.lowercased(ASCII.trimmed(String(body[..<open])))
        var inside = ASCII.trimmed(String(body[body.index(after: open)..<body.index(before: body.endIndex)]))
        var q: Double?
        if function == "quantile" {
            guard let comma = inside.lastIndex(of: ","),
                  let value = Double(ASCII.trimmed(String(inside[inside.index(after: comma)...]))),
                  value >= 0, value <= 1 else {
                throw ShardError("\(context): quantile takes a path and q from 0 to 1, e.g. 'p95: quantile($.dur, 0.95)'")
            }
            q = value
            inside = ASCII.trimmed(String(inside[..<comma]))
        }
        switch function {
        case "sum": kind = .sum
        case "min": kind = .min
        case "max": kind = .max
        case "avg": kind = .avg
        case "distinct": kind = .distinct
        case "quantile": kind = .quantile(q!)
        default:
            throw ShardError("\(context): unknown measure \(Message.quote(function)); valid: \(Kind.names)")
        }
        path = try JSONPath.field(inside, context: context)
    }
}

/// `name: $.path` or `$.path` (named after its last step).
private func parseNamedPath(_ text: String, context: String) throws -> (String, JSONPath) {
    let explicitName: String?
    let pathText: String
    if text.hasPrefix("$") {
        explicitName = nil
        pathText = text
    } else if let colon = text.firstIndex(of: ":") {
        explicitName = ASCII.trimmed(String(text[..<colon]))
        pathText = String(text[text.index(after: colon)...])
    } else {
        throw ShardError("\(context): expected '$.path' or 'name: $.path'")
    }
    let path = try JSONPath.field(ASCII.trimmed(pathText), context: context)
    guard let name = explicitName ?? path.defaultColumnName else {
        throw ShardError("\(context): the path does not end in a plain name; give the column a name, e.g. 'name: \(path.text)'")
    }
    try checkColumnName(name, context: context)
    return (name, path)
}

private func checkColumnName(_ name: String, context: String) throws {
    guard ASCII.isIdentifier(name) else {
        throw ShardError("\(context): column name \(Message.quote(name)) must be letters, digits "
            + "and _ (starting with a letter or _), at most 64 characters")
    }
    guard !RollupOptions.reservedNames.contains(ASCII.lowercased(name)) else {
        throw ShardError("\(context): column name '\(name)' is taken by a built-in column (bucket, bucket_ms)")
    }
}
